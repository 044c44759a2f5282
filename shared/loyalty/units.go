package loyalty

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Points are hundredths of a point: 700 is 7.00 points.
type Points int64

// Money is an amount in minor units of the tenant's currency (kopecks for RUB).
type Money int64

// BasisPoints are hundredths of a percent: 500 is 5.00 %.
type BasisPoints int64

// Bounds keep every product of two amounts and a rate far inside int64, and
// refuse amounts no café, cinema or shop will ever send.
const (
	MaxMoney          Money       = 1_000_000_000_000 // 10 billion currency units
	MaxPoints         Points      = 1_000_000_000_000
	FullPercent       BasisPoints = 10_000
	DefaultPointValue Money       = 100 // one point is worth one currency unit
)

// ParsePercent reads a decimal percentage with at most two decimals ("5",
// "12.5", "0.75") into basis points without going through floating point.
func ParsePercent(s string) (BasisPoints, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("percent must be a non-negative number with at most two decimals")
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if strings.ContainsAny(s, "eE") || whole == "" || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("percent must be a non-negative number with at most two decimals")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 100 {
		return 0, fmt.Errorf("percent must be between 0 and 100")
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("percent must be a non-negative number with at most two decimals")
	}
	bp := BasisPoints(w*100 + f)
	if bp > FullPercent {
		return 0, fmt.Errorf("percent must be between 0 and 100")
	}
	return bp, nil
}

// String renders basis points as a decimal percentage ("5", "12.5").
func (b BasisPoints) String() string {
	s := fmt.Sprintf("%d.%02d", b/100, b%100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// mulDiv returns floor(a*b/c) for non-negative a, b and positive c without
// overflow. All rounding in balance paths goes down, in the business's favour
// by at most one hundredth of a point, and is stated where it happens.
func mulDiv(a, b, c int64) int64 {
	if c == 0 {
		return 0
	}
	var x big.Int
	x.Mul(big.NewInt(a), big.NewInt(b))
	x.Quo(&x, big.NewInt(c))
	return x.Int64()
}

// MoneyToPoints converts money into points at pointValue (money per whole point),
// rounding down.
func MoneyToPoints(m Money, pointValue Money) Points {
	if pointValue <= 0 {
		pointValue = DefaultPointValue
	}
	return Points(mulDiv(int64(m), 100, int64(pointValue)))
}

// PointsToMoney converts points into money at pointValue, rounding down.
func PointsToMoney(p Points, pointValue Money) Money {
	if pointValue <= 0 {
		pointValue = DefaultPointValue
	}
	return Money(mulDiv(int64(p), int64(pointValue), 100))
}

// Duration is an ISO 8601 duration (P1Y2M10DT2H30M5S, P2W). Years, months and
// days are calendar units applied with time.AddDate; the time part is exact.
type Duration struct {
	Years, Months, Days int
	Clock               time.Duration
	text                string
}

var isoDuration = regexp.MustCompile(`^P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,5})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$`)

// ParseDuration reads an ISO 8601 duration. Negative and fractional values are
// refused; "P" and "PT" alone are refused.
func ParseDuration(s string) (Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return Duration{}, fmt.Errorf("not an ISO 8601 duration such as P180D or PT15M: %q", s)
	}
	n := func(i int) int64 {
		if m[i] == "" {
			return 0
		}
		v, _ := strconv.ParseInt(m[i], 10, 64) // digits only, bounded by the pattern
		return v
	}
	d := Duration{Years: int(n(1)), Months: int(n(2)), Days: int(n(3)*7 + n(4)), text: s}
	d.Clock = time.Duration(n(5))*time.Hour + time.Duration(n(6))*time.Minute + time.Duration(n(7))*time.Second
	return d, nil
}

// MustDuration parses a duration known to be valid (defaults in code).
func MustDuration(s string) Duration {
	d, err := ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports a duration of no length.
func (d Duration) IsZero() bool {
	return d.Years == 0 && d.Months == 0 && d.Days == 0 && d.Clock == 0
}

// AddTo returns t moved forward by d.
func (d Duration) AddTo(t time.Time) time.Time {
	return t.AddDate(d.Years, d.Months, d.Days).Add(d.Clock)
}

// String returns the ISO 8601 text.
func (d Duration) String() string {
	if d.text != "" {
		return d.text
	}
	if d.IsZero() {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("P")
	if d.Years > 0 {
		fmt.Fprintf(&b, "%dY", d.Years)
	}
	if d.Months > 0 {
		fmt.Fprintf(&b, "%dM", d.Months)
	}
	if d.Days > 0 {
		fmt.Fprintf(&b, "%dD", d.Days)
	}
	if d.Clock > 0 {
		b.WriteString("T")
		h := d.Clock / time.Hour
		m := (d.Clock % time.Hour) / time.Minute
		s := (d.Clock % time.Minute) / time.Second
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}
