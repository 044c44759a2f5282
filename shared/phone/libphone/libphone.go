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

func init() { phone.RegisterClassifier(Classify) }

// typeNames name the metadata's number types.
var typeNames = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
	phonenumbers.UNKNOWN:              "unknown",
}

// Classify tells the region and type of an E.164 number from the same
// metadata Normalize uses (nothing more is linked in). A number it cannot
// read is of type "unknown", which takes no SMS.
func Classify(e164 string) (phone.Info, error) {
	n, err := phonenumbers.Parse(e164, phone.DefaultRegion)
	if err != nil {
		return phone.Info{Type: "unknown"}, nil
	}
	t := phonenumbers.GetNumberType(n)
	name, ok := typeNames[t]
	if !ok {
		name = "unknown"
	}
	return phone.Info{
		Region: phonenumbers.GetRegionCodeForNumber(n),
		Type:   name,
		Texts:  t == phonenumbers.MOBILE || t == phonenumbers.FIXED_LINE_OR_MOBILE,
	}, nil
}
