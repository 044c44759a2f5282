package loyalty

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"
)

// Promotion scopes (seed 004's gift program: goods in one receipt, in
// different receipts, or combined).
const (
	ScopeReceipt        = "receipt"
	ScopeAcrossReceipts = "acrossReceipts"
	ScopeBoth           = "both"
	KindBuyNGetM        = "buyNgetM"
)

// Promotion is a "buy n, get m" gift: of every n+m eligible units the m
// cheapest are discounted (100 % by default: free). Within a receipt
// (scope receipt) units of one order count; across receipts it is a stamp
// card: the member's progress is kept on the account, moves in the order's
// transaction and is reversed by refunds.
type Promotion struct {
	ID              string      `json:"promotionId"`
	Name            string      `json:"name"`
	Kind            string      `json:"kind" enum:"buyNgetM"`
	N               int         `json:"n" minimum:"1"`
	M               int         `json:"m" minimum:"1"`
	SKUs            []string    `json:"skus,omitempty"`
	Categories      []string    `json:"categories,omitempty"`
	Scope           string      `json:"scope" enum:"receipt,acrossReceipts,both"`
	DiscountPercent BasisPoints `json:"discountBp"`
	Group           string      `json:"group,omitempty"`
	ValidFrom       time.Time   `json:"validFrom,omitempty"`
	ValidUntil      time.Time   `json:"validUntil,omitempty"`
	CreatedAt       time.Time   `json:"createdAt"`
}

// MaxPromotions a tenant may have: all are read with every order, on the
// tenant item (at most 20 × 100 SKUs of 128 bytes: well inside 400 KB).
const MaxPromotions = 20

// ValidatePromotion names the first bad field.
func ValidatePromotion(p *Promotion) error {
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 {
		return Invalid("name", "name is required, at most 200 characters")
	}
	if p.Kind != KindBuyNGetM {
		return Invalid("kind", "kind is buyNgetM")
	}
	if p.N < 1 || p.N > 100 || p.M < 1 || p.M > 100 {
		return Invalid("n", "n and m are 1 to 100")
	}
	if p.Scope != ScopeReceipt && p.Scope != ScopeAcrossReceipts && p.Scope != ScopeBoth {
		return Invalid("scope", "scope is receipt, acrossReceipts or both")
	}
	if p.DiscountPercent <= 0 || p.DiscountPercent > FullPercent {
		return Invalid("discountPercent", "percent must be above 0, at most 100")
	}
	if len(p.SKUs) == 0 && len(p.Categories) == 0 {
		return Invalid("skus", "name the SKUs or categories the promotion is for")
	}
	if len(p.SKUs)+len(p.Categories) > 100 {
		return Invalid("skus", "at most 100 SKUs and categories")
	}
	for _, s := range p.SKUs {
		if err := ValidateSKU(s); err != nil {
			return err
		}
	}
	for _, c := range p.Categories {
		if !categoryName.MatchString(c) {
			return Invalid("categories", "category names are 1-64 letters, digits, '_', '.' or '-'")
		}
	}
	if p.Group != "" && !categoryName.MatchString(p.Group) {
		return Invalid("group", "group names are 1-64 letters, digits, '_', '.' or '-'")
	}
	if !p.ValidFrom.IsZero() && !p.ValidUntil.IsZero() && !p.ValidUntil.After(p.ValidFrom) {
		return Invalid("validUntil", "validUntil must be after validFrom")
	}
	return nil
}

func (p *Promotion) covers(it Item) bool {
	f := ProductFilter{SKUs: p.SKUs, Categories: p.Categories}
	return f.covers(it)
}

func (p *Promotion) running(now time.Time) bool {
	return (p.ValidFrom.IsZero() || !now.Before(p.ValidFrom)) && (p.ValidUntil.IsZero() || now.Before(p.ValidUntil))
}

func (p *Promotion) stamps() bool { return p.Scope != ScopeReceipt }

