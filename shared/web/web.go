// Package web serves the server-rendered pages: the enrollment page a
// partner site embeds (/j/{slug}), the customer's card page (/c/{slug}) and
// the cashier's till (/cashier). Pages are html/template over embedded
// templates and assets, work without JavaScript (a few lines of it only
// tell an embedding page the outcome and open the embed dialog), and call
// the domain's capabilities directly, as the API's handlers do, never the
// API over HTTP. No server-side session: what a browser carries between
// requests is sealed by the server (see Sealer), in hidden form fields (so
// enrollment works in a cross-site iframe without cookies) or in HttpOnly
// cookies for the signed-in card and till pages.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/recentops"
	"github.com/loyalty/cashback/shared/routes"
)

// The capabilities the pages use: subsets of the domain's Enrollment,
// Members, Orders and Tenancy (loyalty.Service implements them all).

// Enrollment sends and checks codes.
type Enrollment interface {
	StartEnrollment(ctx context.Context, tenantID string, idem loyalty.Idem, req loyalty.EnrollRequest, public bool) (loyalty.EnrollResult, bool, error)
	VerifyEnrollment(ctx context.Context, tenantID string, idem loyalty.Idem, challengeID, code string) (loyalty.VerifyResult, bool, error)
	StartSignIn(ctx context.Context, tenantID, e164 string) (loyalty.EnrollResult, error)
	VerifySignIn(ctx context.Context, tenantID, challengeID, code string) (string, error)
	SendEnrollmentLink(ctx context.Context, c loyalty.Caller, e164, base string) error
}

// Members reads members.
type Members interface {
	GetMember(ctx context.Context, c loyalty.Caller, memberID string) (*loyalty.Account, error)
	FindMember(ctx context.Context, c loyalty.Caller, ref loyalty.MemberRef) (*loyalty.Account, error)
	SearchMembers(ctx context.Context, c loyalty.Caller, q string, limit int) ([]loyalty.MemberSummary, error)
	Identify(ctx context.Context, c loyalty.Caller, ref loyalty.MemberRef, word string) (*loyalty.Account, error)
	Ledger(ctx context.Context, c loyalty.Caller, memberID string, limit int, beforeSeq int64) ([]loyalty.Entry, error)
	Statement(ctx context.Context, c loyalty.Caller, memberID string) (loyalty.Statement, error)
}

// Orders is the till's hot path.
type Orders interface {
	Quote(ctx context.Context, c loyalty.Caller, ref loyalty.MemberRef, req loyalty.QuoteRequest) (loyalty.QuoteResult, error)
	RedeemPoints(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, ref loyalty.MemberRef, req loyalty.RedeemRequest) (loyalty.RedeemResult, bool, error)
	CloseOrder(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, ref loyalty.MemberRef, req loyalty.CloseRequest) (loyalty.CloseResult, bool, error)
	CancelOrder(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, orderID string) (loyalty.CancelResult, bool, error)
	RefundOrder(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, orderID string, req loyalty.RefundRequest) (loyalty.RefundResult, bool, error)
}

// Tenancy finds tenants and authenticates staff keys.
type Tenancy interface {
	Authenticate(ctx context.Context, keyHash string) (loyalty.Caller, error)
	TenantBySlug(ctx context.Context, slug string) (*loyalty.Tenant, error)
	ListPointsOfSale(ctx context.Context, c loyalty.Caller) ([]loyalty.PointOfSale, error)
}

// RecentOps reads a point of sale's list of recent operations.
type RecentOps interface {
	Recent(ctx context.Context, tenantID, posID string) (recentops.List, error)
}

