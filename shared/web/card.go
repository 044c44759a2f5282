package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone"
)

// The card page: a member signs in with phone + code and sees the card.
// The session is a sealed cookie naming tenant and member, limited to the
// tenant's card path.

type cardSession struct {
	Tenant string `json:"t"`
	Member string `json:"m"`
	ID     string `json:"s"` // binds the page's CSRF token
}

// cardForm travels in the sign-in forms' hidden field.
type cardForm struct {
	Slug      string `json:"s"`
	Challenge string `json:"c,omitempty"`
	Masked    string `json:"m,omitempty"`
}

const (
	purposeCardSession = "card-session"
	purposeCardForm    = "card-form"
	cardCookie         = "lc_card"
	cardTTL            = 30 * 24 * time.Hour
	historyPage        = 10
)

type cardView struct {
	base
	Action    string
	Tenant    string
	Step      string // phone, code, card
	State     string
	Phone     string
	Masked    string
	Card      string
	CardQR    template.HTML
	Balance   loyalty.Balance
	Tier      string
	Progress  *tierView // nil: the program has no tiers
	Expiry    *loyalty.Expiry
	Blocked   bool
	Entries   []loyalty.Entry
	Older     string
	SignedIn  bool
	EnrollURL string
	Wallet    walletButtons
	// ReferralCode is shown while the program rewards referrals, with
	// the enrollment link that carries it.
	ReferralCode string
	ReferralLink string
	Marketing    bool // consent to campaigns and reminders (consent.go)
}

func (h *Handler) newCardView(r *http.Request, t *loyalty.Tenant) *cardView {
	v := &cardView{base: newBase(r, "card.title"), Action: "/c/" + t.Slug, Tenant: t.Name, Step: "phone"}
	v.EnrollURL = "/j/" + t.Slug + v.LangQuery
	if p := t.CurrentProgram; p != nil && p.Name != "" {
		v.Tenant = p.Name
	}
	return v
}

func (h *Handler) sealCardForm(v *cardView, f cardForm) {
	s, err := h.seal.Seal(purposeCardForm, h.deps.Now().Add(formTTL), f)
	if err != nil {
		panic(err)
	}
	v.State = s
}

// cardSessionOf opens the request's card session for tenant t.
func (h *Handler) cardSessionOf(r *http.Request, t *loyalty.Tenant) (cardSession, bool) {
	var s cardSession
	c, err := r.Cookie(cardCookie)
	if err != nil {
		return s, false
	}
	if h.seal.Open(purposeCardSession, c.Value, h.deps.Now(), &s) != nil || s.Tenant != t.ID || s.Member == "" {
		return s, false
	}
	return s, true
}

func (h *Handler) cardPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	v := h.newCardView(r, t)
	s, ok := h.cardSessionOf(r, t)
	if !ok {
		h.sealCardForm(v, cardForm{Slug: t.Slug})
		h.render(w, r, http.StatusOK, "card", "'self'", v)
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	if err := h.fillCard(r, t, s, v, max(before, 0)); err != nil {
		if errors.Is(err, loyalty.ErrMemberNotFound) {
			// The member is gone: the session means nothing any more.
			setCookie(w, r, cardCookie, "", "/c/"+t.Slug, -1, http.SameSiteLaxMode)
			v.Step, v.SignedIn = "phone", false
			h.sealCardForm(v, cardForm{Slug: t.Slug})
			h.render(w, r, http.StatusOK, "card", "'self'", v)
			return
		}
		v.Error = h.fail(r, v.Lang, err)
		h.render(w, r, http.StatusServiceUnavailable, "card", "'self'", v)
		return
	}
	h.render(w, r, http.StatusOK, "card", "'self'", v)
}

// fillCard reads what the signed-in card shows: the statement (one query)
// and a page of history.
func (h *Handler) fillCard(r *http.Request, t *loyalty.Tenant, s cardSession, v *cardView, before int64) error {
	c := loyalty.Caller{TenantID: t.ID}
	st, err := h.deps.Members.Statement(r.Context(), c, s.Member)
	if err != nil {
		return err
	}
	entries, err := h.deps.Members.Ledger(r.Context(), c, s.Member, historyPage, before)
	if err != nil {
		return err
	}
	a := st.Account
	v.Step, v.SignedIn, v.CSRF = "card", true, h.seal.CSRF(s.ID)
	v.Card, v.Balance, v.Tier, v.Expiry = a.Card, a.Balance(), a.Tier, st.NextExpiry
	v.Blocked = a.Status == loyalty.MemberBlocked
	if pr, ok := loyalty.ProgressOf(t.CurrentProgram, &st.Stats, &a, h.deps.Now()); ok {
		v.Progress = tierViewOf(v.Lang, pr)
	}
	v.Marketing = a.Marketing
	v.Entries = entries
	if len(entries) == historyPage {
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(entries[len(entries)-1].Seq, 10))
		v.Older = v.Action + "?" + q.Encode()
	}
	v.Wallet = h.walletButtonsOf(r, t, s.Member, v.LangQuery, false)
	if p := t.CurrentProgram; p != nil && p.Referral != nil && a.ReferralCode != "" {
		v.ReferralCode, v.ReferralLink = a.ReferralCode, enrollLink(r, t.Slug)+"?ref="+a.ReferralCode
	}
	v.CardQR, err = qrSVG(a.Card, T(v.Lang, "card.qr", a.Card))
	return err
}

