package client

import (
	"encoding/json"
	"time"
)

// The types below are the client's own copy of the wire format in
// api/openapi.json. They are plain structs so that a shop building this
// package pulls in nothing but the standard library (not huma, the AWS SDK
// or the server's packages); contract_test.go checks them against the
// document, so a property added, removed or renamed there fails a test
// here. Money is in minor units and points in hundredths, both int64.

// Percent is a percentage as its decimal text ("5", "12.5", "0.75"), sent
// and read as a JSON number: the service takes at most two decimals and
// reads them exactly, so the client keeps the text instead of a float.
type Percent = json.Number

// Problem is an error answered by the API (application/problem+json). Act
// on Code, which is stable; Detail is for humans. The pointer fields are
// set only by the problems they belong to (AttemptsLeft by a wrong code,
// MaxRedeemable by redeem_limit_exceeded, …), so 0 and absent differ.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Instance string `json:"instance,omitempty"`

	AttemptsLeft     *int           `json:"attemptsLeft,omitempty"`
	MaxRedeemable    *int64         `json:"maxRedeemable,omitempty"`
	MaxRedeemPercent string         `json:"maxRedeemPercent,omitempty"`
	Available        *int64         `json:"available,omitempty"`
	Held             *int64         `json:"held,omitempty"`
	Refundable       *int64         `json:"refundable,omitempty"`
	ActiveProgramID  string         `json:"activeProgramId,omitempty"`
	Limit            string         `json:"limit,omitempty"`
	Errors           []*ErrorDetail `json:"errors,omitempty"`

	// RetryAfter is the Retry-After header in seconds (on 429), not a
	// property of the body.
	RetryAfter int `json:"-"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// ErrorDetail locates one validation error of a request.
type ErrorDetail struct {
	Location string `json:"location,omitempty"`
	Message  string `json:"message"`
}

// Balance is a member's points: available to spend, pending (accrued, not
// yet spendable) and held on open orders.
type Balance struct {
	Available int64 `json:"available"`
	Pending   int64 `json:"pending"`
	Held      int64 `json:"held"`
}

// Member addresses a member by exactly one of id, card or phone.
type Member struct {
	ID    string `json:"id,omitempty"`
	Card  string `json:"card,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Item is an order line; per-category rates and limits apply when given.
type Item struct {
	SKU        string `json:"sku"`
	Category   string `json:"category,omitempty"`
	Amount     int64  `json:"amount"`
	Discounted bool   `json:"discounted,omitempty"`
	Quantity   int    `json:"quantity,omitempty"` // units on the line (default 1); Amount is the line's total
}

// ---- enrollment ----

// EnrollRequest starts an enrollment. Consent.Terms must be true.
type EnrollRequest struct {
	Phone   string         `json:"phone"`
	Email   string         `json:"email,omitempty"`
	Channel string         `json:"channel,omitempty"` // sms (default) or email
	Profile *EnrollProfile `json:"profile,omitempty"`
	Consent EnrollConsent  `json:"consent"`
	// ReferralCode is another member's personal code (referral rewards).
	ReferralCode string `json:"referralCode,omitempty"`
	// Card is a pre-printed card handed out at the till (staff keys only),
	// bound to the new member at verify.
	Card string `json:"card,omitempty"`
}

// EnrollProfile is what the customer tells about themselves, optionally.
type EnrollProfile struct {
	Name      string `json:"name,omitempty"`
	BirthDate string `json:"birthDate,omitempty"` // YYYY-MM-DD
}

// EnrollConsent records what the customer agreed to.
type EnrollConsent struct {
	Terms     bool `json:"terms"`
	Marketing bool `json:"marketing,omitempty"`
}

// EnrollResult identifies the challenge whose code went to the customer.
type EnrollResult struct {
	ChallengeID string    `json:"challengeId"`
	ExpiresAt   time.Time `json:"expiresAt"`
	CodeLength  int       `json:"codeLength"`
}

type verifyRequest struct {
	Code string `json:"code"`
}

// VerifyResult is the member created by a verified enrollment.
type VerifyResult struct {
	MemberID   string  `json:"memberId"`
	CardNumber string  `json:"cardNumber"`
	Balance    Balance `json:"balance"`
	// ReferralCode is the new member's own code to bring friends.
	ReferralCode string `json:"referralCode,omitempty"`
	// Referral is pending when the code given at enrollment counts, or the
	// problem code that dropped it (public enrollment only).
	Referral string `json:"referral,omitempty"`
}

// ---- orders ----

