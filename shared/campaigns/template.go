package campaigns

import (
	"fmt"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Template syntax: text with variables in braces, `{name}`. `{{` and `}}`
// stand for literal braces. Variables:
//
//	{name}            the member's name ("" when none was given)
//	{balance}         available points, e.g. 125.50
//	{expiry}          date of the member's soonest points expiry, YYYY-MM-DD ("" when none)
//	{expiringPoints}  points expiring on that date
//	{card}            the card number
//
// An unknown variable or an unbalanced brace refuses the campaign at
// creation (422), so nothing half-rendered is ever sent.
var templateVars = map[string]bool{"name": true, "balance": true, "expiry": true, "expiringPoints": true, "card": true}

// part is a literal (Var "") or a variable.
type part struct{ Lit, Var string }

// ParseTemplate checks text and splits it into literals and variables.
func ParseTemplate(text string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '{' && i+1 < len(text) && text[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(text) && text[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(text[i+1:], '}')
			if end < 0 {
				return nil, &loyalty.Error{Code: loyalty.CodeTemplateInvalid, Field: "text", Message: "an unclosed { in the text: write {{ for a literal brace"}
			}
			name := text[i+1 : i+1+end]
			if !templateVars[name] {
				return nil, &loyalty.Error{Code: loyalty.CodeTemplateUnknownVariable, Field: "text",
					Message: fmt.Sprintf("unknown variable {%s}: use {name}, {balance}, {expiry}, {expiringPoints} or {card}", name)}
			}
			if lit.Len() > 0 {
				parts = append(parts, part{Lit: lit.String()})
				lit.Reset()
			}
			parts = append(parts, part{Var: name})
			i += end + 1
		case c == '}':
			return nil, &loyalty.Error{Code: loyalty.CodeTemplateInvalid, Field: "text", Message: "a lone } in the text: write }} for a literal brace"}
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, part{Lit: lit.String()})
	}
	return parts, nil
}

// Render fills a parsed template for one member at now.
func Render(parts []part, st *loyalty.MemberState, now time.Time) string {
	var b strings.Builder
	expiry, expiring := soonestExpiry(st.Lots, now)
	for _, p := range parts {
		switch p.Var {
		case "":
			b.WriteString(p.Lit)
		case "name":
			b.WriteString(st.Account.Name)
		case "balance":
			b.WriteString(FormatPoints(st.Account.Available))
		case "expiry":
			if !expiry.IsZero() {
				b.WriteString(expiry.UTC().Format("2006-01-02"))
			}
		case "expiringPoints":
			b.WriteString(FormatPoints(expiring))
		case "card":
			b.WriteString(st.Account.Card)
		}
	}
	return b.String()
}

// FormatPoints writes hundredths of a point as a decimal, 12550 → 125.50.
func FormatPoints(p loyalty.Points) string {
	sign := ""
	if p < 0 {
		sign, p = "-", -p
	}
	return fmt.Sprintf("%s%d.%02d", sign, int64(p)/100, int64(p)%100)
}

// soonestExpiry is the soonest date on which spendable points expire after
// now, and how many points expire on that date.
func soonestExpiry(lots []loyalty.Lot, now time.Time) (time.Time, loyalty.Points) {
	var day time.Time
	var pts loyalty.Points
	for _, l := range lots {
		if !l.Expires() || l.Remaining <= 0 || !l.ExpiresAt.After(now) {
			continue
		}
		d := l.ExpiresAt.UTC().Truncate(24 * time.Hour)
		switch {
		case day.IsZero() || d.Before(day):
			day, pts = d, l.Remaining
		case d.Equal(day):
			pts += l.Remaining
		}
	}
	return day, pts
}
