package loyalty

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Card-number rules of a program (seed 004: "card numbers: generated
// automatically, by a regular expression, or loaded"). The rule decides how
// a new member's number is drawn and which numbers a till may hand out;
// members keep the numbers they have when the rule changes.
const (
	CardsAuto     = "auto"     // 16 digits, prefix 77, Luhn check digit
	CardsPattern  = "pattern"  // drawn from a mask of allowed numbers
	CardsImported = "imported" // pre-printed cards of the tenant's pool
)

// CardRule is a program's card-number rule; nil means auto.
type CardRule struct {
	Mode    string `json:"mode" enum:"auto,pattern,imported" doc:"auto: 16 digits with a Luhn check digit; pattern: numbers matching pattern; imported: only numbers of the tenant's card pool (POST /v1/cards/import), bound at first use"`
	Pattern string `json:"pattern,omitempty" maxLength:"64" doc:"pattern mode: digits, \\d, classes like [0-4] or [13579], each optionally followed by {n} or {n,m}; e.g. 2000\\d{8} or 77[1-3]\\d{9}"`
}

// Card numbers are 4-19 digits (the width of the API's card field).
const (
	MinCardDigits = 4
	MaxCardDigits = 19
	// minPatternNumbers refuses a pattern so narrow that drawing a free
	// number would keep colliding (ten numbers are ten members).
	minPatternNumbers = 1000
)

// ourPrefix marks an auto-generated number: a 16-digit number starting with
// it claims to be ours, so a till's typo is caught by its check digit.
const ourPrefix = "77"

// ClaimsOurs reports whether a number has the shape of an auto-generated one.
func ClaimsOurs(s string) bool {
	return len(s) == 16 && strings.HasPrefix(s, ourPrefix) && digitsOnly(s)
}

// CheckCardRef refuses, at lookup, a number that claims to be ours but fails
// its check digit: it names no member, and saying so helps the cashier more
// than "not found".
func CheckCardRef(field, s string) error {
	if ClaimsOurs(s) && !ValidCardNumber(s) {
		return Invalid(field, "card number fails its check digit: check the digits typed")
	}
	return nil
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// atom is one position class of a pattern with its repeat bounds.
type atom struct {
	digits   string // allowed digits, each once, in order
	min, max int
}

// CardPattern is a parsed pattern: a sequence of digit classes.
type CardPattern struct {
	atoms []atom
	re    *regexp.Regexp
}

// ParseCardPattern reads a pattern (see CardRule.Pattern); a malformed
// pattern, or one matching no number of 4-19 digits, or fewer than 1000,
// is a validation error on field.
func ParseCardPattern(field, s string) (*CardPattern, error) {
	if s == "" {
		return nil, Invalid(field, "pattern mode needs a pattern")
	}
	if len(s) > 64 {
		return nil, Invalid(field, "a pattern is at most 64 characters")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "^"), "$")
	var p CardPattern
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(s); {
		var a atom
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			a.digits, i = string(c), i+1
		case c == '\\':
			if i+1 >= len(s) || s[i+1] != 'd' {
				return nil, Invalid(field, "at %d: only \\d may follow a backslash", i+1)
			}
			a.digits, i = "0123456789", i+2
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, Invalid(field, "at %d: [ without ]", i+1)
			}
			set, err := digitClass(s[i+1 : i+end])
			if err != nil {
				return nil, Invalid(field, "at %d: %v", i+1, err)
			}
			if set == "" {
				return nil, Invalid(field, "at %d: the class %s matches no digit, so the pattern matches nothing", i+1, s[i:i+end+1])
			}
			a.digits, i = set, i+end+1
		default:
			return nil, Invalid(field, "at %d: %q is not allowed: use digits, \\d, [classes] and {n} or {n,m}", i+1, c)
		}
		a.min, a.max = 1, 1
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, Invalid(field, "at %d: { without }", i+1)
			}
			lo, hi, ok := repeat(s[i+1 : i+end])
			if !ok {
				return nil, Invalid(field, "at %d: a repeat is {n} or {n,m} with n ≤ m ≤ 19", i+1)
			}
			a.min, a.max, i = lo, hi, i+end+1
		}
		if a.max == 0 {
			continue
		}
		p.atoms = append(p.atoms, a)
		fmt.Fprintf(&re, "[%s]{%d,%d}", a.digits, a.min, a.max)
	}
	re.WriteString("$")
	lo, hi := 0, 0
	for _, a := range p.atoms {
		lo, hi = lo+a.min, hi+a.max
	}
	if hi < MinCardDigits || lo > MaxCardDigits {
		return nil, Invalid(field, "the pattern matches no number of %d-%d digits", MinCardDigits, MaxCardDigits)
	}
	if lo < MinCardDigits || hi > MaxCardDigits {
		return nil, Invalid(field, "every number of the pattern must have %d-%d digits (it allows %d-%d)", MinCardDigits, MaxCardDigits, lo, hi)
	}
	if p.count() < minPatternNumbers {
		return nil, Invalid(field, "the pattern allows fewer than %d numbers", minPatternNumbers)
	}
	p.re = regexp.MustCompile(re.String())
	return &p, nil
}