// The order request bodies are unexported: the methods take their fields
// as arguments. They still carry every property of the contract (Redeem's
// items, Close's moneyPaid) so the contract test can compare them whole.

type quoteRequest struct {
	Member    Member          `json:"member"`
	Total     int64           `json:"total"`
	Items     []Item          `json:"items,omitempty"`
	Coupons   []string        `json:"coupons,omitempty"`
	GiftCards []GiftCardSpend `json:"giftCards,omitempty"`
}

type redeemRequest struct {
	Member Member `json:"member"`
	Total  int64  `json:"total"`
	Points int64  `json:"points"`
	Items  []Item `json:"items,omitempty"`
}

type closeRequest struct {
	Member    Member          `json:"member"`
	Total     int64           `json:"total"`
	MoneyPaid *int64          `json:"moneyPaid,omitempty"`
	Items     []Item          `json:"items,omitempty"`
	Coupons   []string        `json:"coupons,omitempty"`
	GiftCards []GiftCardSpend `json:"giftCards,omitempty"`
}

type refundRequest struct {
	RefundID string `json:"refundId"`
	Amount   int64  `json:"amount"`
}

// QuoteResult says what an order may use and earn.
type QuoteResult struct {
	Balance          Balance          `json:"balance"`
	MaxRedeemable    int64            `json:"maxRedeemable"`
	MaxRedeemPercent string           `json:"maxRedeemPercent"`
	Accrual          AccrualPreview   `json:"accrual"`
	Tier             string           `json:"tier,omitempty"`
	DiscountPercent  string           `json:"discountPercent,omitempty"`
	Discount         int64            `json:"discount,omitempty"`
	GiftCards        []GiftCardResult `json:"giftCards,omitempty"`
	Offers
}

// AccrualPreview is the cashback of an order paid with no points and with
// the most points it may use.
type AccrualPreview struct {
	IfNoPoints  int64 `json:"ifNoPoints"`
	IfMaxPoints int64 `json:"ifMaxPoints"`
}

// RedeemResult is the hold placed on an order.
type RedeemResult struct {
	Held          int64   `json:"held"`
	MaxRedeemable int64   `json:"maxRedeemable"`
	Balance       Balance `json:"balance"`
}

// CloseResult is what closing an order spent and earned.
type CloseResult struct {
	Accrued   int64 `json:"accrued"`
	Redeemed  int64 `json:"redeemed"`
	MoneyPaid int64 `json:"moneyPaid"`
	Pending   bool  `json:"pending"`
	// Tier the order was priced at, and the tier the member holds after it.
	Tier      string `json:"tier,omitempty"`
	TierAfter string `json:"tierAfter,omitempty"`
	// Discount of a discount program (percent and money), for the receipt.
	DiscountPercent string  `json:"discountPercent,omitempty"`
	Discount        int64   `json:"discount,omitempty"`
	Balance         Balance `json:"balance"`
	// GiftCards paid giftCardPaid of the order (beside moneyPaid).
	GiftCards    []GiftCardResult `json:"giftCards,omitempty"`
	GiftCardPaid int64            `json:"giftCardPaid,omitempty"`
	Offers
}

// CancelResult is the hold released by a cancel.
type CancelResult struct {
	Released int64   `json:"released"`
	Balance  Balance `json:"balance"`
}

// RefundResult is what a refund reversed and returned. Shortfall is
// cashback that could not be reversed because the member already spent it.
type RefundResult struct {
	RefundID        string  `json:"refundId"`
	ReversedAccrual int64   `json:"reversedAccrual"`
	ReturnedPoints  int64   `json:"returnedPoints"`
	Shortfall       int64   `json:"shortfall"`
	RefundedTotal   int64   `json:"refundedTotal"`
	Balance         Balance `json:"balance"`
	// GiftCards say what went back to the order's gift cards.
	GiftCards []GiftCardReturn `json:"giftCards,omitempty"`
}

// ---- members ----

type adjustRequest struct {
	Points int64  `json:"points"`
	Reason string `json:"reason"`
}

// AdjustResult is a manual adjustment as applied (a debit stops at zero).
type AdjustResult struct {
	Adjusted int64   `json:"adjusted"`
	Balance  Balance `json:"balance"`
}

