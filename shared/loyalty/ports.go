package loyalty

import (
	"context"
	"time"
)

// Store is what the domain needs from persistence. Every method that changes
// a balance takes a Commit and writes it atomically; a store reports a lost
// race as ErrConflict and an existing idempotency record as ErrIdempotencyRace.
type Store interface {
	// Tenants and keys.
	GetTenant(ctx context.Context, tenantID string) (*Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (*Tenant, error)
	CreateTenant(ctx context.Context, t *Tenant, key APIKey) error
	GetAPIKey(ctx context.Context, keyHash string) (*APIKey, error)
	// TouchKey records that a key was used at now, unless it was recorded
	// after `since` already (best effort; at most one write per interval).
	TouchKey(ctx context.Context, k *APIKey, now, since time.Time) error

	// Reads for an order operation: tenant (with its current program), the
	// order, the idempotency record and, for a member given by card or phone,
	// the member id — in one round trip.
	LoadOrderContext(ctx context.Context, q OrderQuery) (*OrderContext, error)
	// LoadMember reads an account and its lots in one consistent query.
	LoadMember(ctx context.Context, tenantID, memberID string) (*MemberState, error)
	GetAccount(ctx context.Context, tenantID, memberID string) (*Account, error)
	ResolveMember(ctx context.Context, tenantID string, ref MemberRef) (string, error)
	GetOrder(ctx context.Context, tenantID, orderID string) (*Order, error)
	// GetIdem reads the record committed under a key, strongly consistent.
	GetIdem(ctx context.Context, tenantID string, idem Idem) (*IdemRecord, error)
	Commit(ctx context.Context, c *Commit) error
	// CommitAll writes several members' commits in one transaction (a
	// referral reward: referee and referrer).
	CommitAll(ctx context.Context, cs ...*Commit) error
	// ReferralOwner is the member holding a referral code ("" if none).
	ReferralOwner(ctx context.Context, tenantID, code string) (string, error)
	// PhoneSeen reports whether the phone has been a member of the tenant.
	PhoneSeen(ctx context.Context, tenantID, phone string) (bool, error)
	ListLedger(ctx context.Context, tenantID, memberID string, limit int, beforeSeq int64) ([]Entry, error)

	// Programs.
	GetProgram(ctx context.Context, tenantID, programID string) (*Program, error)
	ListPrograms(ctx context.Context, tenantID string) ([]Program, error)
	// SaveProgram writes a program conditioned on its previous version (0:
	// new); with makeCurrent it also sets the tenant's current program,
	// conditioned on the current program id read (prevCurrentID).
	SaveProgram(ctx context.Context, p *Program, prevVersion int64, makeCurrent bool, prevCurrentID string, idem *IdemRecord, a *AuditEntry) error

	// Enrollment.
	// Hit counts one event at now against every limit, each over a sliding
	// window, or counts nothing and refuses with TooManyRequests (naming the
	// limit and when to retry) when any limit is reached.
	Hit(ctx context.Context, tenantID string, now time.Time, limits ...RateLimit) error
	PutChallenge(ctx context.Context, c *Challenge, idem *IdemRecord, meter *Meter) error
	GetChallenge(ctx context.Context, tenantID, challengeID string) (*Challenge, error)
	// FailAttempt spends one attempt, conditioned on the attempts read.
	FailAttempt(ctx context.Context, tenantID, challengeID string, attemptsRead int) error

	// Sweep.
	DueWork(ctx context.Context, now time.Time, tenantID string) (*DueWork, error)
	// AdvanceSweep records that the days up to through were swept.
	AdvanceSweep(ctx context.Context, now, through time.Time) error
	// BirthdaysDue lists the members whose birthday bonus is due at now and
	// not yet credited this year: today's birthdays and, after days the
	// sweep did not run, those days' (see birthdays.go).
	BirthdaysDue(ctx context.Context, now time.Time, tenantID string) ([]BirthdayDue, error)
	// AdvanceBirthdays records that the days before now's are done.
	AdvanceBirthdays(ctx context.Context, now time.Time) error
}

// APIKey is a stored API key: only its hash identifies it.
type APIKey struct {
	Hash        string
	KeyID       string
	StaffID     string
	TenantID    string
	Role        Role
	PointOfSale string
	Revoked     bool
	CreatedAt   time.Time
	LastUsedAt  time.Time
}

// OrderQuery names what an order operation reads first.
type OrderQuery struct {
	TenantID string
	OrderID  string
	IdemKey  string
	Member   *MemberRef
	// SKUs of the order's lines: their catalog products are read in the
	// same batch (never a scan).
	SKUs []string
	// Coupons (normalised codes) named by the request, read in the same batch.
	Coupons []string
	// GiftCards (normalised numbers) named by the request, read in the same batch.
	GiftCards []string
}

// OrderContext is the first read of an order operation.
type OrderContext struct {
	Tenant   *Tenant
	Order    *Order
	Idem     *IdemRecord
	MemberID string // resolved from the reference; "" when unknown
	// Products of the catalog named by the query's SKUs (unknown ones absent).
	Products map[string]Product
	// Coupons found by code (unknown codes absent).
	Coupons map[string]Coupon
	// Promotions of the tenant, in creation order.
	Promotions []Promotion
	// GiftCards found by number (unknown ones absent).
	GiftCards map[string]GiftCard
}

// MemberKey and OrderKey name work the sweep found due.
type MemberKey struct{ TenantID, MemberID string }
type OrderKey struct{ TenantID, OrderID string }

// DueWork is what the sweep must look at: members with lots to expire or
// mature, and orders whose hold timed out.
type DueWork struct {
	Members []MemberKey
	Orders  []OrderKey
	// GiftCards past their expiry with value left.
	GiftCards []GiftCardKey
	// Through is the last day read (today, or earlier while catching up
	// after the sweep did not run for a while).
	Through time.Time
}

// Sender delivers one-time codes and notices (SMS or email).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Message is one SMS or email.
type Message struct {
	To      string    `json:"to"`
	Channel string    `json:"channel"` // "sms" or "email"
	Body    string    `json:"body"`
	SentAt  time.Time `json:"sentAt"`
}

// Codes makes and checks one-time codes; only keyed hashes are stored.
type Codes interface {
	New(length int) (string, error)
	Hash(challengeID, code string) string
	Match(hash, challengeID, code string) bool
}
