package libphone

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The number types, in the order getNumberType tests them; general is the
// region's description of all its numbers.
const (
	general = iota
	premiumRate
	tollFree
	sharedCost
	voip
	personalNumber
	pager
	uan
	voicemail
	fixedLine
	mobile
	numTypes // the number of descriptions

	// Types that have no description of their own.
	fixedLineOrMobile = numTypes // matches both, or the region cannot tell them apart
	unknown           = -1       // matches no type
)

// typeNames name the types as Classify reports them.
var typeNames = [numTypes + 1]string{
	premiumRate: "premium_rate", tollFree: "toll_free", sharedCost: "shared_cost", voip: "voip",
	personalNumber: "personal_number", pager: "pager", uan: "uan", voicemail: "voicemail",
	fixedLine: "fixed_line", mobile: "mobile", fixedLineOrMobile: "fixed_line_or_mobile",
}

// region is what parsing and validating a region's numbers read from the
// metadata (generated into metadata_gen.go).
type region struct {
	id              string // ISO 3166-1 alpha-2
	cc              int
	idd             string // international prefix pattern ("810" in RU)
	npp             string // national prefix for parsing pattern ("8" in RU)
	transform       string // replacement applied with npp, when it has groups
	leading         string // leading digits telling this region among those sharing its calling code
	sameMobileFixed bool   // mobile and fixed-line numbers cannot be told apart
	localOnly       []int8 // lengths dialable only locally
	descs           [numTypes]desc
}

// desc describes the national numbers of one type.
type desc struct {
	pattern string
	lengths []int8 // possible lengths; nil means those of the general description
}

// callingCode is a calling code and its regions, the main one first.
type callingCode struct {
	cc      int
	regions []string
}

// regionByID returns the metadata of a region; nil for an unknown id.
func regionByID(id string) *region {
	i, found := slices.BinarySearchFunc(regions[:], id, func(r region, id string) int { return strings.Compare(r.id, id) })
	if !found {
		return nil
	}
	return &regions[i]
}

// regionsOf maps a calling code to its regions; a known code of a
// non-geographic entity maps to an empty list.
var regionsOf = sync.OnceValue(func() map[int][]string {
	m := make(map[int][]string, len(callingCodes))
	for _, c := range callingCodes {
		m[c.cc] = c.regions
	}
	return m
})

// Patterns are compiled on first use, as the library does: a process
// compiles those of the few regions its numbers come from.
var (
	patternsMu sync.Mutex
	patterns   = map[string]*regexp.Regexp{}
)

func regexFor(p string) *regexp.Regexp {
	patternsMu.Lock()
	defer patternsMu.Unlock()
	re, ok := patterns[p]
	if !ok {
		re = regexp.MustCompile(p)
		patterns[p] = re
	}
	return re
}
