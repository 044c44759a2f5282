package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/wallet"
)

// Members (seeds 001 and 003): find a customer by phone, card number or
// name, and the member's card: balance, tier, history a page at a time,
// wallets; adjust with a reason, block and unblock, set the tier, replace a
// lost card, set the code word and the customer groups. And the bulk
// accrual to a selection (seed 003 "для выборки клиентов"), counted first.

type membersPage struct {
	Q       string
	Results []loyalty.MemberSummary
	// Directory is a page of all members (no search made); Next continues it.
	Directory []loyalty.MemberSummary
	Next      string
}

func (membersPage) Knows(id string) bool { return id == "q" }

// directoryPage is how many members the directory lists at a time.
const directoryPage = 50

func (h *Handler) membersShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	pg, _ := v.Page.(*membersPage)
	if pg == nil {
		pg = &membersPage{}
		v.Page = pg
	}
	if pg.Results != nil || v.Errs != nil {
		return "members"
	}
	after := r.URL.Query().Get("after")
	if len(after) > 80 {
		after = ""
	}
	ms, err := h.deps.Console.Directory.ListMembers(r.Context(), c, after, directoryPage)
	if err != nil {
		v.Error = h.textOf(r, v.Lang, err)
		return "members"
	}
	pg.Directory = ms
	if len(ms) == directoryPage {
		pg.Next = ms[len(ms)-1].MemberID
	}
	return "members"
}

// membersAction searches; one exact match (a card, a phone, a phone and
// code word) opens the member's card at once.
func (h *Handler) membersAction(r *http.Request, c loyalty.Caller, v *consoleView, action string) error {
	pg := &membersPage{Q: strings.TrimSpace(r.PostFormValue("q"))}
	v.Page = pg
	if action != "find" {
		return errText("err.invalid_request")
	}
	a, found, err := h.lookup(r, c, pg.Q)
	if err != nil {
		if _, ok := err.(pageError); ok {
			return errField("q", string(err.(pageError)))
		}
		if loyalty.CodeOf(err) == loyalty.CodeMemberNotFound {
			return errField("q", "cashier.notFound")
		}
		return err
	}
	if a != nil {
		found = []loyalty.MemberSummary{{MemberID: a.MemberID, Card: a.Card, Phone: a.Phone, Name: a.Name, CreatedAt: a.CreatedAt}}
	}
	pg.Results = found
	return nil
}

type memberPage struct {
	Member  *loyalty.Account
	Tiers   []string
	Entries []loyalty.Entry
	// Before is the cursor of the next (older) page of the history.
	Before  string
	Wallets *wallet.Wallets
	// The adjustment form as typed (kept on an error).
	Points, Reason, Tier, Groups string
}

func (memberPage) Knows(id string) bool {
	switch id {
	case "points", "reason", "tier", "codeWord", "groups":
		return true
	}
	return false
}

const consoleHistoryPage = 20

func (h *Handler) memberShow(w http.ResponseWriter, r *http.Request, c loyalty.Caller, v *consoleView, id string) (string, int) {
	ctx := r.Context()
	pg, _ := v.Page.(*memberPage)
	if pg == nil {
		pg = &memberPage{}
		v.Page = pg
	}
	a, err := h.deps.Console.Members.GetMember(ctx, c, id)
	if err != nil {
		if loyalty.CodeOf(err) == loyalty.CodeMemberNotFound {
			h.message(w, r, http.StatusNotFound, v.Lang, "notFound.title", "console.notFound", "'none'")
			return "", 0
		}
		v.Error = h.textOf(r, v.Lang, err)
		return "member", statusOf(err)
	}
	pg.Member = a
	v.Title = a.Card
	if pg.Tier == "" {
		pg.Tier = a.TierOverride
	}
	var before int64
	if b, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64); err == nil && b > 1 {
		before = b
	}
	if pg.Entries, err = h.deps.Console.Members.Ledger(ctx, c, id, consoleHistoryPage, before); err == nil {
		if n := len(pg.Entries); n == consoleHistoryPage && pg.Entries[n-1].Seq > 1 {
			pg.Before = strconv.FormatInt(pg.Entries[n-1].Seq, 10)
		}
	}
	if ps, err := h.deps.Console.Programs.ListPrograms(ctx, c); err == nil {
		for _, p := range ps {
			if p.Status == loyalty.ProgramActive {
				for _, t := range p.Tiers {
					pg.Tiers = append(pg.Tiers, t.Name)
				}
			}
		}
	}
	if h.deps.Console.Wallets != nil {
		if ws, err := h.deps.Console.Wallets.WalletsOf(ctx, c.TenantID, id); err == nil {
			pg.Wallets = &ws
		}
	}
	return "member", http.StatusOK
}

