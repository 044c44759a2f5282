package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// formatHundredths writes an amount in hundredths with two decimals, the
// decimal mark and thousands separator of the language (1 234,50 / 1,234.50),
// and whole amounts without decimals.
func formatHundredths(lang string, v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	whole, frac := v/100, v%100
	digits := strconv.FormatInt(whole, 10)
	sep, mark := ",", "."
	if lang != langEN {
		sep, mark = "\u00a0", ","
	}
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if frac != 0 {
		b.WriteString(mark)
		if frac < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.FormatInt(frac, 10))
	}
	return b.String()
}

func formatPoints(lang string, p loyalty.Points) string { return formatHundredths(lang, int64(p)) }

func formatMoney(lang string, m loyalty.Money) string { return formatHundredths(lang, int64(m)) }

var monthsRU = []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}

func formatDate(lang string, t time.Time) string {
	t = t.UTC()
	if lang == langEN {
		return t.Format("2 January 2006")
	}
	return strconv.Itoa(t.Day()) + " " + monthsRU[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// parseHundredths reads an amount typed as "1500", "1 500,5" or "1500.50"
// into hundredths; ok is false for anything else (three decimals, signs,
// letters, more than a trillion).
func parseHundredths(s string) (int64, bool) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", ",", ".").Replace(strings.TrimSpace(s))
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (hasFrac && (len(frac) == 0 || len(frac) > 2)) {
		return 0, false
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if hasFrac {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, true
}

// formatClock writes a recent moment with the day and the minute, in UTC
// (a tenant has no time zone of its own yet; the till's list says "UTC").
func formatClock(lang string, t time.Time) string {
	t = t.UTC()
	if lang == langEN {
		return t.Format("2 Jan 15:04")
	}
	return t.Format("02.01 15:04")
}
