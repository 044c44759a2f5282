package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/wallet"
)

// The owner's back office (/console, seeds 001, 003 and 004): programs,
// points of sale and staff, members, bulk accruals, imports and exports,
// webhooks and embedding, plan and usage, the audit trail. Signed in with
// an owner or admin key like the cashier page (a sealed cookie holding the
// key's hash, authenticated again on every request, so a revoked key stops
// at once). It calls the domain through the API handlers' own interfaces
// (shared/api/ports.go): every rule, role check and validation is the
// domain's, and its errors are shown next to the field they name.

// Console is what the back office needs beyond the other pages.
type Console struct {
	Members  api.Members
	Programs api.Programs
	Tenancy  api.Tenancy
	Catalog  api.Catalog
	// Webhooks lists, enables and deletes endpoints; nil: the section
	// says webhooks are managed through the API.
	Webhooks api.Webhooks
	// Directory imports and lists members (CSV import and export).
	Directory Directory
	// Wallets reads a member's wallets; nil: not shown.
	Wallets interface {
		WalletsOf(ctx context.Context, tenantID, memberID string) (wallet.Wallets, error)
	}
	// Reports answers the liability and activity reports (reports.Service);
	// nil: the section says reports are not available here.
	Reports api.Reports
}

// Directory is the member directory the CSV import and export use
// (loyalty.Members).
type Directory interface {
	ImportMember(ctx context.Context, c loyalty.Caller, row loyalty.ImportRow) (string, error)
	ListMembers(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.MemberSummary, error)
	GetMember(ctx context.Context, c loyalty.Caller, memberID string) (*loyalty.Account, error)
}

type consoleSession struct {
	KeyHash string `json:"k"`
	ID      string `json:"s"`
}

const (
	purposeConsoleSession = "console-session"
	purposeConsoleForm    = "console-form"
	consoleCookie         = "lc_console"
	consoleTTL            = 8 * time.Hour
	// maxUpload bounds a CSV import (a Lambda request carries at most 6 MB).
	maxUpload = 4 << 20
)

// consoleSections are the navigation's sections, in order.
var consoleSections = []string{"overview", "programs", "staff", "members", "bulk", "reports", "data", "settings", "audit"}

// consoleView is what every console page's template reads; Page holds the
// section's own data.
type consoleView struct {
	base
	SignedIn bool
	State    string
	Section  string
	Sections []string
	Role     loyalty.Role
	Owner    bool
	FormKey  string
	// Errs are messages per field id, shown next to the field.
	Errs map[string]string
	Page any
}

// Invalid marks a field that has an error: aria-invalid and the message's id.
func (v *consoleView) Invalid(id string) template.HTMLAttr {
	if _, ok := v.Errs[id]; !ok {
		return ""
	}
	return template.HTMLAttr(` aria-invalid="true" aria-describedby="` + html.EscapeString(id) + `-error"`)
}

// FieldError is a field's message, next to it.
func (v *consoleView) FieldError(id string) template.HTML {
	msg, ok := v.Errs[id]
	if !ok {
		return ""
	}
	return template.HTML(`<p class="field-error" role="alert" id="` + html.EscapeString(id) + `-error">` + html.EscapeString(msg) + `</p>`)
}

// FirstError is the id of the field with an error (the summary's link).
func (v *consoleView) FirstError() string {
	first := ""
	for id := range v.Errs {
		if first == "" || id < first {
			first = id
		}
	}
	return first
}

// fieldErr records a message for a field, or for the page when the page
// has no such field.
func (v *consoleView) fieldErr(id, msg string, known func(string) bool) {
	if id != "" && (known == nil || known(id)) {
		if v.Errs == nil {
			v.Errs = map[string]string{}
		}
		v.Errs[id] = msg
		return
	}
	v.Error = msg
}

