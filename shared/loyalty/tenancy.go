package loyalty

import (
	"context"
	"errors"
	"strings"
	"time"
)

// PointOfSale is a shop, till or site of a tenant (seed 002).
type PointOfSale struct {
	ID        string    `json:"pointOfSaleId"`
	Name      string    `json:"name"`
	Address   string    `json:"address,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Staff is a person with an API key: an admin, or a cashier bound to a point
// of sale. Only the hash of the key is stored.
type Staff struct {
	ID          string    `json:"staffId"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	PointOfSale string    `json:"pointOfSaleId,omitempty"`
	KeyHash     string    `json:"keyHash"`
	Revoked     bool      `json:"revoked"`
	CreatedAt   time.Time `json:"createdAt"`
	LastUsedAt  time.Time `json:"lastUsedAt,omitempty"`
}

// PlanLimits of a plan; zero means unlimited.
type PlanLimits struct {
	PointsOfSale int64 `json:"pointsOfSale" minimum:"0"`
	Staff        int64 `json:"staff" minimum:"0"`
	Members      int64 `json:"members" minimum:"0"`
	MonthlyOps   int64 `json:"monthlyOperations" minimum:"0"`

	// Sending caps the one-time codes sent. Unlike the limits above it is
	// never unlimited (SMS pumping is billed to the tenant): a zero field
	// takes pay-as-you-go's value (see SendLimits).
	Sending SendLimits `json:"sending"`
}

// Plans: the free tier of the seeds (3 points of sale, 6 users) and
// pay-as-you-go, which is metered and unlimited but for sending codes.
var Plans = map[string]PlanLimits{
	PlanFree: {PointsOfSale: 3, Staff: 6, Members: 1000, MonthlyOps: 5000, Sending: FreeSending},
	PlanPAYG: {Sending: PAYGSending},
}

// Limits of the tenant's plan.
func (t *Tenant) Limits() PlanLimits {
	l := Plans[t.Plan]
	if t.Plan == PlanCustom && t.CustomLimits != nil {
		l = *t.CustomLimits
	}
	l.Sending = l.Sending.withDefaults()
	return l
}

// Names of plan limits in plan_limit problems.
const (
	LimitPointsOfSale = "pointsOfSale"
	LimitStaff        = "staff"
	LimitMembers      = "members"
	LimitMonthlyOps   = "monthlyOperations"
)

// PlanLimitError says which limit of the plan a write hit.
func PlanLimitError(limit string) error {
	return &Error{Code: CodePlanLimit, Message: "the plan's limit of " + limit + " is reached", Details: Details{Limit: limit}}
}

// Usage kinds metered per tenant per month: every operation that writes.
const (
	UseEnroll = "enroll"
	UseVerify = "verify"
	UseRedeem = "redeem"
	UseClose  = "close"
	UseCancel = "cancel"
	UseRefund = "refund"
	UseAdjust = "adjust"
	UseSignIn = "signin" // a code sent to sign in on the card page
)

// UsageShards spread an uncapped tenant's counters over several items, so a
// busy pay-as-you-go tenant does not write one hot item.
const UsageShards = 8

// Meter is one metered operation. Cap is the plan's monthly limit (0: none).
// A capped operation is counted in the same transaction as the write it
// meters, conditioned on the cap; an uncapped one is marked on the write's
// idempotency record and counted from the table's stream, off the hot path
// (the store's CountUsage, in a usage shard chosen by stream shard).
type Meter struct {
	Kind  string
	Month string // 2006-01
	Cap   int64
}

// MeterFor meters one operation of a tenant at now. A capped tenant counts
// in one item conditioned on the whole limit: a cap split over shards refuses
// while other shards have room and, rounded up per shard, lets a tenant past
// it. Capped plans are the small ones, so the one item is never hot.
func MeterFor(t *Tenant, kind string, now time.Time) *Meter {
	if t == nil {
		return nil
	}
	return &Meter{Kind: kind, Month: now.UTC().Format("2006-01"), Cap: t.Limits().MonthlyOps}
}

