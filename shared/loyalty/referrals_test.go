package loyalty

import (
	"testing"
	"time"
)

func TestReferralCodes(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c := NewReferralCode()
		if got, ok := NormalizeReferralCode(c); !ok || got != c {
			t.Fatalf("drawn code %q does not normalise to itself: %q %v", c, got, ok)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Fatalf("1000 draws gave %d distinct codes", len(seen))
	}
	for in, want := range map[string]string{"abc-defg": "ABCDEFG", " 23 45 67 8 ": "2345678", "xyz2345": "XYZ2345"} {
		if got, ok := NormalizeReferralCode(in); !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "ABCDEF", "ABCDEFGH", "ABCDEF0", "ABCDEFO", "ABCDEF1", "ABCDEFI", "ABCDEFL", "ABCDÉFG", "ABC_EFG"} {
		if got, ok := NormalizeReferralCode(bad); ok {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

func TestBirthdayMonthDays(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	cases := []struct {
		birth, day string
		want       bool
	}{
		{"1990-03-01", "2026-03-01", true},
		{"1990-03-01", "2026-03-02", false},
		{"1992-02-29", "2027-02-28", true},  // no 29 February in 2027
		{"1992-02-29", "2028-02-28", false}, // 2028 has one
		{"1992-02-29", "2028-02-29", true},
		{"1991-02-28", "2027-02-28", true},
		{"1992-02-29", "2100-02-28", true}, // 2100 is not a leap year
		{"1992-02-29", "2000-02-28", false},
		{"not a date", "2026-03-01", false},
	}
	for _, c := range cases {
		if got := BirthdayOn(c.birth, day(c.day)); got != c.want {
			t.Errorf("born %s, on %s: %v, want %v", c.birth, c.day, got, c.want)
		}
	}
}
