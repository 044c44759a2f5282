package loyalty

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Draft is an in-memory copy of a member's state that an operation changes
// step by step; every step appends a ledger entry whose deltas are applied to
// the copy. Commit then turns the draft into one conditioned write. Nothing in
// a draft touches storage, so all rules stay pure and testable.
type Draft struct {
	now     time.Time
	by      Caller
	baseSeq int64
	isNew   bool
	acct    Account
	lots    map[string]*Lot
	prevRem map[string]Points // lot id → remaining when read, for lots changed; absent for new lots
	newLots map[string]bool
	entries []Entry
	// lotCounter keeps ids of lots created before the same entry distinct.
	lotCounter int
	stats      Stats
	// statsChanged and acctChanged mark writes without a ledger entry
	// (activity counters and tier changes).
	statsChanged, acctChanged bool
	cardChange                *CardChange
	layout                    MemberLayout
	// couponUses are coupon counters the operation changes (see CouponUse).
	couponUses []CouponUse
	// giftCards are gift cards the operation spends or refunds to.
	giftCards []*giftCardChange
}

// NewDraft starts a draft over a member's state as read.
func NewDraft(st MemberState, now time.Time, by Caller) *Draft {
	d := &Draft{
		now: now, by: by, baseSeq: st.Account.Seq, acct: st.Account,
		lots: map[string]*Lot{}, prevRem: map[string]Points{}, newLots: map[string]bool{},
		layout: st.Layout,
	}
	for _, l := range st.Lots {
		l := l
		d.lots[l.ID] = &l
	}
	d.stats = cloneStats(st.Stats)
	return d
}

func cloneStats(s Stats) Stats {
	out := Stats{Version: s.Version, Groups: append([]string(nil), s.Groups...)}
	if s.Days != nil {
		out.Days = make(map[string]Bucket, len(s.Days))
		for k, b := range s.Days {
			if b.Categories != nil {
				c := make(map[string]Money, len(b.Categories))
				for cat, m := range b.Categories {
					c[cat] = m
				}
				b.Categories = c
			}
			out.Days[k] = b
		}
	}
	return out
}

// recordActivity counts an order towards tiers and refreshes the member's
// tier schedule.
func (d *Draft) recordActivity(p *Program, spend Money, visits int, cats map[string]Money) {
	d.stats.Record(p, d.now, spend, visits, cats)
	d.statsChanged = true
	d.refreshTier(p)
}

// unspend takes a refund off the counted spend.
func (d *Draft) unspend(p *Program, day int64, amount Money) {
	d.stats.Unspend(day, amount)
	d.statsChanged = true
	d.refreshTier(p)
}

func (d *Draft) refreshTier(p *Program) {
	if len(p.Tiers) == 0 && len(d.acct.TierSchedule) == 0 {
		return
	}
	sched := TierSchedule(p, &d.stats, d.now)
	tier := ""
	if len(sched) > 0 {
		tier = sched[0].Tier
	}
	if tier != d.acct.Tier || len(sched) != len(d.acct.TierSchedule) || (len(sched) > 0 && !sched[0].Until.Equal(d.acct.TierSchedule[0].Until)) {
		d.acct.Tier, d.acct.TierSchedule = tier, sched
		d.acctChanged = true
	}
}

// newMemberDraft starts a draft for an account that does not exist yet.
func newMemberDraft(acct Account, now time.Time, by Caller) *Draft {
	d := NewDraft(MemberState{Account: acct}, now, by)
	d.isNew = true
	return d
}

// Account returns the draft's current account state.
func (d *Draft) Account() Account { return d.acct }

// Changed reports whether the draft has anything to write.
func (d *Draft) Changed() bool {
	return len(d.entries) > 0 || d.statsChanged || d.acctChanged || len(d.giftCards) > 0
}

// nextSeq is the sequence number the next entry will get.
func (d *Draft) nextSeq() int64 { return d.baseSeq + int64(len(d.entries)) + 1 }

func (d *Draft) touch(id string) *Lot {
	l := d.lots[id]
	if _, seen := d.prevRem[id]; !seen && !d.newLots[id] {
		d.prevRem[id] = l.Remaining
	}
	return l
}