// AuditEntry records an administrative action: who, when, what, from which key.
type AuditEntry struct {
	At      time.Time `json:"at"`
	KeyID   string    `json:"keyId"`
	StaffID string    `json:"staffId,omitempty"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	Detail  string    `json:"detail,omitempty"`
}

func audit(c Caller, now time.Time, action, target, detail string) *AuditEntry {
	return &AuditEntry{At: now, KeyID: c.KeyID, StaffID: c.StaffID, Action: action, Target: target, Detail: detail}
}

// TenancyStore is what tenancy needs from persistence. Counted creations
// check the plan limit in the same transaction (limit 0: none).
type TenancyStore interface {
	CreatePointOfSale(ctx context.Context, tenantID string, p PointOfSale, limit int64, a *AuditEntry) error
	ListPointsOfSale(ctx context.Context, tenantID string) ([]PointOfSale, error)
	GetPointOfSale(ctx context.Context, tenantID, id string) (*PointOfSale, error)
	CreateStaff(ctx context.Context, tenantID string, s Staff, key APIKey, limit int64, a *AuditEntry) error
	GetStaff(ctx context.Context, tenantID, id string) (*Staff, error)
	ListStaff(ctx context.Context, tenantID string) ([]Staff, error)
	RevokeStaff(ctx context.Context, tenantID string, s Staff, a *AuditEntry) error
	Usage(ctx context.Context, tenantID, month string) (map[string]int64, error)
	ListAudit(ctx context.Context, tenantID, month string, limit int) ([]AuditEntry, error)
}

func (s *Tenancy) tenancy() (TenancyStore, error) {
	ts, ok := s.Store.(TenancyStore)
	if !ok {
		return nil, errors.New("store does not support tenancy")
	}
	return ts, nil
}

func requireAdmin(c Caller) error {
	if !c.Role.AtLeast(RoleAdmin) {
		return Errorf(CodeForbidden, "this key's role may not do that")
	}
	return nil
}

// CreatePointOfSale adds a point of sale within the plan's limit.
func (s *Tenancy) CreatePointOfSale(ctx context.Context, c Caller, name, address string) (PointOfSale, error) {
	if err := requireAdmin(c); err != nil {
		return PointOfSale{}, err
	}
	if strings.TrimSpace(name) == "" {
		return PointOfSale{}, Invalid("name", "name is required")
	}
	ts, err := s.tenancy()
	if err != nil {
		return PointOfSale{}, err
	}
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return PointOfSale{}, err
	}
	now := s.now()
	p := PointOfSale{ID: NewID("pos_"), Name: strings.TrimSpace(name), Address: strings.TrimSpace(address), CreatedAt: now}
	if err := ts.CreatePointOfSale(ctx, c.TenantID, p, t.Limits().PointsOfSale, audit(c, now, "pos.create", p.ID, p.Name)); err != nil {
		return PointOfSale{}, err
	}
	return p, nil
}

// ListPointsOfSale lists the tenant's points of sale.
func (s *Tenancy) ListPointsOfSale(ctx context.Context, c Caller) ([]PointOfSale, error) {
	ts, err := s.tenancy()
	if err != nil {
		return nil, err
	}
	return ts.ListPointsOfSale(ctx, c.TenantID)
}

// NewStaffResult is shown once: the key is not stored.
type NewStaffResult struct {
	StaffID string `json:"staffId"`
	APIKey  string `json:"apiKey"`
}

// CreateStaff issues a key to an admin or a cashier (bound to a point of
// sale) within the plan's limit. Only an owner creates admins.
func (s *Tenancy) CreateStaff(ctx context.Context, c Caller, name string, role Role, posID string) (NewStaffResult, error) {
	if err := requireAdmin(c); err != nil {
		return NewStaffResult{}, err
	}
	if strings.TrimSpace(name) == "" {
		return NewStaffResult{}, Invalid("name", "name is required")
	}
	switch role {
	case RoleCashier:
		if posID == "" {
			return NewStaffResult{}, Invalid("pointOfSaleId", "a cashier is bound to a point of sale")
		}
	case RoleAdmin:
		if c.Role != RoleOwner {
			return NewStaffResult{}, Errorf(CodeForbidden, "only the owner creates admins")
		}
	default:
		return NewStaffResult{}, Invalid("role", "role must be admin or cashier")
	}
	ts, err := s.tenancy()
	if err != nil {
		return NewStaffResult{}, err
	}
	if posID != "" {
		if _, err := ts.GetPointOfSale(ctx, c.TenantID, posID); err != nil {
			return NewStaffResult{}, err
		}
	}
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return NewStaffResult{}, err
	}
	now := s.now()
	key := NewAPIKey()
	hash := HashAPIKey(key)
	st := Staff{ID: NewID("st_"), Name: strings.TrimSpace(name), Role: role, PointOfSale: posID, KeyHash: hash, CreatedAt: now}
	k := APIKey{Hash: hash, KeyID: KeyIDOf(hash), StaffID: st.ID, TenantID: c.TenantID, Role: role, PointOfSale: posID, CreatedAt: now}
	if err := ts.CreateStaff(ctx, c.TenantID, st, k, t.Limits().Staff, audit(c, now, "staff.create", st.ID, string(role))); err != nil {
		return NewStaffResult{}, err
	}
	return NewStaffResult{StaffID: st.ID, APIKey: key}, nil
}

// ListStaff lists the tenant's staff (never their keys).
func (s *Tenancy) ListStaff(ctx context.Context, c Caller) ([]Staff, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ts, err := s.tenancy()
	if err != nil {
		return nil, err
	}
	return ts.ListStaff(ctx, c.TenantID)
}

// RevokeStaff revokes a staff member's key at once: the next request with it
// is refused, since every request reads the key strongly consistently.
func (s *Tenancy) RevokeStaff(ctx context.Context, c Caller, staffID string) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	ts, err := s.tenancy()
	if err != nil {
		return err
	}
	st, err := ts.GetStaff(ctx, c.TenantID, staffID)
	if err != nil {
		return err
	}
	if st.Revoked {
		return nil
	}
	if st.Role == RoleAdmin && c.Role != RoleOwner {
		return Errorf(CodeForbidden, "only the owner revokes admins")
	}
	return ts.RevokeStaff(ctx, c.TenantID, *st, audit(c, s.now(), "staff.revoke", st.ID, ""))
}

// UsageReport is this month's metered operations.
type UsageReport struct {
	Month  string           `json:"month"`
	Plan   string           `json:"plan"`
	Limits PlanLimits       `json:"limits"`
	Total  int64            `json:"total" minimum:"0"`
	ByKind map[string]int64 `json:"byKind"`
}

// Usage sums the month's usage shards.
func (s *Tenancy) Usage(ctx context.Context, c Caller, month string) (UsageReport, error) {
	ts, err := s.tenancy()
	if err != nil {
		return UsageReport{}, err
	}
	if month == "" {
		month = s.now().Format("2006-01")
	}
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return UsageReport{}, err
	}
	by, err := ts.Usage(ctx, c.TenantID, month)
	if err != nil {
		return UsageReport{}, err
	}
	r := UsageReport{Month: month, Plan: t.Plan, Limits: t.Limits(), ByKind: by}
	for _, n := range by {
		r.Total += n
	}
	return r, nil
}

// Audit lists the month's administrative actions, newest first.
func (s *Tenancy) Audit(ctx context.Context, c Caller, month string, limit int) ([]AuditEntry, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ts, err := s.tenancy()
	if err != nil {
		return nil, err
	}
	if month == "" {
		month = s.now().Format("2006-01")
	}
	return ts.ListAudit(ctx, c.TenantID, month, limit)
}

// mayTouch says whether the caller may act on or read an order. Owners and
// admins work tenant-wide; a cashier only on orders opened at its own point
// of sale (a cashier bound to none, on orders opened at none), so a till
// cannot cancel, close, refund or look into another shop's orders.
func (c Caller) mayTouch(o *Order) error {
	if o == nil || c.Role.AtLeast(RoleAdmin) || o.PointOfSale == c.PointOfSale {
		return nil
	}
	return Errorf(CodeForbidden, "order %s was opened at another point of sale", o.ID)
}
