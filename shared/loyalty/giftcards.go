package loyalty

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Gift cards are stored value a shop sells for money and takes as payment:
// a card's balance changes only in one conditioned transaction together with
// an entry of the card's own hash-chained ledger (issue, spend, refund,
// expire), exactly as a member's points do. A close spends cards in its own
// transaction; a refund returns to the cards their share of the money
// refunded; the sweep expires what is left on a card past its expiry
// (breakage, recorded as an entry).

// Gift card problem codes.
const (
	CodeGiftCardNotFound     Code = "gift_card_not_found"
	CodeGiftCardExpired      Code = "gift_card_expired"
	CodeGiftCardInsufficient Code = "gift_card_insufficient"
	CodeGiftCardExceedsOrder Code = "gift_card_exceeds_order"
)

// ErrGiftCardNotFound is the read of a card that does not exist.
var ErrGiftCardNotFound = &Error{Code: CodeGiftCardNotFound, Message: "gift card not found"}

// ErrGiftCardNumberTaken is what a store returns when a new card's number
// exists; the service draws another.
var ErrGiftCardNumberTaken = errors.New("gift card number taken")

// Gift card ledger entry kinds.
const (
	GiftIssue  = "issue"
	GiftSpend  = "spend"
	GiftRefund = "refund"
	GiftExpire = "expire" // breakage: what was left when the card expired
)

// Gift card statuses as read.
const (
	GiftCardActive  = "active"
	GiftCardExpired = "expired"
)

// Limits of gift cards.
const (
	// MaxGiftCardAmount bounds a card's value (a million currency units).
	MaxGiftCardAmount Money = 100_000_000
	// MaxOrderGiftCards bounds the cards one order is paid with.
	MaxOrderGiftCards = 5
	// giftCardDigits is the length of a number, check digit included.
	giftCardDigits = 16
)

// GiftCard is a card as stored. Issued, Spent, Refunded and Expired are
// the sums of its ledger by kind, so Balance = Issued − Spent + Refunded −
// Expired holds for every card at every seq.
type GiftCard struct {
	ID        string    `json:"giftCardId"`
	TenantID  string    `json:"-"`
	Number    string    `json:"number"`
	Balance   Money     `json:"balance"`
	Issued    Money     `json:"issued"`
	Spent     Money     `json:"spent"`
	Refunded  Money     `json:"refunded"`
	Expired   Money     `json:"expired"`
	ExpiresAt time.Time `json:"expiresAt,omitempty"`
	Seq       int64     `json:"seq"`
	LastHash  string    `json:"lastHash"`
	CreatedAt time.Time `json:"createdAt"`
}

// StatusAt is the card's status at now: a card past its expiry cannot be spent.
func (g *GiftCard) StatusAt(now time.Time) string {
	if g.ExpiredAt(now) {
		return GiftCardExpired
	}
	return GiftCardActive
}

// expiry is the card's expiry for answers (nil: never).
func (g *GiftCard) expiry() *time.Time {
	if g.ExpiresAt.IsZero() {
		return nil
	}
	t := g.ExpiresAt
	return &t
}

// ExpiredAt tells whether the card has expired by now.
func (g *GiftCard) ExpiredAt(now time.Time) bool {
	return !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt)
}

// GiftCardEntry is one change of a card's balance, chained to the one
// before it by hash.
type GiftCardEntry struct {
	Seq         int64     `json:"seq"`
	Kind        string    `json:"kind" enum:"issue,spend,refund,expire"`
	Amount      Money     `json:"amount" doc:"Signed change of the balance, minor units"`
	Balance     Money     `json:"balance" doc:"Balance after the entry"`
	OrderID     string    `json:"orderId,omitempty"`
	RefundID    string    `json:"refundId,omitempty"`
	KeyID       string    `json:"keyId,omitempty"`
	StaffID     string    `json:"staffId,omitempty"`
	PointOfSale string    `json:"pointOfSaleId,omitempty"`
	At          time.Time `json:"at"`
	PrevHash    string    `json:"prevHash"`
	Hash        string    `json:"hash"`
}

