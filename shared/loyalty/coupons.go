package loyalty

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// Coupon errors.
var (
	ErrCouponNotFound  = &Error{Code: CodeCouponNotFound, Message: "coupon not found"}
	ErrCouponCodeTaken = &Error{Code: CodeCouponCodeTaken, Message: "a coupon with this code exists"}
	// ErrCouponUsedUp is a close's coupon counter refusing the use: the
	// coupon was used up since it was read, in all or by this member.
	ErrCouponUsedUp = &Error{Code: CodeCouponExhausted, Message: "a coupon of the order has been used up"}
)

// Coupon usages (seed 004: single- or multi-use coupons).
const (
	CouponSingle = "single"
	CouponMulti  = "multi"
)

// Coupon is a code a customer presents at the till. It gives a percent or a
// fixed discount, or bonus points, within its validity window, a limited
// number of times in all (single: once) and per member. Coupons of one
// combination group do not combine on an order.
type Coupon struct {
	ID              string      `json:"couponId"`
	TenantID        string      `json:"-"`
	Code            string      `json:"code"`
	Usage           string      `json:"usage" enum:"single,multi"`
	Limit           int64       `json:"limit,omitempty" minimum:"0"` // uses in all; 0: no limit (multi only)
	PerMemberLimit  int64       `json:"perMemberLimit,omitempty" minimum:"0"`
	DiscountPercent BasisPoints `json:"discountBp,omitempty"`
	DiscountAmount  Money       `json:"discountAmount,omitempty" minimum:"0"`
	Points          Points      `json:"points,omitempty" minimum:"0"`
	// FreeSKU: the coupon makes one unit of this product free (the
	// order must have it).
	FreeSKU    string    `json:"freeSku,omitempty"`
	ValidFrom  time.Time `json:"validFrom,omitempty"`
	ValidUntil time.Time `json:"validUntil,omitempty"`
	Group      string    `json:"group,omitempty"`
	BatchID    string    `json:"batchId,omitempty"`
	// Uses counts the orders closed with the coupon (less single-use
	// coupons given back by a full refund). The store keeps it; a close
	// raises it in its own transaction, conditioned on the limit.
	Uses      int64     `json:"uses" minimum:"0"`
	CreatedAt time.Time `json:"createdAt"`
}

var couponCode = regexp.MustCompile(`^[A-Z0-9-]{4,32}$`)

// NormalizeCouponCode is the form codes are stored and matched in: codes
// are case-insensitive (a customer reads them aloud, a cashier types them).
func NormalizeCouponCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// ValidateCoupon checks a coupon as created (code set), naming the field.
func ValidateCoupon(c *Coupon) error {
	if !couponCode.MatchString(c.Code) {
		return Invalid("code", "a code is 4-32 letters, digits or '-'")
	}
	switch c.Usage {
	case CouponSingle:
		if c.Limit > 1 {
			return Invalid("limit", "a single-use coupon is used once")
		}
		if c.PerMemberLimit > 1 {
			return Invalid("perMemberLimit", "a single-use coupon is used once")
		}
	case CouponMulti:
	default:
		return Invalid("usage", "usage is single or multi")
	}
	if c.Limit < 0 || c.Limit > 1_000_000_000 || c.PerMemberLimit < 0 || c.PerMemberLimit > 1_000_000 {
		return Invalid("limit", "limits must be between 0 (none) and 10^9 (10^6 per member)")
	}
	if c.Limit > 0 && c.PerMemberLimit > c.Limit {
		return Invalid("perMemberLimit", "the per-member limit exceeds the total limit")
	}
	effects := 0
	if c.DiscountPercent != 0 {
		effects++
		if c.DiscountPercent < 0 || c.DiscountPercent > FullPercent {
			return Invalid("discountPercent", "percent must be between 0 and 100")
		}
	}
	if c.DiscountAmount != 0 {
		effects++
		if c.DiscountAmount < 0 || c.DiscountAmount > MaxMoney {
			return Invalid("discountAmount", "amount must be positive")
		}
	}
	if c.Points != 0 {
		effects++
		if c.Points < 0 || c.Points > MaxPoints {
			return Invalid("points", "points must be between 0 and %d", MaxPoints)
		}
	}
	if c.FreeSKU != "" {
		effects++
		if len(c.FreeSKU) > 128 || strings.TrimSpace(c.FreeSKU) != c.FreeSKU {
			return Invalid("freeSku", "a SKU is 1-128 characters without surrounding spaces")
		}
	}
	if effects != 1 {
		return Invalid("discountPercent", "a coupon gives exactly one of discountPercent, discountAmount, points or freeSku")
	}
	if !c.ValidFrom.IsZero() && !c.ValidUntil.IsZero() && !c.ValidUntil.After(c.ValidFrom) {
		return Invalid("validUntil", "validUntil must be after validFrom")
	}
	if c.Group != "" && !categoryName.MatchString(c.Group) {
		return Invalid("group", "group names are 1-64 letters, digits, '_', '.' or '-'")
	}
	return nil
}