// PromotionResult says what one promotion did on an order.
type PromotionResult struct {
	PromotionID string `json:"promotionId"`
	FreeUnits   int    `json:"freeUnits" minimum:"0"`
	Discount    Money  `json:"discount" minimum:"0"`
	// Stamps counted on the member's card by this order, and the card's
	// progress after it (stamp cards only).
	Stamps      int  `json:"stamps,omitempty"`
	StampsAfter *int `json:"stampsAfter,omitempty"`
	// Reason a promotion of the tenant did not apply (another of its group did).
	Reason string `json:"reason,omitempty"`
}

// LineResult says per order line which promotions discounted it.
type LineResult struct {
	Line     int      `json:"line" minimum:"0" doc:"Index of the line in items"`
	SKU      string   `json:"sku"`
	Applied  []string `json:"applied"`
	Discount Money    `json:"discount" minimum:"0"`
}

// promoPlan is what an order's promotions do.
type promoPlan struct {
	results  []PromotionResult
	lines    []LineResult
	discount Money
	// stamps are the units each stamp card counted (to add to the account's
	// progress); groups the combination groups used.
	stamps map[string]int
	groups map[string]string
}

type unit struct {
	line  int
	price Money
}

// units expands lines into units (amount spread over quantity, the
// remainder a minor unit at a time on the first units).
func units(items []Item, eligible func(Item) bool) []unit {
	var out []unit
	for i, it := range items {
		if !eligible(it) || it.Amount <= 0 {
			continue
		}
		q := max(1, it.Quantity)
		base, rest := it.Amount/Money(q), it.Amount%Money(q)
		for u := 0; u < q; u++ {
			price := base
			if Money(u) < rest {
				price++
			}
			out = append(out, unit{line: i, price: price})
		}
	}
	return out
}

// stampRun walks k units over a card at progress p of a cycle of n paid
// then m discounted units, and says how many of the k are discounted, how
// many count on the card and the progress after. sameReceipt: a discount
// the order's own units earn applies in it (scope both); otherwise (scope
// acrossReceipts) a full card waits for the next order and the order's
// further units do not count.
func stampRun(p, k, n, m int, sameReceipt bool) (free, counted, after int) {
	startedFull := p >= n
	for j := 0; j < k; j++ {
		if p >= n {
			if !sameReceipt && !startedFull {
				break // filled in this order: the reward is for the next one
			}
			free++
		}
		counted++
		p++
		if p == n+m {
			p, startedFull = 0, false
		}
	}
	return free, counted, p
}

// planPromotions applies the tenant's promotions to an order, in creation
// order; of a combination group only the first that gives something
// applies. progress is the member's stamp card progress per promotion.
func planPromotions(promos []Promotion, items []Item, progress map[string]int, now time.Time) promoPlan {
	plan := promoPlan{groups: map[string]string{}}
	lineDisc := map[int]Money{}
	lineApplied := map[int][]string{}
	for i := range promos {
		pr := &promos[i]
		if !pr.running(now) {
			continue
		}
		us := units(items, pr.covers)
		if len(us) == 0 {
			continue
		}
		if g := pr.Group; g != "" && plan.groups[g] != "" {
			plan.results = append(plan.results, PromotionResult{PromotionID: pr.ID, Reason: "group " + g + " already applied by " + plan.groups[g]})
			continue
		}
		res := PromotionResult{PromotionID: pr.ID}
		var free int
		switch pr.Scope {
		case ScopeReceipt:
			free = len(us) / (pr.N + pr.M) * pr.M
		default:
			var counted, after int
			free, counted, after = stampRun(progress[pr.ID], len(us), pr.N, pr.M, pr.Scope == ScopeBoth)
			res.Stamps, res.StampsAfter = counted, &after
			if plan.stamps == nil {
				plan.stamps = map[string]int{}
			}
			plan.stamps[pr.ID] = counted
		}
		// The cheapest units are the discounted ones; ties by line order.
		sort.SliceStable(us, func(a, b int) bool { return us[a].price < us[b].price })
		for _, u := range us[:free] {
			d := Money(mulDiv(int64(u.price), int64(pr.DiscountPercent), int64(FullPercent)))
			res.Discount += d
			lineDisc[u.line] += d
			if a := lineApplied[u.line]; len(a) == 0 || a[len(a)-1] != pr.ID {
				lineApplied[u.line] = append(a, pr.ID)
			}
		}
		res.FreeUnits = free
		plan.discount += res.Discount
		if pr.Group != "" && (free > 0 || res.Stamps > 0) {
			plan.groups[pr.Group] = pr.ID
		}
		plan.results = append(plan.results, res)
	}
	for i, it := range items {
		if ids := lineApplied[i]; len(ids) > 0 {
			plan.lines = append(plan.lines, LineResult{Line: i, SKU: it.SKU, Applied: ids, Discount: lineDisc[i]})
		}
	}
	return plan
}

