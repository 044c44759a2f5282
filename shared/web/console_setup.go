package web

import (
	"bytes"
	"net/http"
	"sort"
	"strings"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/web/snippet"
	"github.com/loyalty/cashback/shared/webhooks"
)

// The tenant's setup: the overview (plan and this month's usage against
// its limits), points of sale and staff keys, CSV imports and exports,
// webhooks and embedding, the audit trail.

type usageRow struct {
	Kind  string
	Count int64
}

type overviewPage struct {
	Usage        loyalty.UsageReport
	Rows         []usageRow
	PointsOfSale int
	Staff        int
	Active       *loyalty.Program
}

func (h *Handler) overviewShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	ctx := r.Context()
	t := h.deps.Console.Tenancy
	pg := &overviewPage{}
	v.Page = pg
	u, err := t.Usage(ctx, c, "")
	if err != nil {
		v.Error = h.textOf(r, v.Lang, err)
		return "overview"
	}
	pg.Usage = u
	for k, n := range u.ByKind {
		pg.Rows = append(pg.Rows, usageRow{k, n})
	}
	sort.Slice(pg.Rows, func(i, j int) bool { return pg.Rows[i].Kind < pg.Rows[j].Kind })
	if ps, err := t.ListPointsOfSale(ctx, c); err == nil {
		pg.PointsOfSale = len(ps)
	}
	if ss, err := t.ListStaff(ctx, c); err == nil {
		for _, s := range ss {
			if !s.Revoked {
				pg.Staff++
			}
		}
	}
	if ps, err := h.deps.Console.Programs.ListPrograms(ctx, c); err == nil {
		for i := range ps {
			if ps[i].Status == loyalty.ProgramActive {
				pg.Active = &ps[i]
			}
		}
	}
	return "overview"
}

type staffPage struct {
	PointsOfSale []loyalty.PointOfSale
	Staff        []staffRow
	// NewKey is a key just issued: shown once, never again.
	NewKey, NewKeyName string
	// The forms as typed.
	POSName, POSAddress, StaffName, StaffRole, StaffPOS string
}

type staffRow struct {
	loyalty.Staff
	POSName string
}

func (staffPage) Knows(id string) bool {
	switch id {
	case "pos-name", "pos-address", "staff-name", "staff-role", "staff-pos":
		return true
	}
	return false
}

func (h *Handler) staffShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	ctx := r.Context()
	t := h.deps.Console.Tenancy
	pg, _ := v.Page.(*staffPage)
	if pg == nil {
		pg = &staffPage{StaffRole: string(loyalty.RoleCashier)}
		v.Page = pg
	}
	var err error
	if pg.PointsOfSale, err = t.ListPointsOfSale(ctx, c); err != nil && v.Error == "" {
		v.Error = h.textOf(r, v.Lang, err)
	}
	names := map[string]string{}
	for _, p := range pg.PointsOfSale {
		names[p.ID] = p.Name
	}
	ss, err := t.ListStaff(ctx, c)
	if err != nil && v.Error == "" {
		v.Error = h.textOf(r, v.Lang, err)
	}
	for _, s := range ss {
		pg.Staff = append(pg.Staff, staffRow{Staff: s, POSName: names[s.PointOfSale]})
	}
	return "staff"
}

