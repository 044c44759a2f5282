package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone"
)

// enrollState travels in the enrollment form's hidden field: which tenant,
// which code was sent, the form's idempotency key, and the embedding
// parent's origin (checked against the allowlist when the page was first
// opened), so the flow needs no cookie inside a cross-site iframe.
type enrollState struct {
	Slug      string `json:"s"`
	Idem      string `json:"k"`
	Challenge string `json:"c,omitempty"`
	Masked    string `json:"m,omitempty"`
	Parent    string `json:"o,omitempty"`
	Embed     bool   `json:"e,omitempty"`
}

const (
	purposeEnroll = "enroll"
	formTTL       = time.Hour
)

type enrollView struct {
	base
	Action    string
	Tenant    string
	Program   string
	TermsURL  string
	Closed    bool
	Step      string // form, code, done
	State     string
	Phone     string
	Email     string
	Name      string
	BirthDate string
	// Referral: the program rewards referrals (the code field shows);
	// ReferralCode prefilled from the link's ?ref= or as typed.
	Referral     bool
	ReferralCode string
	Terms        bool
	Marketing    bool
	Masked       string
	CodeLen      int
	Card         string
	CardQR       template.HTML
	Balance      loyalty.Balance
	CardURL      string
	Parent       string
	Wallet       walletButtons
}

var slugRe = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// tenantOf finds the page's tenant, or renders the 404 page.
func (h *Handler) tenantOf(w http.ResponseWriter, r *http.Request) (*loyalty.Tenant, bool) {
	slug := r.PathValue("tenantSlug")
	var t *loyalty.Tenant
	var err error = loyalty.ErrTenantNotFound
	if slugRe.MatchString(slug) {
		t, err = h.deps.Tenancy.TenantBySlug(r.Context(), slug)
	}
	if err != nil {
		lang := langOf(r)
		if errors.Is(err, loyalty.ErrTenantNotFound) {
			h.message(w, r, http.StatusNotFound, lang, "notFound.title", "notFound.lead", "'self'")
		} else {
			h.fail(r, lang, err)
			h.message(w, r, http.StatusServiceUnavailable, lang, "err.unavailable", "err.unavailable", "'self'")
		}
		return nil, false
	}
	return t, true
}

// frameAncestors lists exactly the tenant's allowed origins ('self' when
// none): only those sites may frame the enrollment page.
func frameAncestors(t *loyalty.Tenant) string {
	if len(t.AllowedOrigins) == 0 {
		return "'self'"
	}
	return strings.Join(t.AllowedOrigins, " ")
}

// parentOrigin is the embedding site's origin when the page is opened in a
// frame by an allowed site (from the Referer the browser sends with the
// frame's first request); "" otherwise.
func parentOrigin(r *http.Request, t *loyalty.Tenant) string {
	u, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	o := u.Scheme + "://" + strings.ToLower(u.Host)
	if slices.Contains(t.AllowedOrigins, o) {
		return o
	}
	return ""
}

func (h *Handler) newEnrollView(r *http.Request, t *loyalty.Tenant, st enrollState) *enrollView {
	v := &enrollView{base: newBase(r, "enroll.title"), Action: "/j/" + t.Slug, Tenant: t.Name, Step: "form"}
	v.Embed = st.Embed
	if p := t.CurrentProgram; p != nil {
		v.Program, v.TermsURL = p.Name, p.TermsURL
		v.Closed = !p.Running(h.deps.Now())
		v.Referral = p.Referral != nil
	} else {
		v.Closed = true
	}
	if v.Program == "" {
		v.Program = t.Name
	}
	v.Title = v.Program
	v.CardURL = "/c/" + t.Slug + v.LangQuery
	return v
}

// sealEnroll seals the next form's state, with a fresh idempotency key:
// one per rendered form, so a double submit replays and changes nothing.
func (h *Handler) sealEnroll(v *enrollView, st enrollState) {
	st.Idem = randomID()
	s, err := h.seal.Seal(purposeEnroll, h.deps.Now().Add(formTTL), st)
	if err != nil {
		panic(err) // marshalling a struct of strings does not fail
	}
	v.State = s
}

