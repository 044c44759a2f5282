package loyalty

import (
	"testing"
	"time"
)

func TestParsePercent(t *testing.T) {
	for _, c := range []struct {
		in   string
		want BasisPoints
		ok   bool
	}{
		{"5", 500, true}, {"12.5", 1250, true}, {"0.75", 75, true}, {"100", 10000, true}, {"0", 0, true}, {"100.00", 10000, true},
		{"100.01", 0, false}, {"101", 0, false}, {"-1", 0, false}, {"1.234", 0, false}, {"1e2", 0, false}, {"", 0, false}, {".5", 0, false}, {"5.", 0, false}, {"abc", 0, false},
	} {
		got, err := ParsePercent(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	base := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"P180D", base.AddDate(0, 0, 180)},
		{"PT15M", base.Add(15 * time.Minute)},
		{"PT2S", base.Add(2 * time.Second)},
		{"P2W", base.AddDate(0, 0, 14)},
		{"P1Y2M3DT4H5M6S", base.AddDate(1, 2, 3).Add(4*time.Hour + 5*time.Minute + 6*time.Second)},
	} {
		d, err := ParseDuration(c.in)
		if err != nil || !d.AddTo(base).Equal(c.want) || d.String() != c.in {
			t.Errorf("ParseDuration(%q): %v %v %q", c.in, d.AddTo(base), err, d.String())
		}
	}
	for _, bad := range []string{"", "P", "PT", "180D", "P-1D", "P1.5D", "PT1H1D", "p1d", "P1DT"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) should fail", bad)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"P180D", "PT3S", "P1Y2M3DT4H5M6S", "P2W", "PT", "P-1D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		again, err := ParseDuration(d.String())
		if err != nil || again.AddTo(time.Unix(0, 0)) != d.AddTo(time.Unix(0, 0)) {
			t.Fatalf("round trip of %q: %q %v", s, d.String(), err)
		}
	})
}

func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"5", "12.5", "100", "0.01", "1e2", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bp, err := ParsePercent(s)
		if err != nil {
			return
		}
		if bp < 0 || bp > FullPercent {
			t.Fatalf("%q parsed out of range: %d", s, bp)
		}
		if back, err := ParsePercent(bp.String()); err != nil || back != bp {
			t.Fatalf("round trip of %q: %q", s, bp.String())
		}
	})
}

func TestConversionsRoundDown(t *testing.T) {
	if got := MoneyToPoints(12345, 100); got != 12345 {
		t.Errorf("default value: %d", got)
	}
	if got := MoneyToPoints(999, 1000); got != 99 { // 9.99 money at 10.00 per point = 0.999 points → 0.99
		t.Errorf("rounding down: %d", got)
	}
	if got := PointsToMoney(99, 1000); got != 990 {
		t.Errorf("points to money: %d", got)
	}
	// The widest product in a balance path: the largest amount times the
	// largest rate, divided back; int64 multiplication alone would overflow.
	if got := mulDiv(int64(MaxMoney), int64(FullPercent)*100, int64(FullPercent)); got != int64(MaxMoney)*100 {
		t.Errorf("mulDiv overflowed: %d", got)
	}
}
