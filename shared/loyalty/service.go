package loyalty

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"time"
)

// Core is what every capability shares: the store and the clock. Each
// capability runs its operations the same way: read, decide with the pure
// rules, write one conditioned commit, and on a lost race read again and
// retry, boundedly (see idempotent).
type Core struct {
	Store Store
	Now   func() time.Time
}

// Orders runs the hot path: quote, redeem, close, cancel, refund, and the
// sweep that expires, matures and releases.
type Orders struct{ *Core }

// Enrollment sends one-time codes and turns a verified code into a member.
type Enrollment struct {
	*Core
	Sender Sender
	Codes  Codes
	// OTP settings; zero values take the defaults below.
	CodeLength   int
	CodeAttempts int
	CodeTTL      time.Duration
	// SendLimit codes per phone per SendWindow, on each enrollment route.
	SendLimit  int
	SendWindow time.Duration
	// ClassifyPhone tells a number's region and type from the phone-number
	// metadata; without it no code goes by SMS.
	ClassifyPhone func(e164 string) (PhoneInfo, error)
}

// Members is the back office on members: reads, lookups, adjustments,
// blocking, cards, tiers, groups, bulk accrual and import.
type Members struct{ *Core }

// Programs manages the tenant's loyalty programs.
type Programs struct{ *Core }

// Tenancy manages tenants, keys, points of sale, staff, usage and the audit
// trail, and authenticates API keys.
type Tenancy struct{ *Core }

// Service is every capability over one store and clock: what the wiring
// builds. Handlers depend on the capabilities they use, each a small
// interface in shared/api.
type Service struct {
	*Orders
	*Enrollment
	*Members
	*Programs
	*Tenancy
	*Catalog
	*Coupons
	*Promotions
	*Referrals
	*GiftCards
	*Cards
}

// NewService builds every capability over store and the clock now (nil:
// the system clock). Enrollment's sender, codes and phone classifier are set
// on the result.
func NewService(store Store, now func() time.Time) *Service {
	c := &Core{Store: store, Now: now}
	return &Service{Orders: &Orders{c}, Enrollment: &Enrollment{Core: c}, Members: &Members{c}, Programs: &Programs{c}, Tenancy: &Tenancy{c}, Catalog: &Catalog{c}, Coupons: &Coupons{c}, Promotions: &Promotions{c}, Referrals: &Referrals{c}, GiftCards: &GiftCards{c}, Cards: &Cards{c}}
}

// Defaults, as in the seeds: a 4-digit code, 5 tries, valid 10 minutes.
const (
	DefaultCodeLength   = 4
	DefaultCodeAttempts = 5
	DefaultCodeTTL      = 10 * time.Minute
	DefaultSendLimit    = 3
	DefaultSendWindow   = 10 * time.Minute
	// maxAttempts bounds the retries of one operation on write conflicts.
	maxAttempts = 8
	// IdemTTL is how long idempotency records are kept.
	IdemTTL = 7 * 24 * time.Hour
)

func (s *Core) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Idem is the idempotency part of a request: the client's key and a hash of
// what was asked (method, path and body). Scope keeps keys the service makes
// for itself (bulk accrual: one per batch and member) apart from the keys
// clients send, so a client can never collide with them; "" is the clients'.
type Idem struct {
	Key   string
	Hash  string
	Scope string
}

// Scopes of keys the service makes for itself.
const ScopeBulk = "bulk"

// replay answers from a stored record, or refuses a key reused for another request.
func replay[T any](rec *IdemRecord, idem Idem) (T, error) {
	var out T
	if rec.RequestHash != idem.Hash {
		return out, ErrIdempotencyReused
	}
	if err := json.Unmarshal(rec.Response, &out); err != nil {
		return out, err
	}
	return out, nil
}

// lookupIdem reads the record a key committed, if any (nil without a key).
func (s *Core) lookupIdem(ctx context.Context, tenantID string, idem Idem) (*IdemRecord, error) {
	if idem.Key == "" {
		return nil, nil
	}
	return s.Store.GetIdem(ctx, tenantID, idem)
}

