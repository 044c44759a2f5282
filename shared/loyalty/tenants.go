package loyalty

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"regexp"
	"strings"
)

// KeyPrefix marks our API keys so a leaked one is recognisable in a scan.
const KeyPrefix = "lk_live_"

// NewAPIKey returns a fresh 256-bit key; only its hash is ever stored.
func NewAPIKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return KeyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// HashAPIKey is the stored identity of a key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyIDOf is a short non-secret name for a key, safe to log.
func KeyIDOf(hash string) string { return "k_" + hash[:12] }

// Plans.
const (
	PlanFree   = "free"
	PlanPAYG   = "payg"
	PlanCustom = "custom" // limits agreed with the business, kept on the tenant
)

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify makes a URL-safe tenant slug from a name; a random suffix keeps it unique.
func Slugify(name string) string {
	s := strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	if s == "" {
		s = "shop"
	}
	return s + "-" + NewID("")[:6]
}

// NewTenantResult is what the CLI prints once: the owner's key is not stored.
type NewTenantResult struct {
	TenantID string `json:"tenantId"`
	Slug     string `json:"tenantSlug"`
	APIKey   string `json:"apiKey"`
}

// CreateTenant creates a tenant with an owner key.
func (s *Tenancy) CreateTenant(ctx context.Context, name, plan string) (NewTenantResult, error) {
	return s.CreateTenantWithLimits(ctx, name, plan, nil)
}

// CreateTenantWithLimits creates a tenant; a custom plan carries its own
// limits (zero fields: unlimited, but for sending codes).
func (s *Tenancy) CreateTenantWithLimits(ctx context.Context, name, plan string, custom *PlanLimits) (NewTenantResult, error) {
	return s.CreateTenantWithSettings(ctx, name, plan, TenantSettings{Limits: custom})
}

// TenantSettings are a new tenant's choices besides its name and plan.
type TenantSettings struct {
	Limits       *PlanLimits // the custom plan's, and only its
	Country      string      // ISO 3166-1 alpha-2; "" is DefaultCountry
	SMSCountries []string    // regions codes may be sent to by SMS; none: Country only
}

// CreateTenantWithSettings creates a tenant with its plan's limits, its
// country and the countries codes may be sent to by SMS.
func (s *Tenancy) CreateTenantWithSettings(ctx context.Context, name, plan string, set TenantSettings) (NewTenantResult, error) {
	custom := set.Limits
	if strings.TrimSpace(name) == "" {
		return NewTenantResult{}, Invalid("name", "name is required")
	}
	if plan == "" {
		plan = PlanFree
	}
	if plan != PlanFree && plan != PlanPAYG && plan != PlanCustom {
		return NewTenantResult{}, Invalid("plan", "plan must be free, payg or custom")
	}
	if (plan == PlanCustom) != (custom != nil) {
		return NewTenantResult{}, Invalid("plan", "limits go with the custom plan, and only with it")
	}
	country, smsCountries, err := regionSettings(set.Country, set.SMSCountries)
	if err != nil {
		return NewTenantResult{}, err
	}
	now := s.now()
	t := &Tenant{ID: NewID("t_"), Name: name, Slug: Slugify(name), Plan: plan, Status: "active", CreatedAt: now, CustomLimits: custom,
		Country: country, SMSCountries: smsCountries}
	key := NewAPIKey()
	hash := HashAPIKey(key)
	k := APIKey{Hash: hash, KeyID: KeyIDOf(hash), TenantID: t.ID, Role: RoleOwner, CreatedAt: now}
	if err := s.Store.CreateTenant(ctx, t, k); err != nil {
		return NewTenantResult{}, err
	}
	return NewTenantResult{TenantID: t.ID, Slug: t.Slug, APIKey: key}, nil
}

// TenantBySlug finds a tenant by its enrollment slug (the public routes).
func (s *Tenancy) TenantBySlug(ctx context.Context, slug string) (*Tenant, error) {
	return s.Store.TenantBySlug(ctx, slug)
}