// GiftCardEntryHash is the chain hash of a card's entry.
func GiftCardEntryHash(prev string, e GiftCardEntry) string {
	s := fmt.Sprintf("%s|%d|%s|%d|%d|%s|%s|%s|%s|%s|%s", prev, e.Seq, e.Kind, e.Amount, e.Balance, e.OrderID, e.RefundID,
		e.KeyID, e.StaffID, e.PointOfSale, e.At.UTC().Format(time.RFC3339Nano))
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// VerifyGiftCard recomputes a card's chain and its balance and sums from
// its full ledger (oldest first).
func VerifyGiftCard(g GiftCard, entries []GiftCardEntry) error {
	prev := ""
	var bal, issued, spent, refunded, expired Money
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			return fmt.Errorf("gift card %s entry %d: sequence gap (found seq %d)", g.Number, i+1, e.Seq)
		}
		if e.PrevHash != prev || GiftCardEntryHash(prev, e) != e.Hash {
			return fmt.Errorf("gift card %s entry %d: hash chain broken", g.Number, e.Seq)
		}
		prev = e.Hash
		bal += e.Amount
		if bal < 0 || bal != e.Balance {
			return fmt.Errorf("gift card %s entry %d: balance %d after it, ledger sum %d", g.Number, e.Seq, e.Balance, bal)
		}
		switch e.Kind {
		case GiftIssue:
			issued += e.Amount
		case GiftSpend:
			spent -= e.Amount
		case GiftRefund:
			refunded += e.Amount
		case GiftExpire:
			expired -= e.Amount
		}
	}
	if g.Seq != int64(len(entries)) || g.LastHash != prev {
		return fmt.Errorf("gift card %s: seq %d does not match a ledger of %d entries", g.Number, g.Seq, len(entries))
	}
	if g.Balance != bal || g.Issued != issued || g.Spent != spent || g.Refunded != refunded || g.Expired != expired {
		return fmt.Errorf("gift card %s: balance %d (issued %d spent %d refunded %d expired %d) differs from its ledger %d (%d %d %d %d)",
			g.Number, g.Balance, g.Issued, g.Spent, g.Refunded, g.Expired, bal, issued, spent, refunded, expired)
	}
	return nil
}

// GiftCardWrite is a card changed by an operation: the card as it becomes
// (written conditioned on the seq read; PrevSeq 0: the card must not
// exist) and its new entries.
type GiftCardWrite struct {
	Card    GiftCard
	PrevSeq int64
	Entries []GiftCardEntry
}

// giftCardChange applies entries to a copy of a card, chaining them.
type giftCardChange struct {
	card    GiftCard
	prevSeq int64
	entries []GiftCardEntry
}

func newGiftCardChange(g GiftCard) *giftCardChange {
	return &giftCardChange{card: g, prevSeq: g.Seq}
}

func (c *giftCardChange) record(kind string, amount Money, orderID, refundID string, by Caller, now time.Time) {
	g := &c.card
	g.Balance += amount
	switch kind {
	case GiftIssue:
		g.Issued += amount
	case GiftSpend:
		g.Spent -= amount
	case GiftRefund:
		g.Refunded += amount
	case GiftExpire:
		g.Expired -= amount
	}
	g.Seq++
	e := GiftCardEntry{Seq: g.Seq, Kind: kind, Amount: amount, Balance: g.Balance, OrderID: orderID, RefundID: refundID,
		KeyID: by.KeyID, StaffID: by.StaffID, PointOfSale: by.PointOfSale, At: now, PrevHash: g.LastHash}
	e.Hash = GiftCardEntryHash(e.PrevHash, e)
	g.LastHash = e.Hash
	c.entries = append(c.entries, e)
}

func (c *giftCardChange) write() GiftCardWrite {
	return GiftCardWrite{Card: c.card, PrevSeq: c.prevSeq, Entries: c.entries}
}

// NormalizeGiftCardNumber is the form numbers are stored and matched in:
// digits only (a till may print them in groups).
func NormalizeGiftCardNumber(n string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(n))
}

