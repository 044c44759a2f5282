package phone_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

func TestNormalizeRussianForms(t *testing.T) {
	for _, in := range []string{"8 912 345-67-89", "+7 (912) 345 67 89", "89123456789", "+79123456789", "9123456789", "7 912 345 67 89"} {
		for name, f := range map[string]func(string) (string, error){"full": libphone.Normalize, "lookup": phone.NormalizeForLookup} {
			got, err := f(in)
			if err != nil || got != "+79123456789" {
				t.Errorf("%s(%q) = %q, %v", name, in, got, err)
			}
		}
	}
	for _, bad := range []string{"", "12", "abc", "+7 912", "8 912 345 67 89 00 11 22 33 44 55 66"} {
		if _, err := libphone.Normalize(bad); err == nil {
			t.Errorf("full accepted %q", bad)
		}
	}
	if got := phone.Mask("+79123456789"); got != "+7********89" {
		t.Errorf("mask %q", got)
	}
}

// The lean lookup parser must never find the wrong member: when it reads a
// number differently from the full library, its reading must be a form no
// member can be stored under (the library would not normalise to it), so the
// lookup misses instead.
func FuzzLookupAgreesWithLibrary(f *testing.F) {
	for _, s := range []string{"8 912 345-67-89", "+7 (912) 345 67 89", "+44 20 7946 0958", "+1 415 555 2671", "9123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		full, err := libphone.Normalize(s)
		if err != nil {
			return
		}
		lean, err := phone.NormalizeForLookup(s)
		if err != nil {
			return // a form only the full library reads: the lookup misses, it never mismatches
		}
		if lean != full {
			if stored, err := libphone.Normalize(lean); err == nil && stored == lean {
				t.Fatalf("%q: lookup %q could match another member; library reads %q", s, lean, full)
			}
		}
	})
}
