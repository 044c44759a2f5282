package loyalty

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Embedding: partner sites frame the enrollment page. The page's
// frame-ancestors lists exactly the tenant's allowed origins, and the page
// tells its parent the outcome only when the parent is one of them.

// EmbedStore keeps a tenant's allowed origins.
type EmbedStore interface {
	SetAllowedOrigins(ctx context.Context, tenantID string, origins []string) error
}

// MaxAllowedOrigins bounds the list (it goes into a response header).
const MaxAllowedOrigins = 20

// Embed is a tenant's embedding settings.
type Embed struct {
	TenantSlug     string
	AllowedOrigins []string
}

// GetEmbed reads the caller's embedding settings (owner only).
func (s *Tenancy) GetEmbed(ctx context.Context, c Caller) (Embed, error) {
	if c.Role != RoleOwner {
		return Embed{}, Errorf(CodeForbidden, "only the owner's key manages embedding")
	}
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return Embed{}, err
	}
	return Embed{TenantSlug: t.Slug, AllowedOrigins: nonNil(t.AllowedOrigins)}, nil
}

// SetEmbed replaces the allowed origins (owner only). Each is a web origin,
// scheme://host[:port], kept in its canonical lower-case form.
func (s *Tenancy) SetEmbed(ctx context.Context, c Caller, origins []string) (Embed, error) {
	if c.Role != RoleOwner {
		return Embed{}, Errorf(CodeForbidden, "only the owner's key manages embedding")
	}
	clean, err := CanonicalOrigins(origins)
	if err != nil {
		return Embed{}, err
	}
	es, ok := s.Store.(EmbedStore)
	if !ok {
		return Embed{}, errors.New("store does not support embedding settings")
	}
	if err := es.SetAllowedOrigins(ctx, c.TenantID, clean); err != nil {
		return Embed{}, err
	}
	return s.GetEmbed(ctx, c)
}

// CanonicalOrigins checks and normalises a list of web origins.
func CanonicalOrigins(origins []string) ([]string, error) {
	if len(origins) > MaxAllowedOrigins {
		return nil, Invalid("allowedOrigins", "at most %d origins", MaxAllowedOrigins)
	}
	out := []string{}
	for _, o := range origins {
		c, ok := canonicalOrigin(o)
		if !ok {
			return nil, Invalid("allowedOrigins", "%q is not an origin such as https://shop.example", o)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func canonicalOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || len(s) > 200 {
		return "", false
	}
	host := strings.ToLower(u.Host)
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return "", false // no wildcards or anything a header could carry further
		}
	}
	return u.Scheme + "://" + host, true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