// OrderCoupon is a coupon as applied to a closed order: what it gave, and
// whether a full refund gave it back.
type OrderCoupon struct {
	Code      string `json:"code"`
	Single    bool   `json:"single,omitempty"`
	PerMember bool   `json:"perMember,omitempty"`
	Discount  Money  `json:"discount,omitempty" minimum:"0"`
	Points    Points `json:"points,omitempty" minimum:"0"`
	Returned  bool   `json:"returned,omitempty"`
}

// CouponResult says per coupon of a quote or a close what it did, or why not.
type CouponResult struct {
	Code     string `json:"code"`
	Applied  bool   `json:"applied"`
	Discount Money  `json:"discount,omitempty" minimum:"0"`
	Points   Points `json:"points,omitempty" minimum:"0"`
	// Reason is the problem code that keeps the coupon off the order.
	Reason string `json:"reason,omitempty"`
}

// CouponUse is one change of a coupon's counters that a commit writes in
// its transaction: +1 when an order closes with it (conditioned on the
// limits), -1 when a full refund gives a single-use coupon back.
type CouponUse struct {
	Code  string
	Delta int64
	// Limit and PerMemberLimit condition a +1 (0: none).
	Limit          int64
	PerMemberLimit int64
	// PerMember: the member's own counter changes too (the coupon has a
	// per-member limit).
	PerMember bool
	MemberID  string
}

// MaxOrderCoupons bounds the coupons of one order.
const MaxOrderCoupons = 10

// couponPlan is what an order's coupons do, in the order given: each
// applies to what the coupons before it left of the total, so the discount
// never exceeds the total and the same input always gives the same result.
type couponPlan struct {
	results  []CouponResult
	applied  []OrderCoupon
	uses     []CouponUse
	discount Money
	points   Points
	// err is the refusal of the first coupon that does not apply.
	err error
}

// planCoupons decides an order's coupons. memberUses, when known (quote),
// are the member's uses of per-member-limited coupons; a close leaves them
// to the condition of its write.
//
// usedGroups are the combination groups promotions took on the order.
//
// items are the order's lines: a free-product coupon needs its SKU there.
func planCoupons(p *Program, codes []string, found map[string]Coupon, memberID string, blocked bool, total Money, memberUses map[string]int64, usedGroups map[string]string, items []Item, now time.Time) couponPlan {
	var plan couponPlan
	seen, groups := map[string]bool{}, map[string]string{}
	for g, by := range usedGroups {
		groups[g] = by
	}
	for _, raw := range codes {
		code := NormalizeCouponCode(raw)
		res := CouponResult{Code: code}
		refuse := func(e *Error) {
			res.Reason = string(e.Code)
			if plan.err == nil {
				plan.err = e
			}
		}
		c, ok := found[code]
		switch {
		case seen[code]:
			refuse(Errorf(CodeCouponNotApplicable, "coupon %s is listed twice", code))
		case !ok:
			refuse(Errorf(CodeCouponNotFound, "no coupon %s", code))
		case !c.ValidFrom.IsZero() && now.Before(c.ValidFrom):
			refuse(Errorf(CodeCouponNotYetValid, "coupon %s is valid from %s", code, c.ValidFrom.Format(time.RFC3339)))
		case !c.ValidUntil.IsZero() && !now.Before(c.ValidUntil):
			refuse(Errorf(CodeCouponExpired, "coupon %s expired at %s", code, c.ValidUntil.Format(time.RFC3339)))
		case c.Limit > 0 && c.Uses >= c.Limit:
			refuse(Errorf(CodeCouponExhausted, "coupon %s has been used up", code))
		case c.PerMemberLimit > 0 && memberUses != nil && memberUses[code] >= c.PerMemberLimit:
			refuse(Errorf(CodeCouponExhausted, "coupon %s has been used up by this member", code))
		case c.Points > 0 && (p == nil || p.Type == TypeDiscount || blocked || !p.Running(now)):
			refuse(Errorf(CodeCouponNotApplicable, "coupon %s gives points, which this card cannot earn", code))
		case c.Group != "" && groups[c.Group] != "":
			refuse(Errorf(CodeCouponGroupConflict, "coupon %s is of group %s, already used on this order by %s", code, c.Group, groups[c.Group]))
		case c.FreeSKU != "" && freeUnitPrice(items, c.FreeSKU) == 0:
			refuse(Errorf(CodeCouponNotApplicable, "coupon %s gives %s free, which is not in the order", code, c.FreeSKU))
		default:
			res.Applied = true
			left := total - plan.discount
			switch {
			case c.DiscountPercent > 0:
				res.Discount = Money(mulDiv(int64(left), int64(c.DiscountPercent), int64(FullPercent)))
			case c.DiscountAmount > 0:
				res.Discount = min(c.DiscountAmount, left)
			case c.FreeSKU != "":
				res.Discount = min(freeUnitPrice(items, c.FreeSKU), left)
			default:
				res.Points = c.Points
			}
			plan.discount += res.Discount
			plan.points += res.Points
			if c.Group != "" {
				groups[c.Group] = code
			}
			plan.applied = append(plan.applied, OrderCoupon{Code: code, Single: c.Usage == CouponSingle, PerMember: c.PerMemberLimit > 0,
				Discount: res.Discount, Points: res.Points})
			plan.uses = append(plan.uses, CouponUse{Code: code, Delta: 1, Limit: c.Limit, PerMemberLimit: c.PerMemberLimit,
				PerMember: c.PerMemberLimit > 0, MemberID: memberID})
		}
		seen[code] = true
		plan.results = append(plan.results, res)
	}
	return plan
}

