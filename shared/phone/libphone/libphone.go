// Package libphone validates and normalises phone numbers with the
// phone-number metadata of every region, and tells a number's region and
// type. It follows libphonenumber's parsing and validation rules
// (nyaruka/phonenumbers) over that library's metadata, generated into
// metadata_gen.go, for the forms people type (phone.Digits: digits with
// spaces, dashes, dots and parentheses, an optional leading "+"), with the
// default region's national and international prefixes. It refuses the
// rest rather than read it differently from the library (letters,
// extensions, tel: URIs, other scripts' digits), and the numbers of
// non-geographic entities (+800, +882, …). Tests compare it with the
// library on every region's example numbers, written in several ways, and
// on random input.
//
// It does not import the library itself: that links the protobuf runtime and
// language tables, and its reflection keeps every method of every type in
// the binary, which more than doubled the enroll function's size. It is its
// own package so that only the binaries that store numbers carry the
// metadata; the rest read numbers with phone.NormalizeForLookup.
package libphone

import (
	"strings"

	"github.com/loyalty/cashback/shared/phone"
)

// Normalize returns the E.164 form of s, validated against the metadata.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return "", phone.ErrInvalid
	}
	n, ok := parse(s, phone.DefaultRegion)
	if !ok || !n.valid() {
		return "", phone.ErrInvalid
	}
	return n.e164(), nil
}

func init() { phone.RegisterClassifier(Classify) }

// Classify tells the region and type of an E.164 number from the same
// metadata Normalize uses. A number it cannot read is of type "unknown",
// which takes no SMS.
func Classify(e164 string) (phone.Info, error) {
	n, ok := parse(e164, phone.DefaultRegion)
	if !ok {
		return phone.Info{Type: "unknown"}, nil
	}
	id := n.regionID()
	t := unknown
	if r := regionByID(id); r != nil {
		t = numberType(n.national, r)
	}
	info := phone.Info{Region: id, Type: "unknown", Texts: t == mobile || t == fixedLineOrMobile}
	if t != unknown {
		info.Type = typeNames[t]
	}
	return info, nil
}
