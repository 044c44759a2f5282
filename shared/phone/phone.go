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
