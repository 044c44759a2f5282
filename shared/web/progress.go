package web

import (
	"strconv"

	"github.com/loyalty/cashback/shared/loyalty"
)

// tierView is the card's tier block: the tier held and, below the top, one
// line and one progress bar per qualification of the next tier.
type tierView struct {
	Current string
	Next    string
	Top     bool
	Goals   []goalView
}

// goalView is one qualification: a sentence saying what is left and a
// <progress> element's value and max (no inline style: the page's CSP has
// no 'unsafe-inline').
type goalView struct {
	ID    string
	Left  string // "Осталось 1 500 ₽ покупок за 30 дней"
	Done  string // "3 500 из 5 000 ₽"
	Value int64
	Max   int64
}

// tierViewOf words a member's progress in the page's language.
func tierViewOf(lang string, pr loyalty.TierProgress) *tierView {
	v := &tierView{Current: pr.Current, Next: pr.Next, Top: pr.Next == ""}
	if v.Current == "" {
		v.Current = T(lang, "tier.none")
	}
	period := periodText(lang, pr.Period)
	for i, g := range pr.Goals {
		gv := goalView{ID: "tier-goal-" + strconv.Itoa(i), Value: g.Done, Max: max(g.Need, 1)}
		switch g.Kind {
		case "visits":
			gv.Left = T(lang, "tier.left.visits", strconv.FormatInt(g.Left(), 10), period)
			gv.Done = T(lang, "tier.done.visits", strconv.FormatInt(g.Done, 10), strconv.FormatInt(g.Need, 10))
		case "category":
			gv.Left = T(lang, "tier.left.category", formatHundredths(lang, g.Left()), g.Category, period)
			gv.Done = T(lang, "tier.done.money", formatHundredths(lang, g.Done), formatHundredths(lang, g.Need))
		default:
			gv.Left = T(lang, "tier.left.spend", formatHundredths(lang, g.Left()), period)
			gv.Done = T(lang, "tier.done.money", formatHundredths(lang, g.Done), formatHundredths(lang, g.Need))
		}
		v.Goals = append(v.Goals, gv)
	}
	return v
}

// periodText words an ISO 8601 period ("P30D" → "за 30 дней"); "" when the
// tier has no period (all-time activity) or an unusual one.
func periodText(lang, iso string) string {
	d, err := loyalty.ParseDuration(iso)
	if iso == "" || err != nil || d.Clock != 0 {
		return ""
	}
	n, unit := 0, ""
	switch {
	case d.Years > 0 && d.Months == 0 && d.Days == 0:
		n, unit = d.Years, "y"
	case d.Months > 0 && d.Years == 0 && d.Days == 0:
		n, unit = d.Months, "m"
	case d.Days > 0 && d.Years == 0 && d.Months == 0:
		n, unit = d.Days, "d"
	default:
		return ""
	}
	if lang == langEN {
		word := map[string]string{"y": "year", "m": "month", "d": "day"}[unit]
		if n != 1 {
			word += "s"
		}
		return " in " + strconv.Itoa(n) + " " + word
	}
	forms := map[string][3]string{"y": {"год", "года", "лет"}, "m": {"месяц", "месяца", "месяцев"}, "d": {"день", "дня", "дней"}}[unit]
	return " за " + strconv.Itoa(n) + " " + forms[pluralRU(n)]
}

// pluralRU picks the Russian plural form: 0 for 1, 21…; 1 for 2–4, 22…;
// 2 for 5–20, 0, 25….
func pluralRU(n int) int {
	n %= 100
	if n >= 11 && n <= 14 {
		return 2
	}
	switch n % 10 {
	case 1:
		return 0
	case 2, 3, 4:
		return 1
	}
	return 2
}

// entryLine is how a history entry reads: its amount as the member sees
// it, signed when the balance moved, unsigned for a change of kind (held
// points spent at close, pending points becoming available), and stamps
// when that is all the entry counted.
type entryLine struct {
	Amount string
	Class  string // plus, minus, neutral
	Stamps string
}

func entryLineOf(lang string, kind loyalty.EntryKind, amount, available, held loyalty.Points, stamps map[string]int) entryLine {
	var l entryLine
	switch {
	case amount > 0:
		l.Amount, l.Class = "+"+formatPoints(lang, amount), "plus"
	case amount < 0:
		l.Amount, l.Class = formatPoints(lang, amount), "minus"
	case kind == loyalty.KindCapture && held < 0:
		l.Amount, l.Class = formatPoints(lang, -held), "neutral"
	case kind == loyalty.KindMature && available > 0:
		l.Amount, l.Class = formatPoints(lang, available), "neutral"
	}
	n := 0
	for _, s := range stamps {
		n += s
	}
	if n != 0 {
		sign := "+"
		if n < 0 {
			sign = "−"
			n = -n
		}
		l.Stamps = T(lang, "history.stamps", sign+strconv.Itoa(n))
	}
	return l
}
