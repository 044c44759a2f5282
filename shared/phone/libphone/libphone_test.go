package libphone_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

// The library is the oracle: what it makes of s with the default region.
func library(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return "", phone.ErrInvalid
	}
	n, err := phonenumbers.Parse(s, phone.DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", phone.ErrInvalid
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// inForms: s is written only with what this package reads (digits, a
// leading "+", spaces, dashes, dots and parentheses); it must then read s
// exactly as the library does.
func inForms(s string) bool {
	s = strings.TrimSpace(s)
	for i, r := range s {
		if !(r >= '0' && r <= '9' || r == '+' && i == 0 || strings.ContainsRune(" -().", r)) {
			return false
		}
	}
	return true
}

// nonGeographic: a number of a non-geographic entity (+800, +882, …),
// which this package refuses.
func nonGeographic(e164 string) bool {
	n, err := phonenumbers.Parse(e164, phone.DefaultRegion)
	return err == nil && phonenumbers.GetRegionCodeForNumber(n) == "001"
}

// agree checks Normalize against the library on s: never a number the
// library would not give; for the forms this package reads, the same
// answer, and the same region and type from Classify.
func agree(t *testing.T, s string) {
	t.Helper()
	got, err := libphone.Normalize(s)
	want, werr := library(s)
	switch {
	case err == nil && (werr != nil || got != want):
		t.Fatalf("Normalize(%q) = %q; the library says %q, %v", s, got, want, werr)
	case err != nil && werr == nil && inForms(s) && !nonGeographic(want):
		t.Fatalf("Normalize(%q) refused %q, which the library reads", s, want)
	case err == nil:
		info, _ := libphone.Classify(got)
		n, _ := phonenumbers.Parse(got, phone.DefaultRegion)
		typ := phonenumbers.GetNumberType(n)
		if region := phonenumbers.GetRegionCodeForNumber(n); info.Region != region || info.Type != typeName[typ] ||
			info.Texts != (typ == phonenumbers.MOBILE || typ == phonenumbers.FIXED_LINE_OR_MOBILE) {
			t.Fatalf("Classify(%q) = %+v; the library says %s %s", got, info, region, typeName[typ])
		}
	}
}

var typeName = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE: "fixed_line", phonenumbers.MOBILE: "mobile", phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE: "toll_free", phonenumbers.PREMIUM_RATE: "premium_rate", phonenumbers.SHARED_COST: "shared_cost",
	phonenumbers.VOIP: "voip", phonenumbers.PERSONAL_NUMBER: "personal_number", phonenumbers.PAGER: "pager",
	phonenumbers.UAN: "uan", phonenumbers.VOICEMAIL: "voicemail", phonenumbers.UNKNOWN: "unknown",
}

var types = []phonenumbers.PhoneNumberType{
	phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
	phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
	phonenumbers.UAN, phonenumbers.VOICEMAIL,
}

// Every region's example number of every type, written the ways people
// write it (international, E.164, national with the region's own
// punctuation, digits after the Russian international prefix), and
// altered by a digit (one more, one less, another first digit), reads as
// the library reads it.
func TestAgreesWithLibraryOnEveryRegion(t *testing.T) {
	t.Parallel()
	checked := 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			n := phonenumbers.GetExampleNumberForType(region, typ)
			if n == nil {
				continue
			}
			e164 := phonenumbers.Format(n, phonenumbers.E164)
			national := phonenumbers.GetNationalSignificantNumber(n)
			cc := e164[1 : len(e164)-len(national)]
			forms := []string{
				e164, phonenumbers.Format(n, phonenumbers.INTERNATIONAL), phonenumbers.Format(n, phonenumbers.NATIONAL),
				"810" + e164[1:], "810 " + cc + " " + national, e164[1:], "+" + cc + " (" + national + ")",
				e164 + "0", e164[:len(e164)-1], "+" + cc + "9" + national[1:], "+" + cc + "0" + national,
			}
			if region == "RU" || region == "KZ" {
				forms = append(forms, "8"+national, "7"+national, national, "8 "+national[:3]+" "+national[3:], "+7 8"+national)
			}
			for _, f := range forms {
				agree(t, f)
				checked++
			}
		}
	}
	if checked < 2000 {
		t.Fatalf("only %d forms checked: the library's example numbers are missing", checked)
	}
}