// memberAction runs one of the card's forms.
func (h *Handler) memberAction(r *http.Request, c loyalty.Caller, v *consoleView, id, action string) error {
	ctx := r.Context()
	m := h.deps.Console.Members
	l := v.Lang
	pg := &memberPage{Points: strings.TrimSpace(r.PostFormValue("points")), Reason: strings.TrimSpace(r.PostFormValue("reason")),
		Tier: r.PostFormValue("tier"), Groups: r.PostFormValue("groups")}
	v.Page = pg
	var err error
	switch action {
	case "adjust":
		key, kerr := formKeyOf(r)
		if kerr != nil {
			return kerr
		}
		pts, ok := parseSignedHundredths(pg.Points)
		if !ok || pts == 0 {
			return errField("points", "console.err.points")
		}
		// The reason is the domain's to judge (required, at most 500).
		res, replayed, err := m.AdjustPoints(ctx, c, idemOf(key+":adjust", "console-adjust", id, pg.Points, pg.Reason), id,
			loyalty.AdjustRequest{Points: loyalty.Points(pts), Reason: pg.Reason})
		if err != nil {
			return err
		}
		v.Notice = T(l, "console.member.adjusted", formatPoints(l, res.Adjusted), formatPoints(l, res.Balance.Available))
		if replayed {
			v.Notice += " " + T(l, "cashier.replayed")
		}
		pg.Points, pg.Reason = "", ""
		v.FormKey = randomID()
		return nil
	case "block", "unblock":
		_, err = m.SetBlocked(ctx, c, id, action == "block")
		v.Notice = T(l, "console.member."+action+"ed")
	case "tier":
		_, err = m.SetTier(ctx, c, id, strings.TrimSpace(pg.Tier))
		v.Notice = T(l, "console.member.tierSet")
	case "card":
		var a *loyalty.Account
		if a, err = m.ReplaceCard(ctx, c, id, strings.TrimSpace(r.PostFormValue("number"))); err == nil {
			v.Notice = T(l, "console.member.cardReplaced", a.Card)
		}
	case "codeword":
		word := strings.TrimSpace(r.PostFormValue("codeWord"))
		if len(word) > 64 {
			return errField("codeWord", "console.err.codeWord")
		}
		_, err = m.SetCodeWord(ctx, c, id, word)
		v.Notice = T(l, "console.member.codeWordSet")
	case "groups":
		var groups []string
		for _, g := range strings.Split(pg.Groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				if len(g) > 64 {
					return errField("groups", "console.err.group")
				}
				groups = append(groups, g)
			}
		}
		if len(groups) > 50 {
			return errField("groups", "console.err.group")
		}
		_, err = m.SetGroups(ctx, c, id, groups)
		v.Notice = T(l, "console.member.groupsSet")
	default:
		return errText("err.invalid_request")
	}
	if err != nil {
		v.Notice = ""
		if action == "tier" && loyalty.CodeOf(err) == loyalty.CodeValidationFailed {
			return errFieldErr("tier", err)
		}
	}
	return err
}

// errFieldErr places a domain error on a field the domain did not name.
func errFieldErr(field string, err error) error {
	if le, ok := err.(*loyalty.Error); ok && le.Field == "" {
		cp := *le
		cp.Field = field
		return &cp
	}
	return err
}

// bulkPage is the bulk accrual form, its preview and its outcome.
type bulkPage struct {
	Points, Reason, Period, SpendFrom, SpendTo, Group string
	// Previewed: the selection was counted; Selected members would get
	// Points each, Total in all.
	Previewed bool
	Selected  int
	Total     loyalty.Points
	// Partial: the count stopped early (a very large directory).
	Partial bool
	// Cursor continues a run that stopped on the request's time budget.
	Cursor string
	Done   bool
}