// ValidGiftCardNumber checks length, digits and the Luhn check digit.
func ValidGiftCardNumber(n string) bool {
	if len(n) != giftCardDigits {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return giftCheckDigit(n[:len(n)-1]) == n[len(n)-1]
}

// giftCheckDigit is the Luhn check digit of a string of digits.
func giftCheckDigit(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// newGiftCardNumber draws a number: 15 random digits (the first not 0) and
// a Luhn check digit, so a mistyped digit is caught at the till.
func newGiftCardNumber() string {
	b := make([]byte, giftCardDigits-1)
	for i := range b {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(10-lo))
		b[i] = byte('0' + lo + n.Int64())
	}
	return string(b) + string(giftCheckDigit(string(b)))
}

// GiftCardSpend is a card a close (or quote) pays with. Amount 0 in a
// quote asks how much the card would cover.
type GiftCardSpend struct {
	Number string
	Amount Money
}

// GiftCardResult says what a card did (close) or would do (quote), or why not.
type GiftCardResult struct {
	Number    string     `json:"number"`
	Applied   bool       `json:"applied"`
	Amount    Money      `json:"amount" minimum:"0" doc:"Spent on the order (close) or what the card would cover (quote)"`
	Balance   Money      `json:"balance" minimum:"0" doc:"Card balance after the close (quote: now)"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Reason    string     `json:"reason,omitempty" doc:"The problem code that keeps the card off the order"`
}

// OrderGiftCard is a card an order was paid with, and how much of it
// refunds gave back.
type OrderGiftCard struct {
	Number   string `json:"number"`
	Amount   Money  `json:"amount" minimum:"0"`
	Returned Money  `json:"returned,omitempty" minimum:"0"`
}

// GiftCardReturn is what a refund gave back to a card.
type GiftCardReturn struct {
	Number   string `json:"number"`
	Returned Money  `json:"returned" minimum:"0"`
	// Expired: the card had expired, so what came back is breakage at once.
	Expired bool  `json:"expired,omitempty"`
	Balance Money `json:"balance" minimum:"0"`
}

// giftPlan is what an order's gift cards do, in the order given.
type giftPlan struct {
	results []GiftCardResult
	applied []OrderGiftCard
	changes []*giftCardChange
	total   Money
	err     error
}

// planGiftCards decides the cards an order is paid with against what is
// left to pay (payable). A quote (spend false) reports each card's reason
// and, for amount 0, how much it would cover; a close refuses on the first
// card that does not apply and charges the others.
func planGiftCards(req []GiftCardSpend, found map[string]GiftCard, payable Money, spend bool, orderID string, by Caller, now time.Time) giftPlan {
	var plan giftPlan
	seen := map[string]bool{}
	if len(req) > MaxOrderGiftCards {
		plan.err = Invalid("giftCards", "at most %d gift cards per order", MaxOrderGiftCards)
		return plan
	}
	for i, r := range req {
		num := NormalizeGiftCardNumber(r.Number)
		res := GiftCardResult{Number: num}
		refuse := func(e *Error) {
			res.Reason = string(e.Code)
			if plan.err == nil {
				plan.err = e
			}
		}
		g, ok := found[num]
		left := payable - plan.total
		switch {
		case seen[num]:
			refuse(Invalid(fmt.Sprintf("giftCards[%d].number", i), "gift card %s is listed twice", num))
		case r.Amount < 0 || (spend && r.Amount == 0):
			refuse(Invalid(fmt.Sprintf("giftCards[%d].amount", i), "the amount must be positive"))
		case !ok:
			refuse(Errorf(CodeGiftCardNotFound, "no gift card %s", maskNumber(num)))
		case g.ExpiredAt(now):
			res.ExpiresAt, res.Balance = g.expiry(), g.Balance
			refuse(Errorf(CodeGiftCardExpired, "gift card %s expired at %s", maskNumber(num), g.ExpiresAt.Format(time.RFC3339)))
		case r.Amount > g.Balance || g.Balance == 0:
			res.ExpiresAt, res.Balance = g.expiry(), g.Balance
			refuse(&Error{Code: CodeGiftCardInsufficient, Message: fmt.Sprintf("gift card %s holds %d, less than %d", maskNumber(num), g.Balance, r.Amount)})
		case r.Amount > left || (r.Amount == 0 && left <= 0):
			res.ExpiresAt, res.Balance = g.expiry(), g.Balance
			refuse(Errorf(CodeGiftCardExceedsOrder, "gift cards would pay %d more than is left to pay (%d)", r.Amount-left, max(0, left)))
		default:
			amt := r.Amount
			if amt == 0 {
				amt = min(g.Balance, left)
			}
			res.Applied, res.Amount, res.ExpiresAt, res.Balance = true, amt, g.expiry(), g.Balance
			plan.total += amt
			plan.applied = append(plan.applied, OrderGiftCard{Number: num, Amount: amt})
			if spend {
				ch := newGiftCardChange(g)
				ch.record(GiftSpend, -amt, orderID, "", by, now)
				plan.changes = append(plan.changes, ch)
				res.Balance = ch.card.Balance
			}
		}
		seen[num] = true
		plan.results = append(plan.results, res)
	}
	return plan
}

// maskNumber shows the last four digits of a card number only (messages
// reach logs).
func maskNumber(n string) string {
	if len(n) <= 4 {
		return n
	}
	return "…" + n[len(n)-4:]
}

// refundGiftCards returns to an order's cards their share of the money
// refunded: each card gets its amount in proportion to the refunds so far
// (cumulative, so the last refund settles rounding). A card that has
// expired takes the value back and loses it at once (breakage).
func refundGiftCards(o *Order, cards map[string]GiftCard, before, after, bound Money, refundID string, by Caller, now time.Time) ([]GiftCardReturn, []*giftCardChange, error) {
	var out []GiftCardReturn
	var changes []*giftCardChange
	for i := range o.GiftCards {
		gc := &o.GiftCards[i]
		due := Money(proportion(Points(gc.Amount), after, bound) - proportion(Points(gc.Amount), before, bound))
		due = min(due, gc.Amount-gc.Returned)
		if due <= 0 {
			continue
		}
		g, ok := cards[gc.Number]
		if !ok {
			return nil, nil, fmt.Errorf("gift card %s of order %s not found", maskNumber(gc.Number), o.ID)
		}
		ch := newGiftCardChange(g)
		ch.record(GiftRefund, due, o.ID, refundID, by, now)
		expired := g.ExpiredAt(now)
		if expired {
			ch.record(GiftExpire, -ch.card.Balance, o.ID, refundID, by, now)
		}
		gc.Returned += due
		changes = append(changes, ch)
		out = append(out, GiftCardReturn{Number: gc.Number, Returned: due, Expired: expired, Balance: ch.card.Balance})
	}
	return out, changes, nil
}

// ExpireGiftCard is the sweep's decision on a card: past its expiry, what
// is left becomes breakage. Run twice, it does nothing the second time.
func ExpireGiftCard(g GiftCard, now time.Time) (GiftCardWrite, Money, bool) {
	if !g.ExpiredAt(now) || g.Balance <= 0 {
		return GiftCardWrite{}, 0, false
	}
	ch := newGiftCardChange(g)
	left := g.Balance
	ch.record(GiftExpire, -left, "", "", Caller{KeyID: "sweep"}, now)
	return ch.write(), left, true
}

// GiftCardStore is what gift cards need from persistence.
type GiftCardStore interface {
	// WriteGiftCards writes cards and their entries in one transaction,
	// each card conditioned on its seq read (absent when new), with the
	// idempotency record when given. A new card whose number exists
	// refuses with ErrGiftCardNumberTaken.
	WriteGiftCards(ctx context.Context, tenantID string, ws []GiftCardWrite, idem *IdemRecord) error
	GetGiftCard(ctx context.Context, tenantID, number string) (*GiftCard, error)
	// GetGiftCards reads cards by number in one batch (unknown ones absent).
	GetGiftCards(ctx context.Context, tenantID string, numbers []string) (map[string]GiftCard, error)
	// GiftCardLedger reads a card's latest entries, oldest first (limit
	// 0: all of them).
	GiftCardLedger(ctx context.Context, tenantID, number string, limit int) ([]GiftCardEntry, error)
}

// GiftCards sells gift cards and reads them.
type GiftCards struct{ *Core }

func (s *Core) giftCards() (GiftCardStore, error) {
	gs, ok := s.Store.(GiftCardStore)
	if !ok {
		return nil, errors.New("store does not support gift cards")
	}
	return gs, nil
}

// IssueRequest sells a card: its value and how long it lasts.
type IssueRequest struct {
	Amount    Money
	ExpiresIn string // ISO 8601 duration; "" never expires
}

// IssuedGiftCard is the answer to an issue.
type IssuedGiftCard struct {
	GiftCardID string     `json:"giftCardId"`
	Number     string     `json:"number"`
	Balance    Money      `json:"balance" minimum:"0"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
}

// IssueGiftCard sells a card for money. Any staff member may: a cashier
// sells gift cards at the till like any other goods (the money is taken by
// the till; the card records the value owed).
func (s *GiftCards) IssueGiftCard(ctx context.Context, c Caller, idem Idem, req IssueRequest) (IssuedGiftCard, bool, error) {
	if req.Amount <= 0 || req.Amount > MaxGiftCardAmount {
		return IssuedGiftCard{}, false, Invalid("amount", "the amount is 1 to %d minor units", MaxGiftCardAmount)
	}
	var lifetime Duration
	if req.ExpiresIn != "" {
		d, err := ParseDuration(req.ExpiresIn)
		if err != nil || d.IsZero() {
			return IssuedGiftCard{}, false, Invalid("expiresIn", "expiresIn is an ISO 8601 duration such as P1Y")
		}
		if ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); d.AddTo(ref).After(ref.AddDate(10, 0, 1)) {
			return IssuedGiftCard{}, false, Invalid("expiresIn", "a gift card lasts at most 10 years")
		}
		lifetime = d
	}
	store, err := s.giftCards()
	if err != nil {
		return IssuedGiftCard{}, false, err
	}
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (IssuedGiftCard, error) {
		now := s.now()
		g := GiftCard{ID: NewID("gc_"), TenantID: c.TenantID, Number: newGiftCardNumber(), CreatedAt: now}
		if !lifetime.IsZero() {
			g.ExpiresAt = lifetime.AddTo(now)
		}
		ch := newGiftCardChange(g)
		ch.record(GiftIssue, req.Amount, "", "", c, now)
		res := IssuedGiftCard{GiftCardID: g.ID, Number: g.Number, Balance: ch.card.Balance, ExpiresAt: g.expiry()}
		rec, err := s.idemRecord(idem, res)
		if err != nil {
			return res, err
		}
		if err := store.WriteGiftCards(ctx, c.TenantID, []GiftCardWrite{ch.write()}, rec); err != nil {
			if errors.Is(err, ErrGiftCardNumberTaken) {
				return res, ErrConflict // draw another number
			}
			return res, err
		}
		return res, nil
	}))
}