// spendOrder sorts spendable lots: soonest expiry first, lots that never
// expire last, older lots first among equals.
func (d *Draft) spendOrder(filter func(*Lot) bool) []*Lot {
	var out []*Lot
	for _, l := range d.lots {
		if l.Remaining > 0 && filter(l) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Expires() != b.Expires() {
			return a.Expires()
		}
		if !a.ExpiresAt.Equal(b.ExpiresAt) {
			return a.ExpiresAt.Before(b.ExpiresAt)
		}
		return a.ID < b.ID
	})
	return out
}

// takeAvailable removes up to amount from available lots, soonest-expiring
// first (skipping one lot id), and returns what it took.
func (d *Draft) takeAvailable(amount Points, skip string) ([]LotTake, Points) {
	var taken []LotTake
	var got Points
	for _, l := range d.spendOrder(func(l *Lot) bool { return !l.Pending && l.ID != skip }) {
		if got == amount {
			break
		}
		n := min(l.Remaining, amount-got)
		d.touch(l.ID).Remaining -= n
		taken = append(taken, LotTake{Lot: l.ID, Points: n, ExpiresAt: l.ExpiresAt})
		got += n
	}
	return taken, got
}

// takeFrom removes up to n points from one lot.
func (d *Draft) takeFrom(l *Lot, n Points) Points {
	n = min(n, l.Remaining)
	d.touch(l.ID).Remaining -= n
	return n
}

// give puts points back: into the lot they came from while it still has
// points, or else into a new lot with the same expiry (an emptied lot is
// removed). It returns the lot credited and whether it is pending.
func (d *Draft) give(t LotTake, n Points) (string, bool) {
	if l, ok := d.lots[t.Lot]; ok {
		d.touch(l.ID).Remaining += n
		return l.ID, l.Pending
	}
	l := d.addLot(n, time.Time{}, t.ExpiresAt, "")
	return l.ID, false
}

// addLot creates a lot numbered after the entry that will create it.
func (d *Draft) addLot(points Points, pendingUntil, expiresAt time.Time, orderID string) *Lot {
	d.lotCounter++
	id := fmt.Sprintf("%012d-%d", d.nextSeq(), d.lotCounter)
	l := &Lot{ID: id, Original: points, Remaining: points, AvailableFrom: d.now, ExpiresAt: expiresAt, OrderID: orderID, CreatedAt: d.now}
	if pendingUntil.After(d.now) {
		l.Pending = true
		l.AvailableFrom = pendingUntil
	}
	d.lots[id] = l
	d.newLots[id] = true
	return l
}

// recordStamps moves the stamp cards and puts the change in the ledger: on
// the operation's last entry for the order when there is one, else on an
// entry of kind (no points change).
func (d *Draft) recordStamps(promos []Promotion, delta map[string]int, kind EntryKind, orderID, refundID string) {
	nonzero := map[string]int{}
	for id, n := range delta {
		if n != 0 {
			nonzero[id] = n
		}
	}
	if len(nonzero) == 0 {
		return
	}
	addStamps(&d.acct, promos, nonzero)
	d.acctChanged = true
	if n := len(d.entries); n > 0 && d.entries[n-1].OrderID == orderID {
		d.entries[n-1].Stamps = nonzero
		return
	}
	d.record(Entry{Kind: kind, OrderID: orderID, RefundID: refundID, Stamps: nonzero})
}

// record appends an entry and applies its deltas to the account copy.
func (d *Draft) record(e Entry) {
	e.Seq = d.nextSeq()
	e.At = d.now
	e.KeyID, e.StaffID, e.PointOfSale = d.by.KeyID, d.by.StaffID, d.by.PointOfSale
	e.Amount = e.Available + e.Pending
	d.acct.Available += e.Available
	d.acct.Pending += e.Pending
	d.acct.Held += e.Held
	after := d.acct.Balance()
	e.After = &after
	e.Expiring = d.expiring(e.Lots)
	d.entries = append(d.entries, e)
}

// NeverExpires is the expiry month of points whose lots do not expire.
const NeverExpires = "never"

// ExpiryMonth is the month (UTC, 2006-01) a lot's points expire in, or
// NeverExpires.
func ExpiryMonth(expiresAt time.Time) string {
	if expiresAt.IsZero() {
		return NeverExpires
	}
	return expiresAt.UTC().Format("2006-01")
}