func (bulkPage) Knows(id string) bool {
	switch id {
	case "points", "reason", "period", "spendFrom", "spendTo", "group":
		return true
	}
	return false
}

func (h *Handler) bulkShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	if v.Page == nil {
		v.Page = &bulkPage{Period: "P30D"}
	}
	return "bulk"
}

func readBulk(r *http.Request) (*bulkPage, loyalty.BulkFilter, loyalty.Points, error) {
	g := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	pg := &bulkPage{Points: g("points"), Reason: g("reason"), Period: g("period"), SpendFrom: g("spendFrom"), SpendTo: g("spendTo"), Group: g("group")}
	f := loyalty.BulkFilter{Period: pg.Period, Group: pg.Group}
	pts, ok := parseHundredths(pg.Points)
	if !ok || pts == 0 {
		return pg, f, 0, errField("points", "console.err.points")
	}
	for _, m := range []struct {
		id, s string
		to    *loyalty.Money
	}{{"spendFrom", pg.SpendFrom, &f.SpendFrom}, {"spendTo", pg.SpendTo, &f.SpendTo}} {
		if m.s == "" {
			continue
		}
		v, ok := parseHundredths(m.s)
		if !ok {
			return pg, f, 0, errField(m.id, "err.amount")
		}
		*m.to = loyalty.Money(v)
	}
	if pg.Reason == "" {
		// The accrual's own rule, checked before counting so the preview
		// does not promise a run the domain would refuse.
		return pg, f, 0, errField("reason", "console.err.reason")
	}
	return pg, f, loyalty.Points(pts), nil
}

// bulkBudget bounds one request's work; a longer run continues from its
// cursor with the same batch (each member credited once).
const bulkBudget = 20 * time.Second

func (h *Handler) bulkAction(r *http.Request, c loyalty.Caller, v *consoleView, action string) error {
	ctx := r.Context()
	m := h.deps.Console.Members
	l := v.Lang
	pg, f, pts, err := readBulk(r)
	v.Page = pg
	if err != nil {
		return err
	}
	deadline := h.deps.Now().Add(bulkBudget)
	switch action {
	case "preview":
		cursor := ""
		for {
			p, err := m.PreviewBulk(ctx, c, f, cursor, 200)
			if err != nil {
				return err
			}
			pg.Selected += p.Selected
			if p.Done {
				break
			}
			if cursor = p.NextCursor; h.deps.Now().After(deadline) {
				pg.Partial = true
				break
			}
		}
		pg.Total = loyalty.Points(pg.Selected) * pts
		if pg.Selected == 0 {
			return errField("period", "console.err.emptySelection")
		}
		pg.Previewed = true
		v.FormKey = randomID() // the run's batch: one per preview
		return nil
	case "run":
		key, err := formKeyOf(r)
		if err != nil {
			return err
		}
		cursor := r.PostFormValue("cursor")
		if len(cursor) > 64 {
			return errText("err.invalid_request")
		}
		credited, already := 0, 0
		for {
			res, err := m.BulkAccrue(ctx, c, loyalty.BulkRequest{BatchID: "console-" + key, Points: pts, Reason: pg.Reason, Filter: f, Cursor: cursor, Limit: 200})
			if err != nil {
				return err
			}
			credited += res.Credited
			already += res.AlreadyDone
			cursor = res.NextCursor
			if res.Done {
				pg.Done = true
				break
			}
			if h.deps.Now().After(deadline) {
				break
			}
		}
		if !pg.Done {
			pg.Cursor = cursor
			v.Notice = T(l, "console.bulk.partial", credited, formatPoints(l, loyalty.Points(credited)*pts))
			return nil
		}
		if credited == 0 && already == 0 && r.PostFormValue("cursor") == "" {
			return errField("period", "console.err.emptySelection")
		}
		v.Notice = T(l, "console.bulk.done", credited, formatPoints(l, pts), formatPoints(l, loyalty.Points(credited)*pts))
		if already > 0 {
			v.Notice += " " + T(l, "console.bulk.already", already)
		}
		v.FormKey = randomID()
		return nil
	}
	return errText("err.invalid_request")
}