// attempt is one try of an idempotent operation: it reads what it needs,
// decides and commits its writes together with the record sealed from its
// result (see Core.idemRecord). When its reads find the key's record
// already committed it returns that record as prior and writes nothing.
type attempt[T any] func() (res T, prior *IdemRecord, err error)

// lookingUp makes an attempt of an operation whose reads do not include the
// key's record: it reads the record first and runs do only when there is none.
func lookingUp[T any](ctx context.Context, s *Core, tenantID string, idem Idem, do func() (T, error)) attempt[T] {
	return func() (res T, prior *IdemRecord, err error) {
		if prior, err = s.lookupIdem(ctx, tenantID, idem); err != nil || prior != nil {
			return res, prior, err
		}
		res, err = do()
		return res, nil, err
	}
}

// idempotent is the one way an operation with an Idempotency-Key runs: look
// up the key (inside the attempt, often in the same round trip as the
// operation's other reads), compare the request hash, decide, commit in one
// transaction with the record, retry on a lost race, and answer a replay
// with the committed response.
//
// A duplicate racing the original is the hard case: it may read before the
// original commits (no record yet) and decide after (the balance already
// spent), so it would refuse with insufficient_points, order_closed or a
// conflict although the original succeeded, and a till told not to retry a
// 4xx would believe the redeem failed while the points stay held. So every
// refusal of a request with a key re-reads the record (strongly consistent)
// before answering: a request whose key was committed always gets the
// committed answer.
func idempotent[T any](ctx context.Context, s *Core, tenantID string, idem Idem, try attempt[T]) (out T, replayed bool, err error) {
	err = retry(ctx, func() error {
		res, prior, err := try()
		if prior != nil {
			out, err = replay[T](prior, idem)
			replayed = err == nil
			return err
		}
		if err == nil {
			out = res
		}
		return err
	})
	if err == nil || idem.Key == "" || errors.Is(err, ErrIdempotencyReused) || CodeOf(err) == CodeForbidden {
		// A caller refused for who it is never reads another's answer.
		return out, replayed, err
	}
	rec, lookErr := s.lookupIdem(ctx, tenantID, idem)
	if lookErr != nil || rec == nil {
		return out, false, err // nothing committed under this key: the refusal stands
	}
	out, err = replay[T](rec, idem)
	return out, err == nil, err
}

func (s *Core) idemRecord(idem Idem, result any) (*IdemRecord, error) {
	if idem.Key == "" {
		return nil, nil
	}
	body, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	return &IdemRecord{Key: idem.Key, Scope: idem.Scope, RequestHash: idem.Hash, Status: 200, Response: body, CreatedAt: s.now()}, nil
}

// backoff sleeps a little before a retry, more after each conflict, jittered so
// that racing writers spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	d += time.Duration(rand.Int64N(int64(d) + 1))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// retry runs one attempt of an operation until it stops losing races. An
// attempt returns ErrConflict to be run again and ErrIdempotencyRace when a
// duplicate of the same request committed first (the next attempt finds its
// record and answers with it).
func retry(ctx context.Context, attempt func() error) error {
	for i := 0; ; i++ {
		err := attempt()
		if err == nil || !(errors.Is(err, ErrConflict) || errors.Is(err, ErrIdempotencyRace)) {
			return err
		}
		if i+1 >= maxAttempts {
			return ErrConflict
		}
		if err := backoff(ctx, i); err != nil {
			return err
		}
	}
}

// orderDecision is the pure part of an order operation.
type orderDecision[T any] func(oc *OrderContext, st MemberState, now time.Time) (*Draft, *Order, T, error)