// expiring sums an entry's lot changes per expiry month, counting only lots
// that are available (not pending) once the entry applies: a maturing lot
// counts whole, a pending lot not at all, so the sum is the entry's change
// of available points.
func (d *Draft) expiring(lots map[string]Points) map[string]Points {
	var out map[string]Points
	for id, n := range lots {
		l := d.lots[id]
		if l == nil || l.Pending || n == 0 {
			continue
		}
		if out == nil {
			out = map[string]Points{}
		}
		out[ExpiryMonth(l.ExpiresAt)] += n
	}
	for m, n := range out {
		if n == 0 {
			delete(out, m)
		}
	}
	return out
}

// LotWrite is a lot to write: a new one, or a change conditioned on the
// remaining points read. A lot left without points is deleted (Delete), so
// reading a member's live lots stays small however long their history; the
// ledger keeps the record.
type LotWrite struct {
	Lot           Lot
	New           bool
	Delete        bool
	PrevRemaining Points
}

// Commit is one atomic change of a member's balance with everything that
// goes with it. A store writes it as a single transaction whose conditions
// (account seq, lot remaining, order version, absent idempotency record)
// make a concurrent or repeated attempt fail instead of applying twice.
type Commit struct {
	TenantID   string
	MemberID   string
	At         time.Time
	NewAccount bool  // account must not exist yet
	PrevSeq    int64 // account seq read; the write requires it unchanged
	Account    *Account
	// AccountChanged: write the account even without an entry (tier change).
	AccountChanged bool
	// Stats, when set, are written conditioned on the version read.
	Stats *Stats
	// Entries are the new ledger entries; Lots the lots changed.
	Entries []Entry
	Lots    []LotWrite
	// LiveLots are all the member's lots with points after the change and
	// AllStats the counters after it, changed or not: a store that keeps
	// them inside the account item rewrites them from these.
	LiveLots []Lot
	AllStats Stats
	// Layout is the store's layout as read (see MemberLayout).
	Layout     MemberLayout
	Order      *OrderWrite
	Idem       *IdemRecord
	Enrollment *EnrollmentWrite
	// Meter counts the operation for billing, within the plan's cap.
	Meter *Meter
	// Audit records an administrative action with the change.
	Audit *AuditEntry
	// CardChange moves the card claim to a new number.
	CardChange *CardChange
	// Coupons are coupon counters changed with the order (only when an
	// order closes with coupons, or a full refund gives one back).
	Coupons []CouponUse
	// ReferralCode, when set, is claimed for the member (the claim must be
	// new: ErrReferralCodeTaken otherwise).
	ReferralCode string
	// Referral is a referral reward's record and the referrer's counter.
	Referral *ReferralWrite
	// Birthday is a birthday credit's record for the year.
	Birthday *BirthdayWrite
	// IndexBirthday (re)writes the member's birthday index item from the
	// account's birth date (an enrollment always does).
	IndexBirthday bool
	// GiftCards are gift cards changed with the order, each with its own
	// ledger entries (see giftcards.go).
	GiftCards []GiftCardWrite
	// SegmentIndex adds or removes the member's entries in the campaigns'
	// segment indexes (a group joined or left), written with the change.
	SegmentIndex []SegmentIndexChange
}

// SegmentIndexChange is one entry of a segment index: the member has
// (or, with Remove, no longer has) the value of an indexed attribute.
type SegmentIndexChange struct {
	Name, Value string
	Remove      bool
}

// SegmentGroup is the segment index of customer groups.
const SegmentGroup = "group"

// OrderWrite is an order to write, conditioned on the version read
// (PrevVersion 0: the order must not exist yet).
type OrderWrite struct {
	Order       Order
	PrevVersion int64
}

// EnrollmentWrite carries what only an enrollment writes: the challenge
// marked used and the uniqueness claims on phone and card.
type EnrollmentWrite struct {
	ChallengeID      string
	ChallengeAttempt int // attempts left when read
	Phone            string
	Card             string
	// CardFromPool binds the imported card Card in the same transaction.
	CardFromPool bool
	// LockType, set on a tenant's first card, fixes its program type,
	// conditioned on the current program being ProgramID.
	LockType  string
	ProgramID string
	// MemberLimit caps the tenant's members (0: none).
	MemberLimit int64
	// Referred: the member joins by a referral, which the phone must never
	// have had a membership before for (ErrReferralPhoneUsed).
	Referred bool
}