// digitClass expands the inside of [...]: digits and ranges like 0-4.
func digitClass(s string) (string, error) {
	var in [10]bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return "", fmt.Errorf("%q in a class: only digits and ranges (0-4)", c)
		}
		if i+2 < len(s) && s[i+1] == '-' {
			d := s[i+2]
			if d < '0' || d > '9' {
				return "", fmt.Errorf("bad range %c-%c", c, d)
			}
			for x := c; x <= d; x++ { // d < c: an empty range
				in[x-'0'] = true
			}
			i += 2
			continue
		}
		in[c-'0'] = true
	}
	var out strings.Builder
	for d, ok := range in {
		if ok {
			out.WriteByte(byte('0' + d))
		}
	}
	return out.String(), nil
}

func repeat(s string) (int, int, bool) {
	a, b, two := strings.Cut(s, ",")
	lo, err := strconv.Atoi(a)
	if err != nil || lo < 0 {
		return 0, 0, false
	}
	hi := lo
	if two {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, false
		}
	}
	return lo, hi, lo <= hi && hi <= MaxCardDigits
}

// count is how many numbers the pattern allows (capped, to stay in int64).
func (p *CardPattern) count() int64 {
	const limit = 1 << 40
	total := int64(1)
	for _, a := range p.atoms {
		var choices int64
		for n := a.min; n <= a.max; n++ {
			c := int64(1)
			for k := 0; k < n && c < limit; k++ {
				c *= int64(len(a.digits))
			}
			choices += c
		}
		total *= choices
		if total >= limit {
			return limit
		}
	}
	return total
}

// Match reports whether a number is allowed by the pattern.
func (p *CardPattern) Match(s string) bool { return p.re.MatchString(s) }

// Draw picks a random number of the pattern.
func (p *CardPattern) Draw() string {
	var b strings.Builder
	for _, a := range p.atoms {
		n := a.min + randInt(a.max-a.min+1)
		for k := 0; k < n; k++ {
			b.WriteByte(a.digits[randInt(len(a.digits))])
		}
	}
	return b.String()
}