// orderOp runs an order operation: three round trips at most (the context
// read, which also finds the key's record, the member read, the commit), plus
// retries on conflicts.
//
// reads names what the order's lines and coupons add to the context read
// (SKUs, coupon codes); the rest of the query is filled in here.
func orderOp[T any](ctx context.Context, s *Core, c Caller, kind string, idem Idem, orderID string, ref *MemberRef, reads OrderQuery, decide orderDecision[T]) (T, bool, error) {
	return idempotent(ctx, s, c.TenantID, idem, func() (out T, prior *IdemRecord, err error) {
		q := reads
		q.TenantID, q.OrderID, q.IdemKey, q.Member = c.TenantID, orderID, idem.Key, ref
		oc, err := s.Store.LoadOrderContext(ctx, q)
		if err != nil {
			return out, nil, err
		}
		if err := c.mayTouch(oc.Order); err != nil {
			return out, nil, err
		}
		if oc.Idem != nil {
			return out, oc.Idem, nil
		}
		memberID := oc.MemberID
		if ref == nil {
			if oc.Order == nil {
				return out, nil, ErrOrderNotFound
			}
			memberID = oc.Order.MemberID
		}
		if memberID == "" {
			return out, nil, ErrMemberNotFound
		}
		st, err := s.Store.LoadMember(ctx, c.TenantID, memberID)
		if err != nil {
			return out, nil, err
		}
		now := s.now()
		draft, order, res, err := decide(oc, *st, now)
		if err != nil {
			return out, nil, err
		}
		commit := draft.Commit(c.TenantID)
		if order != nil && (oc.Order == nil || !reflect.DeepEqual(*order, *oc.Order)) {
			var prev int64
			if oc.Order != nil {
				prev = oc.Order.Version
			} else {
				order.PointOfSale = c.PointOfSale // the order belongs where it was opened
			}
			o := *order
			o.TenantID, o.Version = c.TenantID, prev+1
			commit.Order = &OrderWrite{Order: o, PrevVersion: prev}
		}
		if commit.Idem, err = s.idemRecord(idem, res); err != nil {
			return out, nil, err
		}
		commit.Meter = MeterFor(oc.Tenant, kind, now)
		if err := s.Store.Commit(ctx, commit); err != nil {
			return out, nil, err
		}
		return res, nil, nil
	})
}

func currentProgram(oc *OrderContext) *Program {
	if oc.Tenant == nil {
		return nil
	}
	return oc.Tenant.CurrentProgram
}

// RedeemPoints holds points on an open order.
func (s *Orders) RedeemPoints(ctx context.Context, c Caller, idem Idem, ref MemberRef, req RedeemRequest) (RedeemResult, bool, error) {
	return orderOp(ctx, s.Core, c, UseRedeem, idem, req.OrderID, &ref, OrderQuery{SKUs: orderSKUs(req.Items)}, func(oc *OrderContext, st MemberState, now time.Time) (*Draft, *Order, RedeemResult, error) {
		req := req
		req.Items = withCatalog(req.Items, oc.Products)
		return Redeem(currentProgram(oc), st, oc.Order, req, now, c)
	})
}

// CloseOrder captures the hold and accrues cashback.
func (s *Orders) CloseOrder(ctx context.Context, c Caller, idem Idem, ref MemberRef, req CloseRequest) (CloseResult, bool, error) {
	return orderOp(ctx, s.Core, c, UseClose, idem, req.OrderID, &ref, OrderQuery{SKUs: orderSKUs(req.Items), Coupons: couponCodes(req.Coupons), GiftCards: giftCardNumbers(req.GiftCards)}, func(oc *OrderContext, st MemberState, now time.Time) (*Draft, *Order, CloseResult, error) {
		req := req
		req.Items = withCatalog(req.Items, oc.Products)
		req.found, req.promotions, req.cards = oc.Coupons, oc.Promotions, oc.GiftCards
		d, o, res, err := Close(currentProgram(oc), st, oc.Order, req, now, c)
		if err == nil {
			qualifyReferral(d, o)
		}
		return d, o, res, err
	})
}

// CancelOrder releases the hold of an open order.
func (s *Orders) CancelOrder(ctx context.Context, c Caller, idem Idem, orderID string) (CancelResult, bool, error) {
	return orderOp(ctx, s.Core, c, UseCancel, idem, orderID, nil, OrderQuery{}, func(oc *OrderContext, st MemberState, now time.Time) (*Draft, *Order, CancelResult, error) {
		return Cancel(st, oc.Order, now, c)
	})
}