// freeUnitPrice is the price of one unit of sku in the order: of its
// cheapest line (a line's amount over its units, rounded down); 0 when the
// order has none.
func freeUnitPrice(items []Item, sku string) Money {
	var best Money
	for _, it := range items {
		if it.SKU != sku || it.Amount <= 0 {
			continue
		}
		unit := it.Amount / Money(max(1, it.Quantity))
		if best == 0 || unit < best {
			best = unit
		}
	}
	return best
}

// returnCoupons gives the single-use coupons of a fully refunded order back.
func returnCoupons(o *Order) []CouponUse {
	var uses []CouponUse
	for i := range o.Coupons {
		c := &o.Coupons[i]
		if c.Single && !c.Returned {
			c.Returned = true
			uses = append(uses, CouponUse{Code: c.Code, Delta: -1, PerMember: c.PerMember, MemberID: o.MemberID})
		}
	}
	return uses
}

// CouponStore is what coupons need from persistence.
type CouponStore interface {
	// CreateCoupons writes new coupons, each code absent, all or none;
	// a code taken refuses with ErrCouponCodeTaken.
	CreateCoupons(ctx context.Context, tenantID string, cs []Coupon, idem *IdemRecord) error
	GetCoupon(ctx context.Context, tenantID, code string) (*Coupon, error)
	ListCoupons(ctx context.Context, tenantID, after string, limit int) ([]Coupon, error)
	// CouponUses reads a member's uses of coupons with a per-member limit.
	CouponUses(ctx context.Context, tenantID, memberID string, codes []string) (map[string]int64, error)
}

// Coupons manages a tenant's coupons.
type Coupons struct{ *Core }

func (s *Coupons) coupons() (CouponStore, error) {
	cs, ok := s.Store.(CouponStore)
	if !ok {
		return nil, errors.New("store does not support coupons")
	}
	return cs, nil
}

// NewCouponResult is the answer to a creation.
type NewCouponResult struct {
	CouponID string `json:"couponId"`
	Code     string `json:"code"`
	Coupon   Coupon `json:"coupon"`
}

// CreateCoupon stores one coupon; without a code one is drawn.
func (s *Coupons) CreateCoupon(ctx context.Context, c Caller, idem Idem, cp Coupon) (NewCouponResult, bool, error) {
	if err := requireAdmin(c); err != nil {
		return NewCouponResult{}, false, err
	}
	given := cp.Code != ""
	cp.Code = NormalizeCouponCode(cp.Code)
	if !given {
		cp.Code = "PLACEHOLDER" // validated below; drawn per attempt
	}
	if err := ValidateCoupon(&cp); err != nil {
		return NewCouponResult{}, false, err
	}
	store, err := s.coupons()
	if err != nil {
		return NewCouponResult{}, false, err
	}
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (NewCouponResult, error) {
		nc := cp
		if !given {
			gen, _ := NewCodeGenerator("", DefaultCouponAlphabet, DefaultCouponLength)
			nc.Code = gen.Next()
		}
		nc.ID, nc.TenantID, nc.Uses, nc.CreatedAt = NewID("c_"), c.TenantID, 0, s.now()
		if nc.Usage == CouponSingle {
			nc.Limit = 1
		}
		res := NewCouponResult{CouponID: nc.ID, Code: nc.Code, Coupon: nc}
		rec, err := s.idemRecord(idem, res)
		if err != nil {
			return res, err
		}
		if err := store.CreateCoupons(ctx, c.TenantID, []Coupon{nc}, rec); err != nil {
			if errors.Is(err, ErrCouponCodeTaken) && !given {
				return res, ErrConflict // draw another code
			}
			return res, err
		}
		return res, nil
	}))
}

