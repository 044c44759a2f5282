package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/wallet"
)

// Wallets builds the member's wallet passes for the card's "Add to Apple
// Wallet" and "Save to Google Wallet" buttons (wallet.Service implements
// it). Either answers wallet.ErrNotConfigured when its wallet has no keys:
// the page then hides that button.
type Wallets interface {
	// AppleConfigured tells whether ApplePass can build a pass, without
	// building one on every page view.
	AppleConfigured() bool
	ApplePass(ctx context.Context, baseURL, tenantID, memberID string) ([]byte, *wallet.ApplePass, error)
	GoogleSaveURL(ctx context.Context, baseURL, tenantID, memberID string, origins []string) (string, error)
}

// passGrant names the member whose pass a link may download: sealed into
// the enrollment result's link (the new member has no card session yet,
// and the page may sit in a cross-site iframe without cookies).
type passGrant struct {
	Tenant string `json:"t"`
	Member string `json:"m"`
}

const purposePass = "pass"

// walletButtons is what the card shows under the QR code; empty fields
// hide their button.
type walletButtons struct {
	AppleURL  string
	GoogleURL string
	// Blank opens the links outside the page (it is framed by a partner).
	Blank bool
	Lang  string
}

// passPath is the address of the tenant's pass download.
func passPath(slug string) string { return "/c/" + slug + "/pass.pkpass" }

// walletButtonsOf builds the buttons of member's card. grant is true for
// the enrollment result, whose Apple link carries a sealed grant instead
// of relying on the card session's cookie. A wallet's failure hides its
// button and never fails the page.
func (h *Handler) walletButtonsOf(r *http.Request, t *loyalty.Tenant, memberID, langQuery string, grant bool) walletButtons {
	b := walletButtons{Lang: langOf(r)}
	if h.deps.Wallets == nil {
		return b
	}
	if h.deps.Wallets.AppleConfigured() {
		q := url.Values{}
		if langQuery != "" {
			q.Set("lang", langOf(r))
		}
		if grant {
			s, err := h.seal.Seal(purposePass, h.deps.Now().Add(formTTL), passGrant{Tenant: t.ID, Member: memberID})
			if err != nil {
				panic(err) // marshalling a struct of strings does not fail
			}
			q.Set("t", s)
		}
		b.AppleURL = passPath(t.Slug)
		if len(q) > 0 {
			b.AppleURL += "?" + q.Encode()
		}
	}
	u, err := h.deps.Wallets.GoogleSaveURL(r.Context(), wallet.BaseURLOf(r), t.ID, memberID, t.AllowedOrigins)
	switch {
	case err == nil:
		b.GoogleURL = u
	case !errors.Is(err, wallet.ErrNotConfigured):
		h.fail(r, langOf(r), err)
	}
	return b
}

// cardPass serves the member's Apple Wallet pass: the member of the
// request's card session, or of the sealed grant of the enrollment result.
// Never a member the URL names in clear.
func (h *Handler) cardPass(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	lang := langOf(r)
	var member string
	if tok := r.URL.Query().Get("t"); tok != "" {
		var g passGrant
		if h.seal.Open(purposePass, tok, h.deps.Now(), &g) == nil && g.Tenant == t.ID {
			member = g.Member
		}
	} else if s, ok := h.cardSessionOf(r, t); ok {
		member = s.Member
	}
	if member == "" {
		h.message(w, r, http.StatusForbidden, lang, "pass.refused.title", "pass.refused.lead", "'self'")
		return
	}
	if h.deps.Wallets == nil {
		h.message(w, r, http.StatusNotFound, lang, "pass.none.title", "pass.none.lead", "'self'")
		return
	}
	b, _, err := h.deps.Wallets.ApplePass(r.Context(), wallet.BaseURLOf(r), t.ID, member)
	switch {
	case errors.Is(err, wallet.ErrNotConfigured), errors.Is(err, loyalty.ErrMemberNotFound):
		h.message(w, r, http.StatusNotFound, lang, "pass.none.title", "pass.none.lead", "'self'")
		return
	case err != nil:
		h.fail(r, lang, err)
		h.message(w, r, http.StatusServiceUnavailable, lang, "err.unavailable", "err.unavailable", "'self'")
		return
	}
	w.Header().Set("Content-Type", wallet.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="card.pkpass"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