// RefundOrder applies a refund to a closed order.
func (s *Orders) RefundOrder(ctx context.Context, c Caller, idem Idem, orderID string, req RefundRequest) (RefundResult, bool, error) {
	return orderOp(ctx, s.Core, c, UseRefund, idem, orderID, nil, OrderQuery{}, func(oc *OrderContext, st MemberState, now time.Time) (*Draft, *Order, RefundResult, error) {
		req := req
		req.promotions = oc.Promotions
		if oc.Order != nil && len(oc.Order.GiftCards) > 0 {
			// Only an order paid with gift cards reads them: one more
			// round trip, for those orders alone.
			var err error
			if req.cards, err = s.orderGiftCards(ctx, c.TenantID, oc.Order); err != nil {
				return nil, nil, RefundResult{}, err
			}
		}
		return Refund(currentProgram(oc), st, oc.Order, req, now, c)
	})
}

// QuoteRequest asks what an order could use and earn.
type QuoteRequest struct {
	OrderID string
	Total   Money
	Items   []Item
	Coupons []string
	// GiftCards: what each would cover (amount 0: as much as it can).
	GiftCards []GiftCardSpend
}

// Accrual quote of an order.
type AccrualPreview struct {
	IfNoPoints  Points `json:"ifNoPoints" minimum:"0"`
	IfMaxPoints Points `json:"ifMaxPoints" minimum:"0"`
}

// QuoteResult is what the cashier shows before the customer decides.
type QuoteResult struct {
	Balance          Balance        `json:"balance"`
	MaxRedeemable    Points         `json:"maxRedeemable" minimum:"0"`
	MaxRedeemPercent string         `json:"maxRedeemPercent"`
	Accrual          AccrualPreview `json:"accrual"`
	Tier             string         `json:"tier,omitempty"`
	DiscountPercent  string         `json:"discountPercent,omitempty"`
	Discount         Money          `json:"discount,omitempty" minimum:"0"`
	// Coupons say what each coupon would do (nothing is consumed), or why
	// it would not apply; CouponDiscount is their money off the total.
	Coupons        []CouponResult `json:"coupons,omitempty"`
	CouponDiscount Money          `json:"couponDiscount,omitempty" minimum:"0"`
	// Promotions, Items and PromotionDiscount as the close would give them.
	Promotions        []PromotionResult `json:"promotions,omitempty"`
	Items             []LineResult      `json:"items,omitempty"`
	PromotionDiscount Money             `json:"promotionDiscount,omitempty" minimum:"0"`
	// GiftCards say what each card would cover of what is left after
	// discounts and the most points (nothing is spent), or why not.
	GiftCards []GiftCardResult `json:"giftCards,omitempty"`
}

// Quote reads and computes; it writes nothing.
func (s *Orders) Quote(ctx context.Context, c Caller, ref MemberRef, req QuoteRequest) (QuoteResult, error) {
	oc, err := s.Store.LoadOrderContext(ctx, OrderQuery{TenantID: c.TenantID, OrderID: req.OrderID, Member: &ref, SKUs: orderSKUs(req.Items), Coupons: couponCodes(req.Coupons), GiftCards: giftCardNumbers(req.GiftCards)})
	if err != nil {
		return QuoteResult{}, err
	}
	req.Items = withCatalog(req.Items, oc.Products)
	if err := c.mayTouch(oc.Order); err != nil {
		return QuoteResult{}, err
	}
	if oc.MemberID == "" {
		return QuoteResult{}, ErrMemberNotFound
	}
	st, err := s.Store.LoadMember(ctx, c.TenantID, oc.MemberID)
	if err != nil {
		return QuoteResult{}, err
	}
	p := currentProgram(oc)
	if err := requireSpendingProgram(p); err != nil {
		return QuoteResult{}, err
	}
	acct := st.Account
	if err := checkOrderMember(oc.Order, acct.MemberID); err != nil {
		return QuoteResult{}, err
	}
	now := s.now()
	tier := memberTier(p, *st, now)
	available := acct.Available
	if oc.Order != nil && oc.Order.State == OrderOpen {
		available += oc.Order.Held // the order's own hold may be re-planned
	}
	uses, err := s.memberCouponUses(ctx, c.TenantID, acct.MemberID, oc.Coupons)
	if err != nil {
		return QuoteResult{}, err
	}
	blocked := acct.Status == MemberBlocked
	promos := planPromotions(oc.Promotions, req.Items, stampProgress(acct, blocked), now)
	promos.discount = min(promos.discount, req.Total)
	coupons := planCoupons(p, req.Coupons, oc.Coupons, acct.MemberID, blocked, req.Total-promos.discount, uses, promos.groups, req.Items, now)
	net := req.Total - promos.discount - coupons.discount
	maxPts := max(0, min(RedeemLimitFor(p, tier, net, req.Items), available))
	if acct.Status == MemberBlocked {
		maxPts = 0
	}
	res := QuoteResult{Balance: acct.Balance(), MaxRedeemable: maxPts, MaxRedeemPercent: maxShare(p, tier, "").String(),
		Coupons: coupons.results, CouponDiscount: coupons.discount,
		Promotions: promos.results, Items: promos.lines, PromotionDiscount: promos.discount}
	res.Accrual.IfNoPoints = AccrualFor(p, tier, net, req.Items, now) + coupons.points
	res.Accrual.IfMaxPoints = AccrualFor(p, tier, max(0, net-PointsToMoney(maxPts, p.Value())), req.Items, now) + coupons.points
	if tier != nil {
		res.Tier = tier.Name
	}
	planProgramDiscount(p, tier, req.Total, net, req.Items, promos.lines, now).report(&res.DiscountPercent, &res.Discount, &res.Items)
	if len(req.GiftCards) > 0 {
		payable := max(0, net-PointsToMoney(maxPts, p.Value()))
		res.GiftCards = planGiftCards(req.GiftCards, oc.GiftCards, payable, false, req.OrderID, c, now).results
	}
	return res, nil
}