// BatchRequest generates count coupons alike but for their codes.
type BatchRequest struct {
	Count    int
	Pattern  string
	Alphabet string
	Length   int
	Template Coupon
}

// BatchResult lists the coupons made.
type BatchResult struct {
	BatchID string       `json:"batchId"`
	Count   int          `json:"count" minimum:"0"`
	Coupons []NewCoupons `json:"coupons"`
}

// NewCoupons is one coupon of a batch.
type NewCoupons struct {
	CouponID string `json:"couponId"`
	Code     string `json:"code"`
}

// MaxCouponBatch bounds a batch (one request's transactions).
const MaxCouponBatch = 1000

// couponsPerWrite are written per transaction (DynamoDB's 100 items, one
// of them the idempotency record).
const couponsPerWrite = 99

// CreateCouponBatch generates count coupons with codes drawn from a pattern
// or from an alphabet and a length. Codes are drawn until each is new.
func (s *Coupons) CreateCouponBatch(ctx context.Context, c Caller, idem Idem, req BatchRequest) (BatchResult, bool, error) {
	if err := requireAdmin(c); err != nil {
		return BatchResult{}, false, err
	}
	if req.Count < 1 || req.Count > MaxCouponBatch {
		return BatchResult{}, false, Invalid("count", "count is 1 to %d", MaxCouponBatch)
	}
	gen, err := NewCodeGenerator(req.Pattern, req.Alphabet, req.Length)
	if err != nil {
		return BatchResult{}, false, err
	}
	// A space of codes barely larger than the batch would spend its time
	// drawing codes already taken; ask for a thousand times the count.
	if gen.Space() < float64(req.Count)*1000 {
		return BatchResult{}, false, Invalid(gen.field, "the pattern gives %.0f codes: too few for %d coupons (at least 1000 times as many)", gen.Space(), req.Count)
	}
	tpl := req.Template
	tpl.Code = "PLACEHOLDER"
	if err := ValidateCoupon(&tpl); err != nil {
		return BatchResult{}, false, err
	}
	store, err := s.coupons()
	if err != nil {
		return BatchResult{}, false, err
	}
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (BatchResult, error) {
		res := BatchResult{BatchID: NewID("cb_"), Count: req.Count}
		now := s.now()
		all := make([]Coupon, 0, req.Count)
		for len(all) < req.Count {
			n := min(couponsPerWrite, req.Count-len(all))
			last := len(all)+n == req.Count
			for attempt := 0; ; attempt++ {
				chunk := make([]Coupon, n)
				seen := map[string]bool{}
				for i := range chunk {
					cp := tpl
					for cp.Code = gen.Next(); seen[cp.Code]; cp.Code = gen.Next() {
					}
					seen[cp.Code] = true
					cp.ID, cp.TenantID, cp.Uses, cp.CreatedAt, cp.BatchID = NewID("c_"), c.TenantID, 0, now, res.BatchID
					if cp.Usage == CouponSingle {
						cp.Limit = 1
					}
					chunk[i] = cp
				}
				var rec *IdemRecord
				if last {
					// The record goes with the last chunk: a retry after a
					// failure in between makes a new batch, never half of one
					// answered as whole.
					out := res
					for _, cp := range append(all, chunk...) {
						out.Coupons = append(out.Coupons, NewCoupons{CouponID: cp.ID, Code: cp.Code})
					}
					if rec, err = s.idemRecord(idem, out); err != nil {
						return res, err
					}
				}
				err := store.CreateCoupons(ctx, c.TenantID, chunk, rec)
				if errors.Is(err, ErrCouponCodeTaken) && attempt < 5 {
					continue
				}
				if err != nil {
					return res, err
				}
				all = append(all, chunk...)
				break
			}
		}
		for _, cp := range all {
			res.Coupons = append(res.Coupons, NewCoupons{CouponID: cp.ID, Code: cp.Code})
		}
		return res, nil
	}))
}