func (h *Handler) enrollPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	st := enrollState{Slug: t.Slug, Embed: r.URL.Query().Get("embed") == "1"}
	if st.Embed {
		st.Parent = parentOrigin(r, t)
	}
	v := h.newEnrollView(r, t, st)
	if v.Closed {
		v.Error = T(v.Lang, "err.enrollment_closed")
	}
	if ref := r.URL.Query().Get("ref"); v.Referral && len(ref) <= 32 {
		v.ReferralCode = ref // a friend's link: ?ref=CODE
	}
	h.sealEnroll(v, st)
	h.render(w, r, http.StatusOK, "enroll", frameAncestors(t), v)
}

func (h *Handler) enrollPost(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	var st enrollState
	if err := h.seal.Open(purposeEnroll, r.PostFormValue("state"), h.deps.Now(), &st); err != nil || st.Slug != t.Slug {
		h.message(w, r, http.StatusForbidden, langOf(r), "csrf.title", "csrf.lead", frameAncestors(t))
		return
	}
	v := h.newEnrollView(r, t, st)
	if r.PostFormValue("step") == "verify" && st.Challenge != "" {
		h.enrollVerify(w, r, t, st, v)
		return
	}
	h.enrollStart(w, r, t, st, v)
}

func (h *Handler) enrollStart(w http.ResponseWriter, r *http.Request, t *loyalty.Tenant, st enrollState, v *enrollView) {
	f := r.PostForm
	v.Phone, v.Email, v.Name, v.BirthDate = f.Get("phone"), f.Get("email"), f.Get("name"), f.Get("birthDate")
	v.Terms, v.Marketing = f.Get("terms") == "on", f.Get("marketing") == "on"
	v.ReferralCode = strings.TrimSpace(f.Get("referralCode"))
	status, field, err := http.StatusUnprocessableEntity, "", error(nil)
	var e164 string
	switch {
	case len(v.Name) > 200:
		field, err = "name", loyalty.Invalid("name", "too long")
	case v.Email != "" && !validEmail(v.Email):
		field, err = "email", errText("err.email")
	case v.BirthDate != "" && !validBirthDate(v.BirthDate, h.deps.Now()):
		field, err = "birthDate", errText("err.birthDate")
	case len(v.ReferralCode) > 32:
		field, err = "referralCode", loyalty.ErrReferralUnknown
	}
	if err == nil {
		if e164, err = h.deps.Phones(v.Phone); err != nil || len(v.Phone) > 32 {
			field, err = "phone", &loyalty.Error{Code: loyalty.CodeInvalidPhone}
		}
	}
	if err == nil && h.deps.RateLimit != nil {
		err = h.deps.RateLimit(r.Context(), t.ID+"|ip:"+sourceOf(r))
	}
	if err == nil {
		req := loyalty.EnrollRequest{Phone: e164, Email: strings.TrimSpace(v.Email), Name: strings.TrimSpace(v.Name),
			BirthDate: v.BirthDate, Terms: v.Terms, Marketing: v.Marketing}
		if v.Referral {
			req.ReferralCode = v.ReferralCode
		}
		var res loyalty.EnrollResult
		res, _, err = h.deps.Enrollment.StartEnrollment(r.Context(), t.ID,
			idemOf(st.Idem, "enroll", t.Slug, e164, req.Email, req.Name, req.BirthDate, strconv.FormatBool(req.Terms), strconv.FormatBool(req.Marketing), req.ReferralCode), req, true)
		if err == nil {
			st.Challenge, st.Masked = res.ChallengeID, phone.Mask(e164)
			v.Step, v.Masked, v.CodeLen = "code", st.Masked, res.CodeLength
			h.sealEnroll(v, st)
			h.render(w, r, http.StatusOK, "enroll", frameAncestors(t), v)
			return
		}
		var le *loyalty.Error
		if errors.As(err, &le) {
			switch le.Code {
			case loyalty.CodeConsentRequired:
				field = "terms"
			case loyalty.CodePhoneNotAllowed, loyalty.CodeCountryNotAllowed:
				field = "phone"
			case loyalty.CodeReferralCodeUnknown, loyalty.CodeReferralSelf, loyalty.CodeReferralPhoneUsed:
				field = "referralCode"
			case loyalty.CodeTooManyRequests:
				status = http.StatusTooManyRequests
			}
		}
	}
	v.Error, v.ErrorField = h.textOf(r, v.Lang, err), field
	h.sealEnroll(v, st)
	h.render(w, r, status, "enroll", frameAncestors(t), v)
}