// Sweep expires due lots, matures pending ones and releases stale holds.
// tenantID limits it to one tenant (the admin route); "" sweeps all and
// advances the sweep's cursor. Each member and order is its own conditioned
// commit, so a concurrent or repeated sweep does nothing twice.
func (s *Orders) Sweep(ctx context.Context, tenantID string) (SweepResult, error) {
	var total SweepResult
	now := s.now()
	due, err := s.Store.DueWork(ctx, now, tenantID)
	if err != nil {
		return total, err
	}
	for _, ok := range due.Orders {
		var res SweepResult
		err := retry(ctx, func() error {
			res = SweepResult{}
			order, err := s.Store.GetOrder(ctx, ok.TenantID, ok.OrderID)
			if err != nil {
				return err
			}
			st, err := s.Store.LoadMember(ctx, ok.TenantID, order.MemberID)
			if err != nil {
				return err
			}
			d, o := ReleaseStaleHold(*st, order, now)
			if !d.Changed() {
				return nil
			}
			c := d.Commit(ok.TenantID)
			o.TenantID, o.Version = ok.TenantID, order.Version+1
			c.Order = &OrderWrite{Order: *o, PrevVersion: order.Version}
			res.ReleasedHolds = 1
			return s.Store.Commit(ctx, c)
		})
		if err != nil && !errors.Is(err, ErrOrderNotFound) && !errors.Is(err, ErrMemberNotFound) {
			return total, err
		}
		if err == nil {
			total.Add(res)
		}
	}
	for _, mk := range due.Members {
		var res SweepResult
		err := retry(ctx, func() error {
			st, err := s.Store.LoadMember(ctx, mk.TenantID, mk.MemberID)
			if err != nil {
				return err
			}
			var d *Draft
			d, res = SweepMember(*st, now)
			if !d.Changed() {
				return nil
			}
			return s.Store.Commit(ctx, d.Commit(mk.TenantID))
		})
		if err != nil && !errors.Is(err, ErrMemberNotFound) {
			return total, err
		}
		if err == nil {
			total.Add(res)
		}
	}
	bdays, err := s.Store.BirthdaysDue(ctx, now, tenantID)
	if err != nil {
		return total, err
	}
	n, err := s.creditBirthdays(ctx, now, bdays)
	total.BirthdayBonuses += n
	if err != nil {
		return total, err
	}
	n, amt, err := s.expireGiftCards(ctx, due.GiftCards, now)
	total.ExpiredGiftCards += n
	total.GiftCardBreakage += amt
	if err != nil {
		return total, err
	}
	if tenantID == "" {
		if err := s.Store.AdvanceSweep(ctx, now, due.Through); err != nil {
			return total, err
		}
		if err := s.Store.AdvanceBirthdays(ctx, now); err != nil {
			return total, err
		}
	}
	return total, nil
}