func (h *Handler) staffAction(r *http.Request, c loyalty.Caller, v *consoleView, action string) error {
	ctx := r.Context()
	t := h.deps.Console.Tenancy
	g := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	pg := &staffPage{POSName: g("posName"), POSAddress: g("posAddress"), StaffName: g("staffName"), StaffRole: g("role"), StaffPOS: g("pos")}
	v.Page = pg
	l := v.Lang
	switch action {
	case "pos":
		p, err := t.CreatePointOfSale(ctx, c, pg.POSName, pg.POSAddress)
		if err != nil {
			return prefixField(err, "pos-")
		}
		pg.POSName, pg.POSAddress = "", ""
		v.Notice = T(l, "console.staff.posCreated", p.Name)
		return nil
	case "staff":
		role := loyalty.Role(pg.StaffRole)
		if role != loyalty.RoleCashier && role != loyalty.RoleAdmin {
			return errField("staff-role", "err.invalid_request")
		}
		res, err := t.CreateStaff(ctx, c, pg.StaffName, role, pg.StaffPOS)
		if err != nil {
			return prefixField(err, "staff-")
		}
		pg.NewKey, pg.NewKeyName = res.APIKey, pg.StaffName
		pg.StaffName = ""
		v.Notice = T(l, "console.staff.created")
		return nil
	case "revoke":
		id := g("staff")
		if id == "" || len(id) > 80 {
			return errText("err.invalid_request")
		}
		if err := t.RevokeStaff(ctx, c, id); err != nil {
			return err
		}
		v.Notice = T(l, "console.staff.revoked")
		return nil
	}
	return errText("err.invalid_request")
}

// prefixField names a domain validation error's field as the form's input
// (the staff form's "name" is "staff-name").
func prefixField(err error, prefix string) error {
	if le, ok := err.(*loyalty.Error); ok && le.Field != "" {
		cp := *le
		field := le.Field
		if field == "pointOfSaleId" {
			field = "pos"
		}
		cp.Field = prefix + field
		return &cp
	}
	if loyalty.CodeOf(err) == loyalty.CodePointOfSaleNotFound {
		return errField(prefix+"pos", "console.err.point_of_sale_not_found")
	}
	return err
}

type dataPage struct {
	Kind   string // members or catalog: the import just made
	Report *csvio.Report
	// Catalog is the catalog import's report.
	Catalog *csvio.CatalogReport
	Failed  []csvio.RowError
	More    int // failed rows beyond those listed
}

func (dataPage) Knows(id string) bool { return id == "members-file" || id == "catalog-file" }

func (h *Handler) dataShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	if v.Page == nil {
		v.Page = &dataPage{}
	}
	return "data"
}

// maxListedFailures bounds the bad rows a report lists on the page.
const maxListedFailures = 50

func (h *Handler) dataAction(r *http.Request, c loyalty.Caller, v *consoleView, action string) error {
	pg := &dataPage{Kind: action}
	v.Page = pg
	field := action + "-file"
	if action != "members" && action != "catalog" {
		return errText("err.invalid_request")
	}
	if r.MultipartForm == nil {
		return errField(field, "console.err.file")
	}
	files := r.MultipartForm.File["file"]
	if len(files) != 1 {
		return errField(field, "console.err.file")
	}
	f, err := files[0].Open()
	if err != nil {
		return errField(field, "console.err.file")
	}
	defer f.Close()
	ctx := r.Context()
	var failed []csvio.RowError
	if action == "members" {
		rep, err := csvio.Import(ctx, h.deps.Console.Directory, c, f, h.deps.Phones, 4, nil)
		if err != nil {
			return importErr(field, err)
		}
		pg.Report, failed = &rep, rep.Failed
		v.Notice = T(v.Lang, "console.data.membersDone", rep.Imported, rep.Existing, len(rep.Failed))
	} else {
		rep, err := csvio.ImportCatalog(ctx, h.deps.Console.Catalog, c, f, nil)
		if err != nil {
			return importErr(field, err)
		}
		pg.Catalog, failed = &rep, rep.Failed
		v.Notice = T(v.Lang, "console.data.catalogDone", rep.Imported, len(rep.Failed))
	}
	if len(failed) > maxListedFailures {
		pg.More = len(failed) - maxListedFailures
		failed = failed[:maxListedFailures]
	}
	pg.Failed = failed
	return nil
}

// importErr shows a file the importer refused as a whole (a bad header)
// next to the file field; a role refused stays a page error.
func importErr(field string, err error) error {
	if _, ok := err.(*loyalty.Error); ok {
		return err
	}
	return fieldError{field: field, key: "console.err.csv"}
}

