package main

import (
	"strings"
	"testing"
)

// The report marks a binary over 12 MiB as missing the target and shows
// the size it replaced.
func TestSizesSection(t *testing.T) {
	res := &Results{
		Binaries:         map[string]int64{"enroll": binaryTarget + 1, "orders": binaryTarget},
		BinariesZipped:   map[string]int64{"enroll": 4 << 20, "orders": 3 << 20},
		BinariesPrevious: map[string]int64{"enroll": 23527586},
		InitMs:           map[string]float64{},
	}
	s := sizesSection(res)
	for _, want := range []string{"| enroll | 12582913 | 12.00 | missed | 22.4 | 4.0 |", "| orders | 12582912 | 12.00 | met | — | 3.0 |"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in\n%s", want, s)
		}
	}
}

// The deployment package is a deflated zip: far smaller than a binary of
// repeated bytes, never empty.
func TestZippedSize(t *testing.T) {
	n, err := zippedSize([]byte(strings.Repeat("bootstrap", 100000)))
	if err != nil || n <= 0 || n > 100000 {
		t.Fatalf("zipped %d bytes, %v", n, err)
	}
}
