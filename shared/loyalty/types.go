// Package loyalty is the domain of the cashback service: its types, its errors
// with stable codes, the program rules as pure functions, and the Service that
// runs each operation as read → decide (pure) → one conditioned commit. It
// imports nothing from AWS; the store behind the Store interface does.
package loyalty

import (
	"time"
)

// ProgramStatus follows the seeds: New → Active → Stopped (members keep and
// spend points; nobody new joins; no new accruals) → Deleted.
type ProgramStatus string

const (
	ProgramNew     ProgramStatus = "new"
	ProgramActive  ProgramStatus = "active"
	ProgramStopped ProgramStatus = "stopped"
	ProgramDeleted ProgramStatus = "deleted"
)

// WelcomeBonus is credited when a member joins, with its own lifetime.
type WelcomeBonus struct {
	Points   Points `json:"points"`
	Lifetime string `json:"lifetime,omitempty"` // ISO 8601; empty: the program's points lifetime
}

// Referral rewards a member who brings a new one (seed 002): both get
// points once the newcomer's first order closes.
type Referral struct {
	ReferrerPoints Points `json:"referrerPoints"`
	RefereePoints  Points `json:"refereePoints"`
	// MonthlyLimit caps the referrals one referrer is rewarded for per
	// calendar month (UTC); 0 means DefaultReferralMonthlyLimit.
	MonthlyLimit int `json:"monthlyLimit,omitempty"`
}

// DefaultReferralMonthlyLimit is the referrals a referrer is rewarded for per
// month unless the program says otherwise.
const DefaultReferralMonthlyLimit = 20

// Limit is the monthly limit in force.
func (r *Referral) Limit() int {
	if r.MonthlyLimit <= 0 {
		return DefaultReferralMonthlyLimit
	}
	return r.MonthlyLimit
}

// BirthdayBonus is credited once a year on the member's birthday by the sweep.
type BirthdayBonus struct {
	Points   Points `json:"points"`
	Lifetime string `json:"lifetime,omitempty"` // ISO 8601; empty: the program's points lifetime
}