// dataDownload answers members.csv or catalog.csv.
func (h *Handler) dataDownload(w http.ResponseWriter, r *http.Request, c loyalty.Caller, v *consoleView, item string) (string, int) {
	var buf bytes.Buffer
	var err error
	switch item {
	case "members.csv":
		_, err = csvio.Export(r.Context(), h.deps.Console.Directory, c, &buf)
	case "catalog.csv":
		_, err = csvio.ExportCatalog(r.Context(), h.deps.Console.Catalog, c, &buf)
	default:
		h.message(w, r, http.StatusNotFound, v.Lang, "notFound.title", "console.notFound", "'none'")
		return "", 0
	}
	if err != nil {
		h.consoleError(r, v, err)
		v.Page = &dataPage{}
		return "data", statusOf(err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+item+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return "", 0
}

type settingsPage struct {
	Embed    *loyalty.Embed
	Snippets snippet.Snippets
	Origins  string
	Webhooks []webhooks.Endpoint
	// NoWebhooks: the service has no webhooks here.
	NoWebhooks bool
}

func (settingsPage) Knows(id string) bool { return id == "origins" }

func (h *Handler) settingsShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	ctx := r.Context()
	pg, _ := v.Page.(*settingsPage)
	if pg == nil {
		pg = &settingsPage{}
		v.Page = pg
	}
	if v.Owner {
		if e, err := h.deps.Console.Tenancy.GetEmbed(ctx, c); err == nil {
			pg.Embed = &e
			pg.Snippets = snippet.For(baseOf(r), e.TenantSlug)
			if pg.Origins == "" {
				pg.Origins = strings.Join(e.AllowedOrigins, "\n")
			}
		}
	}
	if h.deps.Console.Webhooks == nil {
		pg.NoWebhooks = true
	} else if ws, err := h.deps.Console.Webhooks.List(ctx, c); err == nil {
		pg.Webhooks = ws
	}
	return "settings"
}

func (h *Handler) settingsAction(r *http.Request, c loyalty.Caller, v *consoleView, action string) error {
	ctx := r.Context()
	pg := &settingsPage{Origins: r.PostFormValue("origins")}
	v.Page = pg
	switch action {
	case "embed":
		var origins []string
		for _, o := range strings.Fields(strings.ReplaceAll(pg.Origins, ",", " ")) {
			origins = append(origins, o)
		}
		if len(origins) > 20 {
			return errField("origins", "console.err.origins")
		}
		if _, err := h.deps.Console.Tenancy.SetEmbed(ctx, c, origins); err != nil {
			if le, ok := err.(*loyalty.Error); ok && le.Code == loyalty.CodeValidationFailed {
				return errFieldErr("origins", &loyalty.Error{Code: le.Code, Message: le.Message})
			}
			return err
		}
		pg.Origins = ""
		v.Notice = T(v.Lang, "console.settings.embedSaved")
		return nil
	case "webhook-delete", "webhook-enable":
		if h.deps.Console.Webhooks == nil {
			return errText("err.invalid_request")
		}
		id := r.PostFormValue("webhook")
		if id == "" || len(id) > 80 {
			return errText("err.invalid_request")
		}
		var err error
		if action == "webhook-delete" {
			err = h.deps.Console.Webhooks.Delete(ctx, c, id)
		} else {
			_, err = h.deps.Console.Webhooks.Enable(ctx, c, id)
		}
		if err != nil {
			return err
		}
		v.Notice = T(v.Lang, "console.settings."+action)
		return nil
	}
	return errText("err.invalid_request")
}

// baseOf is the service's address as the request reached it.
func baseOf(r *http.Request) string {
	if isLoopback(r) {
		return "http://" + r.Host
	}
	return "https://" + r.Host
}

type auditPage struct {
	Month   string
	Entries []loyalty.AuditEntry
}

func (h *Handler) auditShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	pg := &auditPage{Month: monthOf(r, h.deps.Now())}
	v.Page = pg
	es, err := h.deps.Console.Tenancy.Audit(r.Context(), c, pg.Month, 200)
	if err != nil {
		h.consoleError(r, v, err)
	}
	pg.Entries = es
	return "audit"
}