func (h *Handler) consoleTemplates(funcs template.FuncMap) error {
	more := template.FuncMap{
		"inc":  func(i int) int { return i + 1 },
		"i64":  func(i int) int64 { return int64(i) },
		"pct":  percentText,
		"pts":  func(s string) loyalty.Points { v, _ := parseHundredths(s); return loyalty.Points(v) },
		"join": strings.Join,
		"list": func(xs ...any) []any { return xs },
		"yesno": func(lang string, b bool) string {
			if b {
				return T(lang, "console.yes")
			}
			return T(lang, "console.no")
		},
		"datetime": func(lang string, t time.Time) string { return formatDate(lang, t) + " " + t.UTC().Format("15:04") },
		"limit": func(lang string, n, max int64) limitView {
			return limitView{N: n, Max: max, High: max * 9 / 10, Unlimited: T(lang, "console.unlimited")}
		},
		"useKind": func(lang, k string) string {
			if _, ok := messages["console.use."+k]; ok {
				return T(lang, "console.use."+k)
			}
			return k
		},
		// auditLink is the console's page of an audit entry's target.
		"auditLink": func(target string) string {
			switch {
			case strings.HasPrefix(target, "m_"):
				return "/console/members/" + target
			case strings.HasPrefix(target, "p_"):
				return "/console/programs/" + target
			}
			return ""
		},
		"auditAction": func(lang, a string) string {
			if _, ok := messages["console.audit."+a]; ok {
				return T(lang, "console.audit."+a)
			}
			return a
		},
	}
	layout, err := template.New("console").Funcs(funcs).Funcs(more).ParseFS(templateFS, "templates/console.html")
	if err != nil {
		return err
	}
	for _, p := range append([]string{"signin"}, consoleSections...) {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/console_"+p+".html")
		if err != nil {
			return err
		}
		h.pages["console_"+p] = t
	}
	for _, p := range []string{"program", "member"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/console_"+p+".html")
		if err != nil {
			return err
		}
		h.pages["console_"+p] = t
	}
	return nil
}

// limitView is a count against a plan's limit (0: unlimited).
type limitView struct {
	N, Max, High int64
	Unlimited    string
}

func (h *Handler) consoleHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"page-console": h.consoleGet, "page-console-post": h.consolePost,
		"page-console-section": h.consoleGet, "page-console-section-post": h.consolePost,
		"page-console-item": h.consoleGet, "page-console-item-post": h.consolePost,
	}
}