// Numbers built at random from digits, "+", separators and the prefixes
// people dial read as the library reads them.
func TestAgreesWithLibraryOnRandomNumbers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(17, 2026))
	starts := []string{"", "+", "+7", "8", "7", "9", "810", "+1", "+44", "00", "0", "+380", "+8", "+0", "+7 8", "(", "+3", "+9",
		"+7 9", "8 9", "+7 (7", "+1 415", "+44 7", "+49 1", "+86 1", "8 (4", "810 49"}
	const chars = "0123456789012345678901234567890123456789 -()."
	accepted := 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString(starts[rng.IntN(len(starts))])
		for n := 2 + rng.IntN(14); n > 0; n-- {
			b.WriteByte(chars[rng.IntN(len(chars))])
		}
		s := b.String()
		agree(t, s)
		if _, err := libphone.Normalize(s); err == nil {
			accepted++
		}
	}
	// A generator that only made invalid numbers would check nothing.
	if accepted < 1000 {
		t.Fatalf("only %d of the random numbers were valid", accepted)
	}
}

// Forms the package refuses on purpose though the library reads them: a
// different script's digits, letters, extensions, tel: URIs and the
// numbers of non-geographic entities. Refusing them makes no number valid
// that was not.
func TestRefusesFormsOutsideItsGrammar(t *testing.T) {
	for _, s := range []string{"tel:+7-912-345-67-89", "+7 912 345 67 89 ext. 12", "+7 912 345 67 89#12", "8 800 FLOWERS",
		"+７９１２３４５６７８９", "+800 1234 5678", "+882 1234 5678", "+7 912 345 67 89 / +7 912 345 67 80", "++79123456789"} {
		if got, err := libphone.Normalize(s); err == nil {
			t.Errorf("Normalize(%q) = %q, want refused", s, got)
		}
	}
}

// Cases written out: the Russian forms, the same +7 of Kazakhstan, numbers
// the library reads in surprising ways and that must be read the same.
func TestNormalizeCases(t *testing.T) {
	for in, want := range map[string]string{
		"8 912 345-67-89":     "+79123456789",
		"+7 (912) 345 67 89":  "+79123456789",
		"7 912 345 67 89":     "+79123456789",
		"9123456789":          "+79123456789",
		"+7 8 912 345 67 89":  "+79123456789",  // a national prefix after the code
		"810 44 20 7946 0958": "+442079460958", // the Russian international prefix
		"+44 20 7946 0958":    "+442079460958",
		"+1 (415) 555-2671":   "+14155552671",
		"+7 771 000 9998":     "+77710009998", // Kazakhstan
		"+39 06 698 1234":     "+39066981234", // Italy keeps its leading zero
		"8 (495) 123-45-67":   "+74951234567",
		"8 800 555 35 35":     "+78005553535",
	} {
		if got, err := libphone.Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
		agree(t, in)
	}
	for _, bad := range []string{"", "12", "+7", "+7 912", "8 912 345 67 8", "8 912 345 67 899", "+0 912 345 67 89", "810", "8100 912",
		"+999 123 456 789", "+8 912 345 67 89", "1234567890123456789", "8 (912) 345-67-89 00 11"} {
		if got, err := libphone.Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want refused", bad, got)
		}
		agree(t, bad)
	}
}

func TestClassify(t *testing.T) {
	for e164, want := range map[string]phone.Info{
		"+79123456789":  {Region: "RU", Type: "mobile", Texts: true},
		"+74951234567":  {Region: "RU", Type: "fixed_line"},
		"+78005553535":  {Region: "RU", Type: "toll_free"},
		"+78091234567":  {Region: "RU", Type: "premium_rate"},
		"+77710009998":  {Region: "KZ", Type: "mobile", Texts: true},
		"+14155552671":  {Region: "US", Type: "fixed_line_or_mobile", Texts: true},
		"+442079460958": {Region: "GB", Type: "fixed_line"},
		"+8001234567":   {Type: "unknown"},
		"not a number":  {Type: "unknown"},
	} {
		got, err := libphone.Classify(e164)
		if err != nil || got != want {
			t.Errorf("Classify(%q) = %+v, %v; want %+v", e164, got, err, want)
		}
	}
}

func FuzzAgreesWithLibrary(f *testing.F) {
	for _, s := range []string{"8 912 345-67-89", "+7 (912) 345 67 89", "+44 20 7946 0958", "+1 415 555 2671", "9123456789", "810 1 415 555 2671", "+8 912 345 67 89"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { agree(t, s) })
}

func ExampleNormalize() {
	fmt.Println(libphone.Normalize("8 (912) 345-67-89"))
	// Output: +79123456789 <nil>
}