// GiftCardView is a card with its status and latest history.
type GiftCardView struct {
	Card    GiftCard
	Status  string
	History []GiftCardEntry
}

// MaxGiftCardHistory bounds the entries a read shows.
const MaxGiftCardHistory = 100

// GetGiftCard reads a card by number with its latest entries.
func (s *GiftCards) GetGiftCard(ctx context.Context, c Caller, number string) (GiftCardView, error) {
	store, err := s.giftCards()
	if err != nil {
		return GiftCardView{}, err
	}
	number = NormalizeGiftCardNumber(number)
	if !ValidGiftCardNumber(number) {
		return GiftCardView{}, ErrGiftCardNotFound
	}
	g, err := store.GetGiftCard(ctx, c.TenantID, number)
	if err != nil {
		return GiftCardView{}, err
	}
	hist, err := store.GiftCardLedger(ctx, c.TenantID, number, MaxGiftCardHistory)
	if err != nil {
		return GiftCardView{}, err
	}
	return GiftCardView{Card: *g, Status: g.StatusAt(s.now()), History: hist}, nil
}

// giftCardNumbers normalises the numbers of a request for the context read.
func giftCardNumbers(req []GiftCardSpend) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range req {
		n := NormalizeGiftCardNumber(r.Number)
		if ValidGiftCardNumber(n) && !seen[n] && len(out) < MaxOrderGiftCards {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// expireGiftCards is the sweep's part on gift cards: each card due is its
// own conditioned write, so a concurrent or repeated sweep does nothing twice.
func (s *Orders) expireGiftCards(ctx context.Context, due []GiftCardKey, now time.Time) (int, Money, error) {
	if len(due) == 0 {
		return 0, 0, nil
	}
	store, err := s.giftCards()
	if err != nil {
		return 0, 0, err
	}
	var cards int
	var total Money
	for _, k := range due {
		var amt Money
		var did bool
		err := retry(ctx, func() error {
			g, err := store.GetGiftCard(ctx, k.TenantID, k.Number)
			if err != nil {
				return err
			}
			var w GiftCardWrite
			w, amt, did = ExpireGiftCard(*g, now)
			if !did {
				return nil
			}
			return store.WriteGiftCards(ctx, k.TenantID, []GiftCardWrite{w}, nil)
		})
		if err != nil && !errors.Is(err, ErrGiftCardNotFound) {
			return cards, total, err
		}
		if err == nil && did {
			cards++
			total += amt
		}
	}
	return cards, total, nil
}

// GiftCardKey names a card the sweep found due.
type GiftCardKey struct{ TenantID, Number string }

// orderGiftCards reads the gift cards an order was paid with.
func (s *Core) orderGiftCards(ctx context.Context, tenantID string, o *Order) (map[string]GiftCard, error) {
	store, err := s.giftCards()
	if err != nil {
		return nil, err
	}
	nums := make([]string, 0, len(o.GiftCards))
	for _, g := range o.GiftCards {
		nums = append(nums, g.Number)
	}
	return store.GetGiftCards(ctx, tenantID, nums)
}