// Deps are what the pages need.
type Deps struct {
	Enrollment Enrollment
	Members    Members
	Orders     Orders
	Tenancy    Tenancy
	// Wallets builds the card's wallet passes; nil: no wallet buttons.
	Wallets Wallets
	// Console is the owner's back office's; nil: no /console.
	Console *Console
	// Recent reads a point of sale's last operations (kept from the feed
	// by shared/recentops); nil: the till shows no list.
	Recent RecentOps
	// Phones normalises typed phone numbers to E.164.
	Phones func(string) (string, error)
	// RateLimit counts one public request from a source and refuses past
	// the limit (the API's public limit per address).
	RateLimit func(ctx context.Context, scope string) error
	// Consent changes marketing consent (card page, unsubscribe links);
	// nil: those forms answer 503.
	Consent Consent
	// Secret keys the sealed form state and sessions (derived keys only).
	Secret []byte
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler serves the pages.
type Handler struct {
	deps  Deps
	seal  *Sealer
	pages map[string]*template.Template
	mux   *http.ServeMux
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// asset is one static file, served under a name carrying its content hash
// so it can be cached for a year and never go stale.
type asset struct {
	name, contentType string
	body              []byte
}

var (
	assets     = map[string]asset{}  // hashed name → asset
	assetNames = map[string]string{} // logical name → /static/hashed name
	embedJS    []byte
)

func init() {
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		if e.Name() == "embed.js" {
			embedJS = b // partners paste its address: a stable name
			continue
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		assets[hashed] = asset{name: hashed, contentType: types[ext], body: b}
		assetNames[e.Name()] = "/static/" + hashed
	}
}

// New builds the pages' handler.
func New(deps Deps) (*Handler, error) {
	seal, err := NewSealer(deps.Secret)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	h := &Handler{deps: deps, seal: seal, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"t":      T,
		"asset":  func(name string) string { return assetNames[name] },
		"points": formatPoints,
		"money":  formatMoney,
		"date":   formatDate,
		"kind":   func(lang string, k loyalty.EntryKind) string { return T(lang, "kind."+string(k)) },
		"entry": func(lang string, e loyalty.Entry) entryLine {
			return entryLineOf(lang, e.Kind, e.Amount, e.Available, e.Held, e.Stamps)
		},
		"op": func(lang string, o recentops.Op) entryLine {
			return entryLineOf(lang, loyalty.EntryKind(o.Kind), loyalty.Points(o.Points), loyalty.Points(o.Available), loyalty.Points(o.Held), nil)
		},
		"kindOf": func(lang, k string) string { return T(lang, "kind."+k) },
		"clock":  formatClock,
	}
	base := template.Must(template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/base.html"))
	for _, p := range []string{"enroll", "card", "cashier", "message", "unsubscribe"} {
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html"))
		h.pages[p] = t
	}
	if err := h.consoleTemplates(funcs); err != nil {
		return nil, err
	}
	h.mux = http.NewServeMux()
	handlers := map[string]http.HandlerFunc{
		"page-enroll": h.enrollPage, "page-enroll-post": h.enrollPost,
		"page-enroll-qr-png": h.enrollQRPNG, "page-enroll-qr-svg": h.enrollQRSVG,
		"page-card": h.cardPage, "page-card-post": h.cardPost, "page-card-pass": h.cardPass,
		"page-cashier": h.cashierPage, "page-cashier-post": h.cashierPost,
		"page-embed-script": h.embedScript, "page-static": h.static,
		"page-unsubscribe": h.unsubscribePage, "page-unsubscribe-post": h.unsubscribePost,
	}
	for id, f := range h.consoleHandlers() {
		handlers[id] = f
	}
	for _, r := range routes.Routes {
		if !routes.IsPage(r) {
			continue
		}
		f, ok := handlers[r.OperationID]
		if !ok {
			return nil, fmt.Errorf("web: no handler for page %s", r.OperationID)
		}
		h.mux.HandleFunc(r.Method+" "+r.Path, h.guard(f))
	}
	return h, nil
}

// ServeHTTP serves a page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// maxForm bounds a form body; the largest form is a few hundred bytes.
const maxForm = 16 << 10

// guard sets what every response carries, bounds form bodies and turns a
// panic into the generic error page, never a stack trace.
func (h *Handler) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		if r.Method == http.MethodPost {
			limit := int64(maxForm)
			if r.URL.Path == "/console/data" {
				limit = maxUpload // a CSV file, read by the console's handler
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := r.ParseForm(); err != nil {
				h.message(w, r, http.StatusBadRequest, langOf(r), "csrf.title", "err.invalid_request", "'none'")
				return
			}
		}
		defer func() {
			if v := recover(); v != nil {
				h.deps.Logger.ErrorContext(r.Context(), "page panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				h.message(w, r, http.StatusInternalServerError, langOf(r), "err.internal", "err.internal", "'none'")
			}
		}()
		next(w, r)
	}
}

// csp is the page's Content-Security-Policy: scripts and styles only from
// the service's own files (no inline code), forms posting only to it, and
// framing by exactly the given ancestors.
func csp(frameAncestors string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + frameAncestors
}

// base is what every page's template reads.
type base struct {
	Lang string
	// LangQuery is "?lang=xx" when the language was chosen explicitly,
	// to keep it on links.
	LangQuery string
	Title     string
	// Other is the link to the page in the other language.
	Other string
	Embed bool
	Error string
	// ErrorField names the field the error is about (aria-describedby).
	ErrorField string
	Notice     string
	CSRF       string
}

func newBase(r *http.Request, title string) base {
	lang := langOf(r)
	b := base{Lang: lang, Title: T(lang, title)}
	if r.URL.Query().Get("lang") != "" || r.PostFormValue("lang") != "" {
		b.LangQuery = "?lang=" + lang
	}
	other := T(lang, "lang.other")
	q := r.URL.Query()
	q.Set("lang", other)
	b.Other = r.URL.Path + "?" + q.Encode()
	return b
}

// render writes a page with its headers.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, frameAncestors string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "base", data); err != nil {
		h.deps.Logger.ErrorContext(r.Context(), "render", "page", page, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp(frameAncestors))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type messagePage struct {
	base
	Lead string
	// Back is the page to start again from (a refused form's page).
	Back string
}

// message renders a page that only says something (404, expired form).
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, lang, title, lead, frameAncestors string) {
	b := newBase(r, title)
	b.Lang, b.Title = lang, T(lang, title)
	m := messagePage{base: b, Lead: T(lang, lead)}
	if r.Method == http.MethodPost {
		m.Back = r.URL.Path + b.LangQuery
	}
	h.render(w, r, status, "message", frameAncestors, m)
}

// fail logs an unexpected error (without personal data) and returns its
// readable text; domain errors are expected and not logged.
func (h *Handler) fail(r *http.Request, lang string, err error) string {
	var le *loyalty.Error
	if !errors.As(err, &le) || le.Code == loyalty.CodeInternal {
		h.deps.Logger.ErrorContext(r.Context(), "page error", "path", routeOf(r), "error", err.Error())
	}
	return errorText(lang, err)
}

// routeOf is the request's route pattern: logs name the page, never a
// tenant slug or member data.
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}

func (h *Handler) embedScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	// A stable address partners paste; short cache so fixes reach them.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(embedJS)
}

// isLoopback reports whether the request reached a loopback host (the
// local server, tests): its cookies cannot be Secure over plain HTTP.
func isLoopback(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// setCookie writes a session cookie: HttpOnly, SameSite, Secure except on
// loopback, limited to the page's path.
func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: !isLoopback(r), SameSite: sameSite})
}

// sourceOf is the caller's address (API Gateway's sourceIp behind Lambda,
// the socket peer locally; never a client header).
func sourceOf(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// idemOf hashes what a form asked, for the domain's idempotency check: the
// same key and the same fields replay, the same key with other fields is
// refused.
func idemOf(key, action string, fields ...string) loyalty.Idem {
	h := sha256.New()
	h.Write([]byte("page:" + action))
	for _, f := range fields {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return loyalty.Idem{Key: key, Hash: hex.EncodeToString(h.Sum(nil))}
}