// Commit turns the draft into a Commit. Entries are numbered and hash-chained
// after the account's last entry.
func (d *Draft) Commit(tenantID string) *Commit {
	acct := d.acct
	prev := acct.LastHash
	entries := make([]Entry, len(d.entries))
	for i, e := range d.entries {
		e.PrevHash = prev
		e.Hash = EntryHash(prev, e)
		prev = e.Hash
		entries[i] = e
	}
	acct.Seq = d.baseSeq + int64(len(entries))
	acct.LastHash = prev
	c := &Commit{
		TenantID: tenantID, MemberID: acct.MemberID, At: d.now,
		NewAccount: d.isNew, PrevSeq: d.baseSeq, Account: &acct, Entries: entries, AccountChanged: d.acctChanged,
	}
	if d.statsChanged {
		st := d.stats
		c.Stats = &st
	}
	c.CardChange = d.cardChange
	c.Coupons = d.couponUses
	for _, g := range d.giftCards {
		c.GiftCards = append(c.GiftCards, g.write())
	}
	c.AllStats, c.Layout = d.stats, d.layout
	ids := make([]string, 0, len(d.lots))
	for id := range d.lots {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		l := *d.lots[id]
		if l.Remaining > 0 {
			c.LiveLots = append(c.LiveLots, l)
		}
		switch prev, touched := d.prevRem[id]; {
		case d.newLots[id] && l.Remaining > 0:
			c.Lots = append(c.Lots, LotWrite{Lot: l, New: true})
		case d.newLots[id]:
			// Created and emptied within one operation: nothing to store.
		case touched && l.Remaining == 0:
			c.Lots = append(c.Lots, LotWrite{Lot: l, Delete: true, PrevRemaining: prev})
		case touched:
			c.Lots = append(c.Lots, LotWrite{Lot: l, PrevRemaining: prev})
		}
	}
	return c
}

// EntryHash is the chain hash of an entry: SHA-256 over the previous hash and
// every field that states what happened, in a fixed order.
func EntryHash(prev string, e Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%d|%s|%d|%d|%d|%d|%s|%s|%s|%s|%s|%s|%s|", prev, e.Seq, e.Kind, e.Amount,
		e.Available, e.Pending, e.Held, e.OrderID, e.RefundID, e.Note, e.KeyID, e.StaffID, e.PointOfSale, e.At.UTC().Format(time.RFC3339Nano))
	ids := make([]string, 0, len(e.Lots))
	for id := range e.Lots {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "%s=%d,", id, e.Lots[id])
	}
	if len(e.Stamps) > 0 {
		// Only entries with stamps hash them: older entries keep their hash.
		promos := make([]string, 0, len(e.Stamps))
		for id := range e.Stamps {
			promos = append(promos, id)
		}
		sort.Strings(promos)
		b.WriteString("|stamps:")
		for _, id := range promos {
			fmt.Fprintf(&b, "%s=%d,", id, e.Stamps[id])
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// VerifyChain recomputes the hash chain and the balances of a member's full
// ledger (oldest first) and compares them with the account.
func VerifyChain(acct Account, entries []Entry) error {
	prev := ""
	var bal Balance
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			return fmt.Errorf("entry %d: sequence gap (found seq %d)", i+1, e.Seq)
		}
		if e.PrevHash != prev || EntryHash(prev, e) != e.Hash {
			return fmt.Errorf("entry %d: hash chain broken", e.Seq)
		}
		prev = e.Hash
		bal.Available += e.Available
		bal.Pending += e.Pending
		bal.Held += e.Held
	}
	if acct.Seq != int64(len(entries)) || acct.LastHash != prev {
		return fmt.Errorf("account seq %d does not match ledger of %d entries", acct.Seq, len(entries))
	}
	if acct.Balance() != bal {
		return fmt.Errorf("balance %+v differs from ledger sum %+v", acct.Balance(), bal)
	}
	return nil
}

// LotSum returns the remaining points over lots, split into available and
// pending; with the account's held points it must equal the balance.
func LotSum(lots []Lot) (available, pending Points) {
	for _, l := range lots {
		if l.Pending {
			pending += l.Remaining
		} else {
			available += l.Remaining
		}
	}
	return available, pending
}