// renderConsole writes a console page (never framed, never cached).
func (h *Handler) renderConsole(w http.ResponseWriter, r *http.Request, status int, page string, v *consoleView) {
	var buf bytes.Buffer
	t, ok := h.pages["console_"+page]
	if !ok {
		h.message(w, r, http.StatusNotFound, v.Lang, "notFound.title", "console.notFound", "'none'")
		return
	}
	if err := t.ExecuteTemplate(&buf, "console", v); err != nil {
		h.deps.Logger.ErrorContext(r.Context(), "render", "page", page, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp("'none'"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// consoleSignIn renders the sign-in form with why it is shown.
func (h *Handler) consoleSignIn(w http.ResponseWriter, r *http.Request, status int, errKey string) {
	v := &consoleView{base: newBase(r, "console.title")}
	v.State, _ = h.seal.Seal(purposeConsoleForm, h.deps.Now().Add(time.Hour), struct{}{})
	if errKey != "" {
		v.Error, v.ErrorField = T(v.Lang, errKey), "key"
	}
	h.renderConsole(w, r, status, "signin", v)
}

// consoleAuth opens the session and authenticates its key again. Without
// a session (or with one expired, refused or below admin) it answers with
// the sign-in form itself and ok is false; a POST must also carry the
// session's CSRF token.
func (h *Handler) consoleAuth(w http.ResponseWriter, r *http.Request) (consoleSession, loyalty.Caller, bool) {
	var s consoleSession
	ck, err := r.Cookie(consoleCookie)
	if err != nil {
		if r.Method == http.MethodPost {
			h.consoleSignIn(w, r, http.StatusUnauthorized, "console.expired")
		} else {
			h.consoleSignIn(w, r, http.StatusOK, "")
		}
		return s, loyalty.Caller{}, false
	}
	if h.seal.Open(purposeConsoleSession, ck.Value, h.deps.Now(), &s) != nil || s.KeyHash == "" {
		setCookie(w, r, consoleCookie, "", "/console", -1, http.SameSiteStrictMode)
		h.consoleSignIn(w, r, http.StatusUnauthorized, "console.expired")
		return s, loyalty.Caller{}, false
	}
	if r.Method == http.MethodPost && !h.seal.CheckCSRF(s.ID, r.PostFormValue("csrf")) {
		h.message(w, r, http.StatusForbidden, langOf(r), "csrf.title", "csrf.lead", "'none'")
		return s, loyalty.Caller{}, false
	}
	c, err := h.deps.Console.Tenancy.Authenticate(r.Context(), s.KeyHash)
	if err != nil || c.Role == loyalty.RoleCashier {
		var le *loyalty.Error
		if err == nil || errors.As(err, &le) && le.Code == loyalty.CodeUnauthorized {
			setCookie(w, r, consoleCookie, "", "/console", -1, http.SameSiteStrictMode)
			h.consoleSignIn(w, r, http.StatusUnauthorized, "console.err.key")
			return s, c, false
		}
		h.consoleSignIn(w, r, statusOf(err), "err.unavailable")
		return s, c, false
	}
	return s, c, true
}

// consoleBase is the signed-in page's frame.
func (h *Handler) consoleBase(r *http.Request, s consoleSession, c loyalty.Caller, section string) *consoleView {
	v := &consoleView{base: newBase(r, "console.nav."+section), SignedIn: true, Section: section, Sections: consoleSections,
		Role: c.Role, Owner: c.Role == loyalty.RoleOwner, FormKey: randomID()}
	v.CSRF = h.seal.CSRF(s.ID)
	return v
}

func (h *Handler) consoleGet(w http.ResponseWriter, r *http.Request) {
	if h.deps.Console == nil {
		http.NotFound(w, r)
		return
	}
	section, item := r.PathValue("section"), r.PathValue("item")
	if section == "" {
		section = "overview"
	}
	if !validSection(section) || section == "overview" && r.PathValue("section") != "" {
		h.message(w, r, http.StatusNotFound, langOf(r), "notFound.title", "console.notFound", "'none'")
		return
	}
	s, c, ok := h.consoleAuth(w, r)
	if !ok {
		return
	}
	v := h.consoleBase(r, s, c, section)
	page, status := h.consoleShow(w, r, c, v, item)
	if page == "" {
		return // answered (a download)
	}
	h.renderConsole(w, r, status, page, v)
}

func (h *Handler) consolePost(w http.ResponseWriter, r *http.Request) {
	if h.deps.Console == nil {
		http.NotFound(w, r)
		return
	}
	section, item := r.PathValue("section"), r.PathValue("item")
	if section == "data" && item == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// A CSV upload: the guard left the multipart body unread.
		if err := r.ParseMultipartForm(maxUpload); err != nil {
			h.message(w, r, http.StatusRequestEntityTooLarge, langOf(r), "console.data.title", "console.err.upload", "'none'")
			return
		}
	}
	if section == "" {
		h.consoleAccount(w, r)
		return
	}
	if !validSection(section) || section == "overview" {
		h.message(w, r, http.StatusNotFound, langOf(r), "notFound.title", "console.notFound", "'none'")
		return
	}
	s, c, ok := h.consoleAuth(w, r)
	if !ok {
		return
	}
	v := h.consoleBase(r, s, c, section)
	if k := r.PostFormValue("formKey"); k != "" && len(k) <= 64 {
		v.FormKey = k // the same form sent again keeps its key
	}
	action := r.PostFormValue("action")
	err := h.consoleAction(r, c, v, section, item, action)
	status := http.StatusOK
	if err != nil {
		status = consoleStatus(err)
		h.consoleError(r, v, err)
	}
	// Redisplay the section (or item) with the outcome.
	page, st := h.consoleShow(w, r, c, v, item)
	if page == "" {
		return
	}
	if status == http.StatusOK {
		status = st
	}
	h.renderConsole(w, r, status, page, v)
}

// consoleAccount signs in and out.
func (h *Handler) consoleAccount(w http.ResponseWriter, r *http.Request) {
	switch r.PostFormValue("action") {
	case "signin":
		if h.seal.Open(purposeConsoleForm, r.PostFormValue("state"), h.deps.Now(), &struct{}{}) != nil {
			h.message(w, r, http.StatusForbidden, langOf(r), "csrf.title", "csrf.lead", "'none'")
			return
		}
		key := strings.TrimSpace(r.PostFormValue("key"))
		if key == "" || len(key) > 200 {
			h.consoleSignIn(w, r, http.StatusUnauthorized, "console.err.key")
			return
		}
		hash := loyalty.HashAPIKey(key)
		c, err := h.deps.Console.Tenancy.Authenticate(r.Context(), hash)
		if err != nil {
			var le *loyalty.Error
			if errors.As(err, &le) && le.Code == loyalty.CodeUnauthorized {
				h.consoleSignIn(w, r, http.StatusUnauthorized, "console.err.key")
				return
			}
			h.consoleSignIn(w, r, statusOf(err), "err.unavailable")
			return
		}
		if c.Role == loyalty.RoleCashier {
			h.consoleSignIn(w, r, http.StatusForbidden, "console.err.cashier")
			return
		}
		val, err := h.seal.Seal(purposeConsoleSession, h.deps.Now().Add(consoleTTL), consoleSession{KeyHash: hash, ID: randomID()})
		if err != nil {
			panic(err)
		}
		setCookie(w, r, consoleCookie, val, "/console", int(consoleTTL.Seconds()), http.SameSiteStrictMode)
		http.Redirect(w, r, "/console"+newBase(r, "").LangQuery, http.StatusSeeOther)
	case "signout":
		var s consoleSession
		if ck, err := r.Cookie(consoleCookie); err != nil || h.seal.Open(purposeConsoleSession, ck.Value, h.deps.Now(), &s) != nil ||
			!h.seal.CheckCSRF(s.ID, r.PostFormValue("csrf")) {
			h.message(w, r, http.StatusForbidden, langOf(r), "csrf.title", "csrf.lead", "'none'")
			return
		}
		setCookie(w, r, consoleCookie, "", "/console", -1, http.SameSiteStrictMode)
		http.Redirect(w, r, "/console"+newBase(r, "").LangQuery, http.StatusSeeOther)
	default:
		h.message(w, r, http.StatusBadRequest, langOf(r), "csrf.title", "err.invalid_request", "'none'")
	}
}

func validSection(s string) bool {
	for _, x := range consoleSections {
		if x == s {
			return true
		}
	}
	return false
}

// consoleShow fills the page of a section or item and names its template;
// "" when it answered itself (a download, a 404).
func (h *Handler) consoleShow(w http.ResponseWriter, r *http.Request, c loyalty.Caller, v *consoleView, item string) (string, int) {
	switch v.Section {
	case "overview":
		return h.overviewShow(r, c, v), http.StatusOK
	case "programs":
		if item != "" {
			return h.programShow(w, r, c, v, item)
		}
		return h.programsShow(r, c, v), http.StatusOK
	case "staff":
		return h.staffShow(r, c, v), http.StatusOK
	case "members":
		if item != "" {
			return h.memberShow(w, r, c, v, item)
		}
		return h.membersShow(r, c, v), http.StatusOK
	case "bulk":
		return h.bulkShow(r, c, v), http.StatusOK
	case "data":
		if item != "" {
			return h.dataDownload(w, r, c, v, item)
		}
		return h.dataShow(r, c, v), http.StatusOK
	case "settings":
		return h.settingsShow(r, c, v), http.StatusOK
	case "reports":
		if item != "" {
			return h.reportsDownload(w, r, c, v, item)
		}
		return h.reportsShow(r, c, v)
	case "audit":
		return h.auditShow(r, c, v), http.StatusOK
	}
	return "", 0
}

// consoleAction runs one form's action of a section.
func (h *Handler) consoleAction(r *http.Request, c loyalty.Caller, v *consoleView, section, item, action string) error {
	switch section {
	case "programs":
		return h.programAction(r, c, v, item, action)
	case "staff":
		return h.staffAction(r, c, v, action)
	case "members":
		if item != "" {
			return h.memberAction(r, c, v, item, action)
		}
		return h.membersAction(r, c, v, action)
	case "bulk":
		return h.bulkAction(r, c, v, action)
	case "data":
		return h.dataAction(r, c, v, action)
	case "settings":
		return h.settingsAction(r, c, v, action)
	}
	return errText("err.invalid_request")
}

// fieldError is an error the page found in one field of a form.
type fieldError struct {
	field, key string
}

func (e fieldError) Error() string { return e.field + ": " + e.key }

func errField(field, key string) error { return fieldError{field, key} }

// consoleStatus is a refused form's status: 422 for what the page found.
func consoleStatus(err error) int {
	var fe fieldError
	if errors.As(err, &fe) {
		return http.StatusUnprocessableEntity
	}
	return statusOf(err)
}

// consoleError shows an error: a domain validation error next to the
// field it names (its message is the API's), a refused role as such,
// anything else on the page.
func (h *Handler) consoleError(r *http.Request, v *consoleView, err error) {
	known := func(id string) bool { return true }
	if k, ok := v.Page.(interface{ Knows(string) bool }); ok {
		known = k.Knows
	}
	var fe fieldError
	if errors.As(err, &fe) {
		v.fieldErr(fe.field, T(v.Lang, fe.key), known)
		return
	}
	var le *loyalty.Error
	if errors.As(err, &le) {
		switch {
		case le.Code == loyalty.CodeValidationFailed:
			v.fieldErr(fieldID(le.Field), T(v.Lang, "console.invalid", le.Message), known)
			return
		case le.Code == loyalty.CodeForbidden:
			v.Error = T(v.Lang, "console.err.forbidden")
			return
		case le.Code == loyalty.CodeProgramTypeLocked:
			v.fieldErr("type", T(v.Lang, "console.err.typeLocked"), known)
			return
		case le.Code == loyalty.CodePlanLimit:
			v.Error = T(v.Lang, "console.err.planLimit", le.Details.Limit)
			return
		}
		if _, ok := messages["console.err."+string(le.Code)]; ok {
			v.Error = T(v.Lang, "console.err."+string(le.Code))
			return
		}
	}
	v.Error = h.textOf(r, v.Lang, err)
}

// fieldID turns the domain's field path (tiers[1].qualify.period) into the
// form's input id (tiers-1-qualify-period).
func fieldID(f string) string {
	id := strings.NewReplacer("[", "-", "]", "", ".", "-").Replace(f)
	switch {
	case id == "welcomeBonus-points":
		return "welcomePoints"
	case strings.HasPrefix(id, "filter-"):
		return strings.TrimPrefix(id, "filter-")
	case strings.HasPrefix(id, "tiers-") && strings.HasSuffix(id, "-qualify"):
		return id + "-spend"
	case strings.HasPrefix(id, "tiers-") && strings.Contains(id, "-qualify-categorySpend"):
		return id[:strings.Index(id, "-qualify-")] + "-qualify-spend"
	}
	return id
}

// formKeyOf is the form's idempotency key: generated once when the form
// was rendered, so sending it twice is one change.
func formKeyOf(r *http.Request) (string, error) {
	k := r.PostFormValue("formKey")
	if k == "" || len(k) > 64 {
		return "", errText("err.invalid_request")
	}
	return k, nil
}

// parseSignedHundredths reads an amount that may be negative (-150, −150,5).
func parseSignedHundredths(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	for _, p := range []string{"-", "−"} {
		if strings.HasPrefix(s, p) {
			neg, s = true, strings.TrimSpace(strings.TrimPrefix(s, p))
		}
	}
	v, ok := parseHundredths(s)
	if neg {
		v = -v
	}
	return v, ok
}

// percentText writes basis points as a percent (5, 7,5).
func percentText(lang string, bp loyalty.BasisPoints) string {
	return formatHundredths(lang, int64(bp))
}

func consoleRoleText(lang string, r loyalty.Role) string { return T(lang, "role."+string(r)) }

// monthOf reads ?month=2006-01 (default: this month).
func monthOf(r *http.Request, now time.Time) string {
	m := r.URL.Query().Get("month")
	if _, err := time.Parse("2006-01", m); err == nil {
		return m
	}
	return now.UTC().Format("2006-01")
}

func itoa(n int64) string { return fmt.Sprint(n) }
