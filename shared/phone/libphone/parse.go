package libphone

import (
	"errors"
	"strconv"
	"strings"

	"github.com/loyalty/cashback/shared/phone"
)

// Limits of libphonenumber: a national significant number has 2 to 17
// digits, a calling code 1 to 3.
const (
	minNational = 2
	maxNational = 17
	maxCCDigits = 3
)

// number is a parsed number: its calling code and national significant
// number (digits, leading zeros kept).
type number struct {
	cc       int
	national string
}

func (n number) e164() string { return "+" + strconv.Itoa(n.cc) + n.national }

// parse reads s the way libphonenumber's Parse does with defaultRegion, for
// the forms this package accepts (see the package comment): false for
// anything else, and for what the library would refuse to parse.
func parse(s, defaultRegion string) (number, bool) {
	digits, plus, ok := phone.Digits(s)
	if !ok {
		return number{}, false
	}
	// The library's viability check: at least three digits (two alone
	// are too short for any national number anyway).
	if len(digits) < 3 {
		return number{}, false
	}
	def := regionByID(defaultRegion)
	if def == nil {
		return number{}, false
	}
	cc, national, err := extractCountryCode(digits, plus, def)
	if err == errUnknownCode && plus {
		// A "+" before no known calling code: the library reads the digits
		// again as if the "+" were not there, and needs a code from them.
		if cc, national, err = extractCountryCode(digits, false, def); err == nil && cc == 0 {
			err = errUnknownCode
		}
	}
	if err != nil {
		return number{}, false
	}
	meta := def
	if cc == 0 {
		cc, national = def.cc, digits
	} else if main := regionsOf()[cc]; len(main) == 0 {
		return number{}, false // a non-geographic entity's number: not supported
	} else {
		meta = regionByID(main[0])
	}
	if len(national) < minNational {
		return number{}, false
	}
	// Strip a national prefix only when what remains has a possible length
	// (otherwise the original may be a valid short number).
	if stripped, _ := stripNationalPrefix(national, meta); stripped != national {
		switch numberLength(stripped, meta) {
		case tooShort, possibleLocalOnly, invalidLength:
		default:
			national = stripped
		}
	}
	if len(national) < minNational || len(national) > maxNational {
		return number{}, false
	}
	return number{cc: cc, national: national}, true
}

// Why extractCountryCode fails (the library's parse errors).
var (
	errUnknownCode  = errors.New("no known calling code")
	errTooShortCode = errors.New("too short after the international prefix")
)

// extractCountryCode is the library's maybeExtractCountryCode: a calling
// code after "+" or after the default region's international prefix, or the
// default region's own code written without "+" where stripping it makes an
// invalid number valid or a too long one fit. cc 0: none was found (the
// number is national).
func extractCountryCode(digits string, plus bool, def *region) (cc int, national string, err error) {
	international := plus
	if !plus {
		// The international prefix counts unless a 0 follows it (no
		// calling code starts with 0).
		if loc := regexFor(def.idd).FindStringIndex(digits); loc != nil && loc[0] == 0 && (loc[1] == len(digits) || digits[loc[1]] != '0') {
			digits, international = digits[loc[1]:], true
		}
	}
	if international {
		if len(digits) <= minNational {
			return 0, "", errTooShortCode
		}
		if digits[0] == '0' {
			return 0, "", errUnknownCode
		}
		for i := 1; i <= maxCCDigits && i <= len(digits); i++ {
			c, _ := strconv.Atoi(digits[:i])
			if _, known := regionsOf()[c]; known {
				return c, digits[i:], nil
			}
		}
		return 0, "", errUnknownCode
	}
	code := strconv.Itoa(def.cc)
	if strings.HasPrefix(digits, code) {
		rule := regexFor("^(?:" + def.descs[general].pattern + ")$")
		potential, _ := stripNationalPrefix(digits[len(code):], def)
		if (!rule.MatchString(digits) && rule.MatchString(potential)) || numberLength(digits, def) == tooLong {
			return def.cc, potential, nil
		}
	}
	return 0, "", nil
}

// stripNationalPrefix is the library's maybeStripNationalPrefixAndCarrierCode
// without the carrier code: it removes (or, with a transform rule,
// rewrites) a national prefix, unless that turns a number matching the
// region's general pattern into one that does not.
func stripNationalPrefix(n string, r *region) (string, bool) {
	if n == "" || r.npp == "" {
		return n, false
	}
	prefix := regexFor("^(?:" + r.npp + ")")
	groups := prefix.FindStringSubmatchIndex(n)
	if groups == nil {
		return n, false
	}
	rule := regexFor("^(?:" + r.descs[general].pattern + ")$")
	viable := rule.MatchString(n)
	last := len(groups)/2 - 1
	if r.transform == "" || groups[last*2] < 0 {
		if viable && !rule.MatchString(n[groups[1]:]) {
			return n, false
		}
		return n[groups[1]:], true
	}
	transformed := prefix.ReplaceAllString(n, r.transform)
	if viable && !rule.MatchString(transformed) {
		return n, false
	}
	return transformed, true
}

// Results of numberLength, the library's testNumberLength for any type.
const (
	isPossible = iota
	possibleLocalOnly
	tooShort
	tooLong
	invalidLength
)

func numberLength(n string, r *region) int {
	lengths := r.descs[general].lengths
	if len(lengths) == 0 || lengths[0] == -1 {
		return invalidLength
	}
	l := len(n)
	for _, ll := range r.localOnly {
		if int(ll) == l {
			return possibleLocalOnly
		}
	}
	switch {
	case int(lengths[0]) == l:
		return isPossible
	case int(lengths[0]) > l:
		return tooShort
	case int(lengths[len(lengths)-1]) < l:
		return tooLong
	}
	for _, ll := range lengths[1:] {
		if int(ll) == l {
			return isPossible
		}
	}
	return invalidLength
}

// matches is the library's isNumberMatchingDesc.
func matches(n string, d desc) bool {
	if len(d.lengths) > 0 {
		found := false
		for _, l := range d.lengths {
			found = found || int(l) == len(n)
		}
		if !found {
			return false
		}
	}
	return regexFor("^(?:" + d.pattern + ")$").MatchString(n)
}

// numberType is the library's getNumberTypeHelper.
func numberType(n string, r *region) int {
	if !matches(n, r.descs[general]) {
		return unknown
	}
	for t := premiumRate; t <= voicemail; t++ {
		if matches(n, r.descs[t]) {
			return t
		}
	}
	if matches(n, r.descs[fixedLine]) {
		if r.sameMobileFixed || matches(n, r.descs[mobile]) {
			return fixedLineOrMobile
		}
		return fixedLine
	}
	if !r.sameMobileFixed && matches(n, r.descs[mobile]) {
		return mobile
	}
	return unknown
}

// regionID is the library's GetRegionCodeForNumber: among the regions
// sharing the calling code, the first whose leading digits start the
// number, or (for regions without leading digits) whose patterns match it.
func (n number) regionID() string {
	ids := regionsOf()[n.cc]
	if len(ids) == 1 {
		return ids[0]
	}
	for _, id := range ids {
		r := regionByID(id)
		if r.leading != "" {
			if regexFor("^(?:" + r.leading + ")").MatchString(n.national) {
				return id
			}
		} else if numberType(n.national, r) != unknown {
			return id
		}
	}
	return ""
}

// valid is the library's IsValidNumber.
func (n number) valid() bool {
	r := regionByID(n.regionID())
	return r != nil && r.cc == n.cc && numberType(n.national, r) != unknown
}
