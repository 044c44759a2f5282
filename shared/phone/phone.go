// Package phone parses phone numbers in the national and international forms
// customers and cashiers type ("8 912 345-67-89", "+7 (912) 345 67 89") and
// normalises them to E.164. It also masks numbers for logs.
package phone

import (
	"errors"
	"strings"
)

// DefaultRegion is assumed for numbers written without a country code.
const DefaultRegion = "RU"

// ErrInvalid is returned for anything that is not a valid phone number.
var ErrInvalid = errors.New("not a valid phone number")

// Mask hides all but the country code and last two digits: +7*******89.
func Mask(e164 string) string {
	if len(e164) < 5 {
		return "***"
	}
	return e164[:2] + strings.Repeat("*", len(e164)-4) + e164[len(e164)-2:]
}

// Info is what the full phone-number metadata tells about a number.
type Info struct {
	Region string // ISO 3166-1 alpha-2 ("RU", "KZ"); "" when the metadata has none
	Type   string // "mobile", "fixed_line_or_mobile", "fixed_line", "premium_rate", …
	// Texts: an SMS reaches it at the price of an SMS. Only mobile numbers,
	// and numbers the metadata cannot tell from fixed lines (all of the US,
	// for one), qualify: premium-rate and shared-cost numbers bill the
	// sender, and toll-free, VoIP, personal, pager, UAN, voicemail and fixed
	// lines are not where a customer reads a code, but where SMS pumping
	// sends them.
	Texts bool
}

// ErrNoMetadata: this binary does not carry the phone-number metadata.
var ErrNoMetadata = errors.New("no phone-number metadata in this binary (import shared/phone/libphone)")

var classifier func(e164 string) (Info, error)

// Classify tells the region and type of an E.164 number. Only binaries that
// import libphone (which registers itself) carry the metadata; others get
// ErrNoMetadata, so a binary that would send codes without it fails closed.
func Classify(e164 string) (Info, error) {
	if classifier == nil {
		return Info{}, ErrNoMetadata
	}
	return classifier(e164)
}

// RegisterClassifier is called by libphone's init: the classifier comes with
// the metadata, and binaries that import libphone to store numbers are the
// ones that send codes.
func RegisterClassifier(f func(e164 string) (Info, error)) { classifier = f }