func (h *Handler) enrollVerify(w http.ResponseWriter, r *http.Request, t *loyalty.Tenant, st enrollState, v *enrollView) {
	code := strings.TrimSpace(r.PostFormValue("code"))
	v.Step, v.Masked = "code", st.Masked
	var err error
	if !digits(code, 16) {
		err = errText("err.code")
	}
	if err == nil && h.deps.RateLimit != nil {
		err = h.deps.RateLimit(r.Context(), t.ID+"|verify-ip:"+sourceOf(r))
	}
	if err == nil {
		var res loyalty.VerifyResult
		res, _, err = h.deps.Enrollment.VerifyEnrollment(r.Context(), t.ID, idemOf(st.Idem, "verify", st.Challenge, code), st.Challenge, code)
		if err == nil {
			v.Step, v.Card, v.Balance, v.Parent = "done", res.CardNumber, res.Balance, st.Parent
			v.CardQR, err = qrSVG(res.CardNumber, T(v.Lang, "card.qr", res.CardNumber))
			if err != nil {
				h.fail(r, v.Lang, err)
			}
			v.Wallet = h.walletButtonsOf(r, t, res.MemberID, v.LangQuery, true)
			v.Wallet.Blank = v.Embed
			v.Title = T(v.Lang, "done.title")
			h.render(w, r, http.StatusCreated, "enroll", frameAncestors(t), v)
			return
		}
	}
	status := http.StatusUnprocessableEntity
	var le *loyalty.Error
	if errors.As(err, &le) {
		switch le.Code {
		case loyalty.CodeOTPLocked, loyalty.CodeOTPExpired, loyalty.CodeOTPUsed, loyalty.CodeChallengeNotFound:
			// This code is spent: back to the first form for a new one.
			st.Challenge, st.Masked = "", ""
			v.Step = "form"
		case loyalty.CodeTooManyRequests:
			status = http.StatusTooManyRequests
		}
	}
	v.Error, v.ErrorField = h.textOf(r, v.Lang, err), "code"
	if v.Step == "form" {
		v.ErrorField = ""
	}
	h.sealEnroll(v, st)
	h.render(w, r, status, "enroll", frameAncestors(t), v)
}

// textOf is the readable text of err: the page's own messages (errText)
// as they are, the domain's through the catalogue.
func (h *Handler) textOf(r *http.Request, lang string, err error) string {
	var pe pageError
	if errors.As(err, &pe) {
		return T(lang, string(pe))
	}
	return h.fail(r, lang, err)
}

// pageError is an error the page itself finds in a form (a message key).
type pageError string

func (e pageError) Error() string { return string(e) }

func errText(key string) error { return pageError(key) }

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == strings.TrimSpace(s) && len(s) <= 254
}

func validBirthDate(s string, now time.Time) bool {
	d, err := time.Parse("2006-01-02", s)
	return err == nil && d.Before(now) && d.Year() > 1900
}

func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// enrollLink is the enrollment page's address as the request reached the
// service.
func enrollLink(r *http.Request, slug string) string {
	scheme := "https"
	if isLoopback(r) {
		scheme = "http"
	}
	return scheme + "://" + r.Host + "/j/" + slug
}

func (h *Handler) enrollQRSVG(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	svg, err := qrSVG(enrollLink(r, t.Slug), t.Name)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write([]byte(svg))
}

func (h *Handler) enrollQRPNG(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOf(w, r)
	if !ok {
		return
	}
	b, err := qrPNG(enrollLink(r, t.Slug), 512)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}