func (h *Handler) cardPost(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	v := h.newCardView(r, t)
	if r.PostFormValue("step") == "signout" {
		s, ok := h.cardSessionOf(r, t)
		if !ok || !h.seal.CheckCSRF(s.ID, r.PostFormValue("csrf")) {
			h.message(w, r, http.StatusForbidden, v.Lang, "csrf.title", "csrf.lead", "'self'")
			return
		}
		setCookie(w, r, cardCookie, "", "/c/"+t.Slug, -1, http.SameSiteLaxMode)
		http.Redirect(w, r, v.Action+v.LangQuery, http.StatusSeeOther)
		return
	}
	if r.PostFormValue("step") == "consent" {
		h.cardConsent(w, r, t, v)
		return
	}
	var f cardForm
	if err := h.seal.Open(purposeCardForm, r.PostFormValue("state"), h.deps.Now(), &f); err != nil || f.Slug != t.Slug {
		h.message(w, r, http.StatusForbidden, v.Lang, "csrf.title", "csrf.lead", "'self'")
		return
	}
	if r.PostFormValue("step") == "verify" && f.Challenge != "" {
		h.cardVerify(w, r, t, f, v)
		return
	}
	v.Phone = r.PostFormValue("phone")
	e164, err := h.deps.Phones(v.Phone)
	if err != nil || len(v.Phone) > 32 {
		err = &loyalty.Error{Code: loyalty.CodeInvalidPhone}
	}
	if err == nil && h.deps.RateLimit != nil {
		err = h.deps.RateLimit(r.Context(), t.ID+"|ip:"+sourceOf(r))
	}
	if err == nil {
		var res loyalty.EnrollResult
		if res, err = h.deps.Enrollment.StartSignIn(r.Context(), t.ID, e164); err == nil {
			f.Challenge, f.Masked = res.ChallengeID, phone.Mask(e164)
			v.Step, v.Masked = "code", f.Masked
			h.sealCardForm(v, f)
			h.render(w, r, http.StatusOK, "card", "'self'", v)
			return
		}
	}
	v.Error, v.ErrorField = h.textOf(r, v.Lang, err), "phone"
	h.sealCardForm(v, f)
	h.render(w, r, statusOf(err), "card", "'self'", v)
}

func (h *Handler) cardVerify(w http.ResponseWriter, r *http.Request, t *loyalty.Tenant, f cardForm, v *cardView) {
	code := strings.TrimSpace(r.PostFormValue("code"))
	v.Step, v.Masked = "code", f.Masked
	var err error
	if !digits(code, 16) {
		err = errText("err.code")
	}
	if err == nil && h.deps.RateLimit != nil {
		err = h.deps.RateLimit(r.Context(), t.ID+"|verify-ip:"+sourceOf(r))
	}
	if err == nil {
		var member string
		if member, err = h.deps.Enrollment.VerifySignIn(r.Context(), t.ID, f.Challenge, code); err == nil {
			val, err := h.seal.Seal(purposeCardSession, h.deps.Now().Add(cardTTL), cardSession{Tenant: t.ID, Member: member, ID: randomID()})
			if err != nil {
				panic(err)
			}
			setCookie(w, r, cardCookie, val, "/c/"+t.Slug, int(cardTTL.Seconds()), http.SameSiteLaxMode)
			http.Redirect(w, r, v.Action+v.LangQuery, http.StatusSeeOther)
			return
		}
	}
	var le *loyalty.Error
	if errors.As(err, &le) && (le.Code == loyalty.CodeOTPLocked || le.Code == loyalty.CodeOTPExpired || le.Code == loyalty.CodeOTPUsed) {
		f.Challenge, f.Masked, v.Step = "", "", "phone"
	}
	v.Error, v.ErrorField = h.textOf(r, v.Lang, err), "code"
	h.sealCardForm(v, f)
	h.render(w, r, statusOf(err), "card", "'self'", v)
}

// statusOf is the HTTP status of a page answering with an error.
func statusOf(err error) int {
	var le *loyalty.Error
	if errors.As(err, &le) {
		switch le.Code {
		case loyalty.CodeTooManyRequests:
			return http.StatusTooManyRequests
		case loyalty.CodeForbidden:
			return http.StatusForbidden
		case loyalty.CodeUnauthorized:
			return http.StatusUnauthorized
		case loyalty.CodeInternal:
			return http.StatusInternalServerError
		}
		return http.StatusUnprocessableEntity
	}
	var pe pageError
	if errors.As(err, &pe) {
		return http.StatusUnprocessableEntity
	}
	return http.StatusServiceUnavailable
}