// Program holds the rules of a bonus program.
type Program struct {
	ID                  string         `json:"programId"`
	TenantID            string         `json:"-"`
	Name                string         `json:"name"`
	Type                string         `json:"type"` // "bonus" or "discount"
	Status              ProgramStatus  `json:"status"`
	CashbackPercent     BasisPoints    `json:"cashbackBp"`
	MaxRedeemPercent    BasisPoints    `json:"maxRedeemBp"`
	PointValue          Money          `json:"pointValue"` // money per whole point
	PointsLifetime      string         `json:"pointsLifetime,omitempty"`
	PendingPeriod       string         `json:"pendingPeriod,omitempty"`
	HoldTimeout         string         `json:"holdTimeout,omitempty"`
	WelcomeBonus        *WelcomeBonus  `json:"welcomeBonus,omitempty"`
	Referral            *Referral      `json:"referral,omitempty"`
	BirthdayBonus       *BirthdayBonus `json:"birthdayBonus,omitempty"`
	ReturnSpentOnRefund bool           `json:"returnSpentOnRefund"`
	TermsURL            string         `json:"termsUrl,omitempty"`
	// Rules beyond the basic bonus program (see rates.go and tiers.go).
	DiscountPercent BasisPoints `json:"discountBp,omitempty"` // type "discount"
	// DiscountAmount is money off every order; DiscountSteps a discount
	// only from an order total (discounts.go).
	DiscountAmount     Money                    `json:"discountAmount,omitempty"`
	DiscountSteps      []DiscountStep           `json:"discountSteps,omitempty"`
	Tiers              []Tier                   `json:"tiers,omitempty"`
	Categories         map[string]CategoryRates `json:"categories,omitempty"`
	AccrueOnDiscounted *bool                    `json:"accrueOnDiscounted,omitempty"` // nil: true
	PointsPerMoney     *PointsPerMoney          `json:"pointsPerMoney,omitempty"`
	// Products restrict accrual and redemption to some order lines (seed 004).
	Products *ProductRules `json:"productRules,omitempty"`
	// CardNumbers is how new members' card numbers are drawn (cards.go).
	CardNumbers *CardRule `json:"cardNumbers,omitempty"`
	ActiveFrom  time.Time `json:"activeFrom,omitempty"`
	ActiveUntil time.Time `json:"activeUntil,omitempty"`
	// ExpiryReminder tells members, N days ahead, that points expire.
	ExpiryReminder *ExpiryReminder `json:"expiryReminder,omitempty"`
	Version        int64           `json:"version"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
}

// ExpiryReminder: DaysBefore days before a member's points expire, a member
// with marketing consent gets a message, once per expiry date (sent by
// shared/campaigns from the expiry index).
type ExpiryReminder struct {
	DaysBefore int    `json:"daysBefore" minimum:"1" maximum:"30" doc:"Days before the expiry date"`
	Channel    string `json:"channel" enum:"sms,email,push"`
	Text       string `json:"text,omitempty" maxLength:"1000" doc:"Template (as campaigns: {name}, {balance}, {expiry}, {expiringPoints}, {card}); default: a standard reminder"`
}

// MaxReminderDays bounds how far ahead a reminder goes.
const MaxReminderDays = 30

// DefaultHoldTimeout releases a forgotten hold so points do not stay locked.
const DefaultHoldTimeout = "PT30M"

func optionalDuration(s string) Duration {
	if s == "" {
		return Duration{}
	}
	d, err := ParseDuration(s)
	if err != nil { // validated at creation; a stored program always parses
		return Duration{}
	}
	return d
}

// Lifetime is how long accrued points stay spendable; zero means forever.
func (p *Program) Lifetime() Duration { return optionalDuration(p.PointsLifetime) }

// Pending is how long accrued points wait before they can be spent.
func (p *Program) Pending() Duration { return optionalDuration(p.PendingPeriod) }

// HoldTTL is how long a hold on an open order lasts before the sweep releases it.
func (p *Program) HoldTTL() Duration {
	if p.HoldTimeout == "" {
		return MustDuration(DefaultHoldTimeout)
	}
	return optionalDuration(p.HoldTimeout)
}

// Value returns the money value of one whole point.
func (p *Program) Value() Money {
	if p.PointValue <= 0 {
		return DefaultPointValue
	}
	return p.PointValue
}

// Tenant is a business using the service. CurrentProgram is a copy of the
// tenant's current program (active or stopped), kept on the tenant item so the
// hot path gets rules and tenant in the same read.
type Tenant struct {
	ID             string   `json:"tenantId"`
	Name           string   `json:"name"`
	Slug           string   `json:"tenantSlug"`
	Plan           string   `json:"plan"`
	Status         string   `json:"status"`
	CurrentProgram *Program `json:"currentProgram,omitempty"`
	// ProgramType is fixed when the first card is issued (seed 002): the
	// tenant's programs may not switch between bonus and discount after it.
	ProgramType string `json:"programType,omitempty"`
	// CustomLimits are the limits of a custom plan.
	CustomLimits *PlanLimits `json:"customLimits,omitempty"`
	CreatedAt    time.Time   `json:"createdAt"`

	// Country (ISO 3166-1 alpha-2) of the business; "" is DefaultCountry.
	Country string `json:"country,omitempty"`
	// SMSCountries are the regions of the numbers codes may be sent to by
	// SMS; empty means the tenant's country only (see SMSRegions).
	SMSCountries []string `json:"smsCountries,omitempty"`
	// AllowedOrigins may frame the enrollment page (the partner sites that
	// embed it); none: only the service's own pages.
	AllowedOrigins []string `json:"allowedOrigins,omitempty"`

	// Promotions are the tenant's gift promotions, kept on the tenant item
	// so every order reads them with the tenant (PromotionsVersion
	// conditions their changes).
	Promotions        []Promotion `json:"promotions,omitempty"`
	PromotionsVersion int64       `json:"promotionsVersion,omitempty"`
}

// Role of an API key's holder.
type Role string

const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleCashier Role = "cashier"
)

// AtLeast reports whether r has the rights of want (owner > admin > cashier).
func (r Role) AtLeast(want Role) bool {
	rank := map[Role]int{RoleCashier: 1, RoleAdmin: 2, RoleOwner: 3}
	return rank[r] >= rank[want]
}

// Caller is who an authenticated request comes from.
type Caller struct {
	TenantID    string
	Role        Role
	KeyID       string // short, non-secret identifier of the API key
	StaffID     string // the staff member the key was issued to ("" for the owner key)
	PointOfSale string // a cashier's point of sale
}

// MemberRef addresses a member by exactly one of id, card or phone.
type MemberRef struct {
	ID    string `json:"id,omitempty"`
	Card  string `json:"card,omitempty"`
	Phone string `json:"phone,omitempty"` // E.164 once normalised
}

// MemberStatus says whether a card earns and spends.
type MemberStatus string

// Member statuses.
const (
	MemberActive  MemberStatus = "active"
	MemberBlocked MemberStatus = "blocked"
)

// Account is a member's balance. Available + Pending + Held always equals the
// sum of remaining points over the member's lots plus the held points, and
// each field equals the sum of its deltas over the ledger.
type Account struct {
	TenantID  string       `json:"-"`
	MemberID  string       `json:"memberId"`
	ProgramID string       `json:"programId,omitempty"`
	Phone     string       `json:"phone"`
	Email     string       `json:"email,omitempty"`
	Name      string       `json:"name,omitempty"`
	BirthDate string       `json:"birthDate,omitempty"`
	Marketing bool         `json:"marketingConsent"`
	Card      string       `json:"cardNumber"`
	Status    MemberStatus `json:"status" enum:"active,blocked"`
	Tier      string       `json:"tier,omitempty"`
	// TierSchedule says which tier the member holds until when if nothing
	// else happens, so a read shows demotion without scanning history.
	TierSchedule []TierSpan `json:"tierSchedule,omitempty"`
	// TierOverride is a tier set by hand (seed 003); it holds until cleared.
	TierOverride string `json:"tierOverride,omitempty"`
	// CodeWordHash identifies the card holder (seed 001): only a hash of
	// the word is kept.
	CodeWordHash string    `json:"codeWordHash,omitempty"`
	Available    Points    `json:"available"`
	Pending      Points    `json:"pending"`
	Held         Points    `json:"held"`
	Seq          int64     `json:"seq"`
	LastHash     string    `json:"lastHash"`
	CreatedAt    time.Time `json:"createdAt"`
	// Stamps is the member's stamp card progress per promotion (units
	// counted towards the next gift), kept in the account item so a close
	// moves it in the same conditioned write as the balance.
	Stamps map[string]int `json:"stamps,omitempty"`
	// ReferralCode is the member's personal code others enroll with.
	ReferralCode string `json:"referralCode,omitempty"`
	// Referral is who brought the member and where the reward stands.
	Referral *ReferralState `json:"referral,omitempty"`
}

// ReferralState is kept on the referee's account: set at enrollment
// (pending), moved by the first closed order (qualified, in the close's own
// write of the account), and by the reward (rewarded).
type ReferralState struct {
	ReferrerID string `json:"referrerId"`
	Status     string `json:"status" enum:"pending,qualified,rewarded"`
	OrderID    string `json:"orderId,omitempty"` // the first closed order
	// ReferrerLimited: the referrer had reached the monthly limit, so only
	// the referee was rewarded.
	ReferrerLimited bool `json:"referrerLimited,omitempty"`
}

// Referral statuses.
const (
	ReferralPending   = "pending"
	ReferralQualified = "qualified"
	ReferralRewarded  = "rewarded"
)

// Balance is what a member sees. No part is ever negative: the minimum tags
// state it in the API contract, which every HTTP test response is checked
// against.
type Balance struct {
	Available Points `json:"available" minimum:"0"`
	Pending   Points `json:"pending" minimum:"0"`
	Held      Points `json:"held" minimum:"0"`
}

// Balance of the account.
func (a *Account) Balance() Balance {
	return Balance{Available: a.Available, Pending: a.Pending, Held: a.Held}
}

// Lot is a batch of points from one accrual. Points are spent from the lot
// that expires first; a pending lot cannot be spent until it matures.
type Lot struct {
	ID            string    `json:"id"`
	Original      Points    `json:"original"`
	Remaining     Points    `json:"remaining"`
	Pending       bool      `json:"pending"`
	AvailableFrom time.Time `json:"availableFrom"`
	ExpiresAt     time.Time `json:"expiresAt"` // zero: never expires
	OrderID       string    `json:"orderId,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// Expires reports whether the lot has an expiry date.
func (l *Lot) Expires() bool { return !l.ExpiresAt.IsZero() }

// MemberState is everything a balance change needs about one member: the
// account, its lots and its activity counters, read together in one
// strongly consistent query.
type MemberState struct {
	Account Account
	Lots    []Lot
	Stats   Stats
	// Layout is where the store keeps these parts; the domain carries it
	// from the read to the commit without looking at it.
	Layout MemberLayout
}

// MemberLayout says where a store keeps a member's parts: lots and activity
// counters live inside the account item while they are small (one item to
// write instead of three), in items of their own once they grow. Written by
// the store on read, handed back to it in the Commit.
type MemberLayout struct {
	// Rev counts the writes of the account item; the next write requires it
	// unchanged (0: an item written before revisions, conditioned on seq).
	Rev int64
	// InlineLots are the lots kept inside the account item.
	InlineLots map[string]bool
	// StatsApart: the activity counters have an item of their own.
	StatsApart bool
}

// OrderState is where an order is. An order is open until it closes; cancel
// releases its hold but leaves it open, so it can still be closed and paid
// in money.
type OrderState string

// Order states.
const (
	OrderOpen   OrderState = "open"
	OrderClosed OrderState = "closed"
)

// AppliedRefund is one refund applied to a closed order.
type AppliedRefund struct {
	ID              string    `json:"refundId"`
	Amount          Money     `json:"amount" minimum:"0"`
	ReversedAccrual Points    `json:"reversedAccrual" minimum:"0"`
	ReturnedPoints  Points    `json:"returnedPoints" minimum:"0"`
	Shortfall       Points    `json:"shortfall,omitempty" minimum:"0"`
	At              time.Time `json:"at"`
	// StaffID and PointOfSale of the key that refunded (activity reports).
	StaffID     string `json:"staffId,omitempty"`
	PointOfSale string `json:"pointOfSaleId,omitempty"`
}

// LotTake records points taken from a lot, with the lot's expiry so they can
// be given back with it even after the emptied lot is gone.
type LotTake struct {
	Lot       string    `json:"lot"`
	Points    Points    `json:"points"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Order tracks the points side of a shop's order.
type Order struct {
	ID            string          `json:"orderId"`
	TenantID      string          `json:"-"`
	MemberID      string          `json:"memberId"`
	State         OrderState      `json:"state" enum:"open,closed"`
	Total         Money           `json:"total" minimum:"0"`
	Held          Points          `json:"held" minimum:"0"`
	HeldLots      []LotTake       `json:"heldLots,omitempty"`
	HoldExpiresAt time.Time       `json:"holdExpiresAt,omitempty"`
	Redeemed      Points          `json:"redeemed" minimum:"0"`
	SpentLots     []LotTake       `json:"spentLots,omitempty"`
	MoneyPaid     Money           `json:"moneyPaid" minimum:"0"`
	Accrued       Points          `json:"accrued" minimum:"0"`
	AccrualLot    string          `json:"accrualLot,omitempty"`
	Refunded      Money           `json:"refunded" minimum:"0"`
	Reversed      Points          `json:"reversedAccrual" minimum:"0"`
	Returned      Points          `json:"returnedPoints" minimum:"0"`
	Refunds       []AppliedRefund `json:"refunds,omitempty"`
	// Coupons applied when the order closed.
	Coupons []OrderCoupon `json:"coupons,omitempty"`
	// Stamps counted on the member's stamp cards by the order, per
	// promotion, and the discount its promotions gave.
	Stamps            map[string]int `json:"stamps,omitempty"`
	PromotionDiscount Money          `json:"promotionDiscount,omitempty" minimum:"0"`
	// GiftCards the order was paid with (see giftcards.go) and their sum,
	// which refunds return to the cards in proportion.
	GiftCards    []OrderGiftCard `json:"giftCards,omitempty"`
	GiftCardPaid Money           `json:"giftCardPaid,omitempty" minimum:"0"`
	// PointOfSale the order was opened at: cashiers of other points of
	// sale may neither act on it nor read it.
	PointOfSale string `json:"pointOfSaleId,omitempty"`
	// ClosedBy is the staff member whose key closed the order (activity
	// reports per staff member); "" for the owner's key.
	ClosedBy  string    `json:"closedBy,omitempty"`
	StatsDay  int64     `json:"statsDay,omitempty"` // day its spend counts on for tiers
	Version   int64     `json:"version" minimum:"1"`
	CreatedAt time.Time `json:"createdAt"`
	ClosedAt  time.Time `json:"closedAt,omitempty"`
}

// EntryKind names the change a ledger entry made.
type EntryKind string

// Ledger entry kinds.
const (
	KindWelcome  EntryKind = "welcome"
	KindRedeem             = "redeem"  // points move from available to held on an open order
	KindRelease            = "release" // a hold returns to available (cancel, timeout, changed hold)
	KindCapture            = "capture" // held points are spent when the order closes
	KindAccrue             = "accrue"
	KindRefund             = "refund" // spent points returned and accrued points reversed
	KindExpire             = "expire"
	KindMature             = "mature" // pending points become available
	KindAdjust             = "adjust"
	KindReferral           = "referral" // a referral reward, to the referrer or the referee
	KindBirthday           = "birthday" // the yearly birthday bonus
)

// Entry is one append-only ledger line. The deltas of every entry summed give
// the account's balances; Hash chains each entry to the one before.
type Entry struct {
	Seq         int64             `json:"seq"`
	Kind        EntryKind         `json:"kind" enum:"welcome,redeem,release,capture,accrue,refund,expire,mature,adjust,referral,birthday"`
	Amount      Points            `json:"amount"` // change of available + pending, as the member sees it
	Available   Points            `json:"dAvailable"`
	Pending     Points            `json:"dPending"`
	Held        Points            `json:"dHeld"`
	OrderID     string            `json:"orderId,omitempty"`
	RefundID    string            `json:"refundId,omitempty"`
	Lots        map[string]Points `json:"lots,omitempty"` // lot → points added (+) or taken (−)
	Note        string            `json:"note,omitempty"`
	KeyID       string            `json:"keyId,omitempty"`
	StaffID     string            `json:"staffId,omitempty"`
	PointOfSale string            `json:"pointOfSaleId,omitempty"`
	// After is the member's balance once this entry applied, so an event
	// made from the entry alone can say it (outside the hash: a copy of
	// what the deltas sum to).
	After *Balance `json:"after,omitempty"`
	// Expiring is the change of available points per expiry month of the
	// lots touched (ExpiryMonth), so the reports keep the expiry schedule
	// of the liability from the ledger alone, however spends took lots
	// and sweeps expired them. Outside the hash: derived from the lots
	// touched, as After is from the deltas. Sums to Available.
	Expiring map[string]Points `json:"expiring,omitempty"`
	At       time.Time         `json:"at"`
	PrevHash string            `json:"prevHash"`
	Hash     string            `json:"hash"`
	// Stamps are stamp card units counted (+) by a close or reversed (−)
	// by a refund, per promotion; part of the hash chain.
	Stamps map[string]int `json:"stamps,omitempty"`
}

// OTP challenge purposes.
const (
	PurposeEnroll = "enroll"
	PurposeSignIn = "signin" // a member signing in on the card page
)

// Challenge is a pending one-time-code check for an enrollment.
type Challenge struct {
	ID           string    `json:"challengeId"`
	TenantID     string    `json:"-"`
	Purpose      string    `json:"purpose"`
	Phone        string    `json:"-"`
	Email        string    `json:"-"`
	Channel      string    `json:"channel"`
	Name         string    `json:"-"`
	BirthDate    string    `json:"-"`
	Marketing    bool      `json:"-"`
	ReferrerID   string    `json:"-"` // the member whose referral code the customer gave
	Card         string    `json:"-"` // a physical card the till hands out, bound at verify
	CodeHash     string    `json:"-"`
	CodeLength   int       `json:"codeLength"`
	AttemptsLeft int       `json:"attemptsLeft"`
	ExpiresAt    time.Time `json:"expiresAt"`
	Used         bool      `json:"used"`
	CreatedAt    time.Time `json:"createdAt"`
}

// IdemRecord is the stored outcome of a request made with an Idempotency-Key.
type IdemRecord struct {
	Key         string
	Scope       string // "" for a client's key; see Idem.Scope
	RequestHash string
	Status      int
	Response    []byte
	CreatedAt   time.Time
}