// MemberView is a member and their balance.
type MemberView struct {
	MemberID   string    `json:"memberId"`
	CardNumber string    `json:"cardNumber"`
	Phone      string    `json:"phone"` // E.164
	Email      string    `json:"email,omitempty"`
	Name       string    `json:"name,omitempty"`
	Status     string    `json:"status"` // active or blocked
	Tier       string    `json:"tier,omitempty"`
	Balance    Balance   `json:"balance"`
	CreatedAt  time.Time `json:"createdAt"`
	// Stamps is the stamp card progress per promotion id.
	Stamps map[string]int `json:"stamps,omitempty"`
	// Wallets is set by GetMember only.
	Wallets *Wallets `json:"wallets,omitempty"`
	// ReferralCode is the member's code to bring friends; Referral says who
	// referred the member and where the reward stands.
	ReferralCode string         `json:"referralCode,omitempty"`
	Referral     *ReferralState `json:"referral,omitempty"`
	// Consent is what the member agreed to (marketing: campaigns, reminders).
	Consent struct {
		Marketing bool `json:"marketing"`
	} `json:"consent"`
}

// ReferralState: pending until the referee's first closed order, then
// qualified, then rewarded (ReferrerLimited: the referrer's monthly limit
// was reached, only the referee got points).
type ReferralState struct {
	ReferrerID      string `json:"referrerId,omitempty"`
	Status          string `json:"status,omitempty"`
	OrderID         string `json:"orderId,omitempty"`
	ReferrerLimited bool   `json:"referrerLimited,omitempty"`
}

// Wallets is the member's card in phone wallets.
type Wallets struct {
	Apple struct {
		Devices int `json:"devices"` // devices registered for updates of the Apple pass
	} `json:"apple"`
	Google struct {
		Saved bool `json:"saved"` // saved in Google Wallet
	} `json:"google"`
}

// LedgerEntry is one change of a member's points. Amount is the change of
// available + pending; Available, Pending and Held are each one's change.
type LedgerEntry struct {
	Seq       int64            `json:"seq"`
	Kind      string           `json:"kind"` // welcome, redeem, release, capture, accrue, refund, expire, mature, adjust
	Amount    int64            `json:"amount"`
	Available int64            `json:"available"`
	Pending   int64            `json:"pending"`
	Held      int64            `json:"held"`
	OrderID   string           `json:"orderId,omitempty"`
	RefundID  string           `json:"refundId,omitempty"`
	Lots      map[string]int64 `json:"lots,omitempty"`
	Note      string           `json:"note,omitempty"`
	KeyID     string           `json:"keyId,omitempty"`
	StaffID   string           `json:"staffId,omitempty"`
	POS       string           `json:"pointOfSaleId,omitempty"`
	At        time.Time        `json:"at"`
	Hash      string           `json:"hash"`
	// Stamps are stamp card units counted (+) or reversed (-) per promotion id.
	Stamps map[string]int `json:"stamps,omitempty"`
}