// GetCoupon reads a coupon by code.
func (s *Coupons) GetCoupon(ctx context.Context, c Caller, code string) (*Coupon, error) {
	store, err := s.coupons()
	if err != nil {
		return nil, err
	}
	return store.GetCoupon(ctx, c.TenantID, NormalizeCouponCode(code))
}

// ListCoupons pages through coupons in code order.
func (s *Coupons) ListCoupons(ctx context.Context, c Caller, after string, limit int) ([]Coupon, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	store, err := s.coupons()
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		limit = 100
	}
	return store.ListCoupons(ctx, c.TenantID, NormalizeCouponCode(after), limit)
}

// Code generation.

// DefaultCouponAlphabet leaves out characters read alike (0/O, 1/I/L).
const (
	DefaultCouponAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	DefaultCouponLength   = 10
)

// CodeGenerator draws codes from crypto/rand: from a pattern, where '#' is
// a digit, '?' a letter, '*' a character of the alphabet and anything else
// (letters, digits, '-') itself; or `length` characters of the alphabet.
type CodeGenerator struct {
	slots []string // per position: the characters it may take
	field string   // the request field that made it, for errors
}

// NewCodeGenerator validates a pattern or an alphabet and length.
func NewCodeGenerator(pattern, alphabet string, length int) (*CodeGenerator, error) {
	alphabet = strings.ToUpper(alphabet)
	if alphabet == "" {
		alphabet = DefaultCouponAlphabet
	}
	seen := map[rune]bool{}
	for _, r := range alphabet {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", r) || seen[r] {
			return nil, Invalid("alphabet", "the alphabet is distinct letters and digits")
		}
		seen[r] = true
	}
	if len(alphabet) < 2 {
		return nil, Invalid("alphabet", "the alphabet needs at least 2 characters")
	}
	g := &CodeGenerator{}
	if pattern != "" {
		if length != 0 {
			return nil, Invalid("length", "give a pattern or a length, not both")
		}
		g.field = "pattern"
		pattern = strings.ToUpper(pattern)
		if !couponCode.MatchString(strings.NewReplacer("#", "0", "?", "A", "*", "A").Replace(pattern)) {
			return nil, Invalid("pattern", "a pattern is 4-32 of '#' (digit), '?' (letter), '*' (alphabet), letters, digits and '-'")
		}
		for _, r := range pattern {
			switch r {
			case '#':
				g.slots = append(g.slots, "0123456789")
			case '?':
				g.slots = append(g.slots, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
			case '*':
				g.slots = append(g.slots, alphabet)
			default:
				g.slots = append(g.slots, string(r))
			}
		}
		return g, nil
	}
	g.field = "length"
	if length == 0 {
		length = DefaultCouponLength
	}
	if length < 4 || length > 32 {
		return nil, Invalid("length", "length is 4 to 32")
	}
	for i := 0; i < length; i++ {
		g.slots = append(g.slots, alphabet)
	}
	return g, nil
}

// Space is how many distinct codes the generator can draw.
func (g *CodeGenerator) Space() float64 {
	n := 1.0
	for _, s := range g.slots {
		n *= float64(len(s))
		if math.IsInf(n, 1) {
			break
		}
	}
	return n
}

// Next draws a code.
func (g *CodeGenerator) Next() string {
	var b strings.Builder
	for _, s := range g.slots {
		if len(s) == 1 {
			b.WriteString(s)
			continue
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(s))))
		b.WriteByte(s[n.Int64()])
	}
	return b.String()
}

// couponCodes normalises the codes of a request for the context read.
func couponCodes(codes []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range codes {
		c = NormalizeCouponCode(c)
		if couponCode.MatchString(c) && !seen[c] && len(out) < MaxOrderCoupons {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// memberCouponUses reads the member's uses of the per-member-limited
// coupons found: one more read, only when such a coupon is presented.
func (s *Core) memberCouponUses(ctx context.Context, tenantID, memberID string, found map[string]Coupon) (map[string]int64, error) {
	var codes []string
	for code, c := range found {
		if c.PerMemberLimit > 0 {
			codes = append(codes, code)
		}
	}
	if len(codes) == 0 {
		return map[string]int64{}, nil
	}
	cs, ok := s.Store.(CouponStore)
	if !ok {
		return nil, errors.New("store does not support coupons")
	}
	return cs.CouponUses(ctx, tenantID, memberID, codes)
}