// addStamps moves the account's stamp card progress by counted units
// (negative: a refund's reversal), within each promotion's cycle.
func addStamps(acct *Account, promos []Promotion, delta map[string]int) {
	for id, d := range delta {
		if d == 0 {
			continue
		}
		cycle := 0
		for _, p := range promos {
			if p.ID == id {
				cycle = p.N + p.M
			}
		}
		if acct.Stamps == nil {
			acct.Stamps = map[string]int{}
		}
		next := acct.Stamps[id] + d
		if cycle > 0 {
			next = ((next % cycle) + cycle) % cycle
		}
		if next == 0 {
			delete(acct.Stamps, id)
		} else {
			acct.Stamps[id] = next
		}
		if len(acct.Stamps) == 0 {
			acct.Stamps = nil
		}
	}
}

// PromotionStore keeps a tenant's promotions in one list on the tenant
// item, read with every order's context at no extra cost.
type PromotionStore interface {
	// SavePromotions writes the list conditioned on the version read (0: none yet).
	SavePromotions(ctx context.Context, tenantID string, ps []Promotion, prevVersion int64) error
	ListPromotions(ctx context.Context, tenantID string) ([]Promotion, int64, error)
}

// Promotions manages a tenant's gift promotions.
type Promotions struct{ *Core }

// CreatePromotion adds a promotion to the tenant's list.
func (s *Promotions) CreatePromotion(ctx context.Context, c Caller, p Promotion) (Promotion, error) {
	if err := requireAdmin(c); err != nil {
		return Promotion{}, err
	}
	if p.Kind == "" {
		p.Kind = KindBuyNGetM
	}
	if p.DiscountPercent == 0 {
		p.DiscountPercent = FullPercent
	}
	p.Name = strings.TrimSpace(p.Name)
	if err := ValidatePromotion(&p); err != nil {
		return Promotion{}, err
	}
	ps, ok := s.Store.(PromotionStore)
	if !ok {
		return Promotion{}, errors.New("store does not support promotions")
	}
	var out Promotion
	err := retry(ctx, func() error {
		list, version, err := ps.ListPromotions(ctx, c.TenantID)
		if err != nil {
			return err
		}
		if len(list) >= MaxPromotions {
			return Invalid("promotions", "at most %d promotions", MaxPromotions)
		}
		out = p
		out.ID, out.CreatedAt = NewID("pr_"), s.now()
		return ps.SavePromotions(ctx, c.TenantID, append(list, out), version)
	})
	return out, err
}

// ListPromotions lists the tenant's promotions in creation order.
func (s *Promotions) ListPromotions(ctx context.Context, c Caller) ([]Promotion, error) {
	ps, ok := s.Store.(PromotionStore)
	if !ok {
		return nil, errors.New("store does not support promotions")
	}
	list, _, err := ps.ListPromotions(ctx, c.TenantID)
	return list, err
}

// stampProgress is the card progress promotions start from; a blocked
// card collects no stamps.
func stampProgress(a Account, blocked bool) map[string]int {
	if blocked {
		return nil
	}
	return a.Stamps
}
