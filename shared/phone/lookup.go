package phone

import "strings"

// NormalizeForLookup maps the forms cashiers type into E.164 without the
// phone-number metadata (libphone: about 0.3 MB with its parser), for
// functions that only look members up and never store a number:
// "+<digits>" stays international; Russian
// national forms (8XXXXXXXXXX, 7XXXXXXXXXX, 9XXXXXXXXX) get +7. Numbers were
// validated with the full library when the member enrolled, so a form this
// reads differently only misses the lookup (member_not_found); a fuzz test
// checks it agrees with Normalize on valid numbers.
func NormalizeForLookup(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return "", ErrInvalid
	}
	d, plus, ok := Digits(s)
	if !ok {
		return "", ErrInvalid
	}
	switch {
	case plus && len(d) >= 8 && len(d) <= 15 && d[0] != '0':
		return "+" + d, nil
	case len(d) == 11 && (d[0] == '8' || d[0] == '7'):
		return "+7" + d[1:], nil
	case len(d) == 10 && d[0] == '9':
		return "+7" + d, nil
	}
	return "", ErrInvalid
}

// Digits reads s in the forms people type a number in: digits with spaces,
// dashes, dots and parentheses, and a "+" only in front (plus says whether
// it is there). ok is false for any other character. Both parsers
// (NormalizeForLookup and libphone's) read exactly these forms.
func Digits(s string) (digits string, plus, ok bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", false, false
		}
	}
	return b.String(), strings.HasPrefix(s, "+"), true
}