// LedgerPage is one page of a member's ledger, newest first; NextCursor is
// empty on the last page.
type LedgerPage struct {
	Entries    []LedgerEntry `json:"entries"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// ---- programs ----

// ProgramSettings are the rules of a program, as created.
type ProgramSettings struct {
	Name                string        `json:"name"`
	Type                string        `json:"type"` // bonus or discount
	CashbackPercent     Percent       `json:"cashbackPercent"`
	MaxRedeemPercent    Percent       `json:"maxRedeemPercent"`
	PointValue          *int64        `json:"pointValue,omitempty"`     // money one point is worth; default 100
	PointsLifetime      string        `json:"pointsLifetime,omitempty"` // ISO 8601 duration, or none
	PendingPeriod       string        `json:"pendingPeriod,omitempty"`
	HoldTimeout         string        `json:"holdTimeout,omitempty"`
	WelcomeBonus        *WelcomeBonus `json:"welcomeBonus,omitempty"`
	ReturnSpentOnRefund *bool         `json:"returnSpentOnRefund,omitempty"` // default true
	TermsURL            string        `json:"termsUrl,omitempty"`

	DiscountPercent    Percent                  `json:"discountPercent,omitempty"`
	Tiers              []Tier                   `json:"tiers,omitempty"`
	Categories         map[string]CategoryRates `json:"categories,omitempty"`
	AccrueOnDiscounted *bool                    `json:"accrueOnDiscounted,omitempty"` // default true
	PointsPerMoney     *PointsPerMoney          `json:"pointsPerMoney,omitempty"`
	ActiveFrom         *time.Time               `json:"activeFrom,omitempty"`
	ActiveUntil        *time.Time               `json:"activeUntil,omitempty"` // exclusive
	// ProductRules restrict accrual and redemption to some goods.
	ProductRules *ProductRules `json:"productRules,omitempty"`

	// Discount programs: money off every order, or steps from an order total.
	DiscountAmount *int64         `json:"discountAmount,omitempty"`
	DiscountFrom   []DiscountStep `json:"discountFrom,omitempty"`
	// CardNumbers is how new members' card numbers are drawn.
	CardNumbers *CardRule `json:"cardNumbers,omitempty"`
	// Referral rewards both sides once the referee's first order closes.
	Referral *Referral `json:"referral,omitempty"`
	// BirthdayBonus is credited once a year on the member's birthday.
	BirthdayBonus *BirthdayBonus `json:"birthdayBonus,omitempty"`
	// ExpiryReminder tells members with consent that points expire soon.
	ExpiryReminder *ExpiryReminder `json:"expiryReminder,omitempty"`
}

// DiscountStep gives Percent or Amount off from an eligible total of From.
type DiscountStep struct {
	From    int64   `json:"from"`
	Percent Percent `json:"percent,omitempty"`
	Amount  int64   `json:"amount,omitempty"`
}

// CardRule: mode auto (Luhn-checked numbers), pattern, or imported (a pool
// of pre-printed cards).
type CardRule struct {
	Mode    string `json:"mode"`
	Pattern string `json:"pattern,omitempty"`
}

// Referral is a program's referral rewards, in points (hundredths).
type Referral struct {
	ReferrerPoints int64 `json:"referrerPoints"`
	RefereePoints  int64 `json:"refereePoints"`
	MonthlyLimit   int   `json:"monthlyLimit,omitempty"` // default 20
}

// BirthdayBonus is points credited on the birthday, with their own lifetime.
type BirthdayBonus struct {
	Points   int64  `json:"points"`
	Lifetime string `json:"lifetime,omitempty"`
}

// ExpiryReminder messages members DaysBefore their points expire.
type ExpiryReminder struct {
	DaysBefore int    `json:"daysBefore"`
	Channel    string `json:"channel"` // sms, email or push
	Text       string `json:"text,omitempty"`
}

// WelcomeBonus is credited to a member on joining.
type WelcomeBonus struct {
	Points   int64  `json:"points"`
	Lifetime string `json:"lifetime,omitempty"`
}

// Tier is one level of a program; a member holds the highest tier whose
// qualification is met in its trailing period.
type Tier struct {
	Name             string             `json:"name"`
	Priority         int                `json:"priority"` // 1 is the lowest
	CashbackPercent  Percent            `json:"cashbackPercent,omitempty"`
	CategoryCashback map[string]Percent `json:"categoryCashback,omitempty"`
	MaxRedeemPercent Percent            `json:"maxRedeemPercent,omitempty"`
	DiscountPercent  Percent            `json:"discountPercent,omitempty"`
	Group            string             `json:"group,omitempty"`
	Qualify          Qualify            `json:"qualify"`
}

// Qualify is what a member must do within Period to hold a tier.
type Qualify struct {
	Period        string           `json:"period"` // ISO 8601, e.g. P30D
	Spend         int64            `json:"spend,omitempty"`
	CategorySpend map[string]int64 `json:"categorySpend,omitempty"`
	Visits        int              `json:"visits,omitempty"`
}

// CategoryRates override the program's rates for items of a category.
type CategoryRates struct {
	CashbackPercent  Percent `json:"cashbackPercent,omitempty"`
	MaxRedeemPercent Percent `json:"maxRedeemPercent,omitempty"`
}

// PointsPerMoney accrues Points for every whole Money instead of a percent.
type PointsPerMoney struct {
	Money  int64 `json:"money"`
	Points int64 `json:"points"`
}

// ProgramView is a program as the service keeps it.
type ProgramView struct {
	ProgramID string `json:"programId"`
	Status    string `json:"status"` // new, active, stopped, deleted
	Version   int64  `json:"version"`
	ProgramSettings
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// SweepResult counts what an expiry sweep did.
type SweepResult struct {
	ExpiredLots   int   `json:"expiredLots"`
	ExpiredPoints int64 `json:"expiredPoints"`
	ReleasedHolds int   `json:"releasedHolds"`
	MaturedLots   int   `json:"maturedLots"`
	// BirthdayBonuses credited by this run.
	BirthdayBonuses int `json:"birthdayBonuses"`
	// Gift cards expired with value left, and that value (breakage).
	ExpiredGiftCards int   `json:"expiredGiftCards,omitempty"`
	GiftCardBreakage int64 `json:"giftCardBreakage,omitempty"`
}
