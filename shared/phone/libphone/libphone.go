// Package libphone validates and normalises phone numbers with the full
// phone-number metadata (nyaruka/phonenumbers). It is its own package so that
// only binaries that store numbers carry the metadata.
package libphone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/loyalty/cashback/shared/phone"
)

// Normalize returns the E.164 form of s, validated against the full
// phone-number metadata. Binaries that call it carry that metadata (~5 MB).
func Normalize(s string) (string, error) {
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