func randInt(n int) int {
	if n <= 1 {
		return 0
	}
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

// validateCardRule checks a program's rule when the program is saved.
func validateCardRule(r *CardRule) error {
	if r == nil {
		return nil
	}
	switch r.Mode {
	case CardsAuto, CardsImported:
		if r.Pattern != "" {
			return Invalid("cardNumbers.pattern", "a pattern is only for mode pattern")
		}
	case CardsPattern:
		_, err := ParseCardPattern("cardNumbers.pattern", r.Pattern)
		return err
	default:
		return Invalid("cardNumbers.mode", "mode is auto, pattern or imported")
	}
	return nil
}

// cardMode is the program's mode ("auto" when no rule or no program).
func cardMode(p *Program) string {
	if p == nil || p.CardNumbers == nil || p.CardNumbers.Mode == "" {
		return CardsAuto
	}
	return p.CardNumbers.Mode
}

// drawCard draws a new number under the program's rule: a pattern program
// draws from its pattern, others (imported too: a member enrolled without a
// physical card gets a digital one) auto-generate.
func drawCard(p *Program) string {
	if cardMode(p) == CardsPattern {
		if cp, err := ParseCardPattern("", p.CardNumbers.Pattern); err == nil {
			return cp.Draw()
		}
	}
	return NewCardNumber()
}

// CardChoice is a number a till gives for a member (a physical card) once
// checked against the program's rule.
type CardChoice struct {
	Number   string
	FromPool bool // bind the pool entry in the same transaction
}

// ErrCardNotInPool: the number is not one of the tenant's imported cards.
var ErrCardNotInPool = errors.New("card number not in the card pool")

// chooseCard checks a number given by the till against the rule: auto
// numbers must carry their check digit, pattern numbers match the pattern,
// imported numbers are in the pool and not bound yet (the pool read gives
// the clear answer; the conditioned write at commit settles races).
func (c *Core) chooseCard(ctx context.Context, tenantID string, p *Program, number string) (CardChoice, error) {
	if !digitsOnly(number) || len(number) < MinCardDigits || len(number) > MaxCardDigits {
		return CardChoice{}, Invalid("card", "a card number is %d-%d digits", MinCardDigits, MaxCardDigits)
	}
	switch cardMode(p) {
	case CardsPattern:
		cp, err := ParseCardPattern("card", p.CardNumbers.Pattern)
		if err != nil {
			return CardChoice{}, err
		}
		if !cp.Match(number) {
			return CardChoice{}, Invalid("card", "the number does not match the program's card pattern")
		}
		return CardChoice{Number: number}, nil
	case CardsImported:
		pool, ok := c.Store.(CardPoolStore)
		if !ok {
			return CardChoice{}, errors.New("store has no card pool")
		}
		e, err := pool.GetPoolCard(ctx, tenantID, number)
		if err != nil {
			return CardChoice{}, err
		}
		if e == nil {
			return CardChoice{}, &Error{Code: CodeCardNotInPool, Field: "card", Message: "the number is not one of the imported cards"}
		}
		if e.MemberID != "" {
			return CardChoice{}, Errorf(CodeCardTaken, "this card is already bound to a member")
		}
		return CardChoice{Number: number, FromPool: true}, nil
	default:
		if !ValidCardNumber(number) {
			return CardChoice{}, Invalid("card", "card number fails its check digit")
		}
		return CardChoice{Number: number}, nil
	}
}

// PoolCard is one pre-printed card number of a tenant's pool.
type PoolCard struct {
	Number     string    `json:"number"`
	MemberID   string    `json:"memberId,omitempty"`
	BoundAt    time.Time `json:"boundAt,omitzero"`
	ImportedAt time.Time `json:"importedAt"`
}

// CardPoolStore keeps a tenant's pool of imported card numbers.
type CardPoolStore interface {
	// PutPoolCards adds numbers not in the pool yet; a number already in it
	// (bound or not) is left as it is and reported in the result, per number.
	PutPoolCards(ctx context.Context, tenantID string, numbers []string, now time.Time) ([]error, error)
	GetPoolCard(ctx context.Context, tenantID, number string) (*PoolCard, error)
	// ListPoolCards pages through the pool in number order.
	ListPoolCards(ctx context.Context, tenantID, after string, limit int) ([]PoolCard, error)
}

// Cards manages a tenant's pool of pre-printed card numbers.
type Cards struct{ *Core }

func (s *Cards) pool() (CardPoolStore, error) {
	ps, ok := s.Store.(CardPoolStore)
	if !ok {
		return nil, errors.New("store has no card pool")
	}
	return ps, nil
}

// ErrPoolCardExists marks an imported number already in the pool: a file
// imported twice adds nothing twice.
var ErrPoolCardExists = ErrImportExists

// ValidatePoolNumber checks one imported number: digits of card width, and a
// number shaped like an auto-generated one must carry its check digit (it
// would otherwise be refused at lookup).
func ValidatePoolNumber(n string) error {
	if !digitsOnly(n) || len(n) < MinCardDigits || len(n) > MaxCardDigits {
		return Invalid("number", "a card number is %d-%d digits", MinCardDigits, MaxCardDigits)
	}
	return CheckCardRef("number", n)
}

// ImportPoolCards adds numbers (distinct, validated) to the pool; the
// result has an outcome per number (nil, ErrPoolCardExists, or a caller error).
func (s *Cards) ImportPoolCards(ctx context.Context, c Caller, numbers []string) ([]error, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ps, err := s.pool()
	if err != nil {
		return nil, err
	}
	return ps.PutPoolCards(ctx, c.TenantID, numbers, s.now())
}

// ListPoolCards pages through the pool in number order.
func (s *Cards) ListPoolCards(ctx context.Context, c Caller, after string, limit int) ([]PoolCard, error) {
	ps, err := s.pool()
	if err != nil {
		return nil, err
	}
	return ps.ListPoolCards(ctx, c.TenantID, after, limit)
}
