package csvio_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/csvio"
)

// Prices and points read the same way: two decimals at most, never
// rounded, never past the domain's limit (also by the cents of the last
// whole unit).
func TestMoneyAndPointsReadExactlyWithinTheLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"149.9", 14990, true}, {"149", 14900, true}, {"0.01", 1, true},
		{"10000000000", 1_000_000_000_000, true},
		{"10000000000.01", 0, false}, {"149.901", 0, false}, {"149,90", 0, false}, {"-1", 0, false},
	} {
		m, err := csvio.ParseMoney(c.in)
		if (err == nil) != c.ok || int64(m) != c.want {
			t.Errorf("ParseMoney(%q) = %d, %v", c.in, m, err)
		}
		p, err := csvio.ParsePoints(c.in)
		if (err == nil) != c.ok || int64(p) != c.want {
			t.Errorf("ParsePoints(%q) = %d, %v", c.in, p, err)
		}
	}
}
