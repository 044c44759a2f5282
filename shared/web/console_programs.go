package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Programs (seed 004's "Программы лояльности"): the list with start, stop
// and delete, and one form to create or edit a program's rules and tiers.
// The form only reads numbers; the domain's ValidateProgram judges the
// rules and its error lands next to the field it names.

// tierRows is how many tier rows the form offers beyond a program's own.
const tierRows = 2

type programsPage struct {
	Programs []loyalty.Program
	Form     programForm
}

func (p *programsPage) Knows(id string) bool { return p.Form.Knows(id) }

type programPage struct {
	Program *loyalty.Program
	Form    programForm
}

func (p *programPage) Knows(id string) bool { return p.Form.Knows(id) }

// programForm is the form's fields as typed (redisplayed on an error).
type programForm struct {
	ID, Name, Type, Cashback, MaxRedeem, Discount, Lifetime, Pending, Welcome, Terms string
	ReturnSpent                                                                      bool
	Tiers                                                                            []tierForm
}

type tierForm struct {
	Index                                                                       int
	Name, Priority, Cashback, MaxRedeem, Discount, Period, Spend, Visits, Group string
}

// Knows reports whether the form shows a field with this id.
func (f programForm) Knows(id string) bool {
	switch id {
	case "name", "type", "cashbackPercent", "maxRedeemPercent", "discountPercent", "pointsLifetime", "pendingPeriod", "welcomePoints", "termsUrl", "tiers":
		return true
	}
	for _, t := range f.Tiers {
		p := fmt.Sprintf("tiers-%d-", t.Index)
		if strings.HasPrefix(id, p) {
			switch strings.TrimPrefix(id, p) {
			case "name", "priority", "cashbackPercent", "maxRedeemPercent", "discountPercent", "qualify-period", "qualify-spend", "qualify-visits", "group":
				return true
			}
		}
	}
	return false
}

// formNumber writes hundredths for a form's field: the language's decimal
// mark and no thousands separator, so the form reads back what it shows.
func formNumber(lang string, v int64) string {
	s := strings.ReplaceAll(formatHundredths(langEN, v), ",", "") // 5000.5
	if lang != langEN {
		s = strings.Replace(s, ".", ",", 1) // 5000,5
	}
	return s
}

func formOfProgram(lang string, p *loyalty.Program) programForm {
	f := programForm{Type: "bonus", ReturnSpent: true}
	if p != nil {
		f = programForm{ID: p.ID, Name: p.Name, Type: p.Type, Cashback: formNumber(lang, int64(p.CashbackPercent)),
			MaxRedeem: formNumber(lang, int64(p.MaxRedeemPercent)), Lifetime: p.PointsLifetime, Pending: p.PendingPeriod,
			Terms: p.TermsURL, ReturnSpent: p.ReturnSpentOnRefund}
		if p.DiscountPercent > 0 {
			f.Discount = formNumber(lang, int64(p.DiscountPercent))
		}
		if p.WelcomeBonus != nil && p.WelcomeBonus.Points > 0 {
			f.Welcome = formNumber(lang, int64(p.WelcomeBonus.Points))
		}
		for i, t := range p.Tiers {
			tf := tierForm{Index: i, Name: t.Name, Priority: strconv.Itoa(t.Priority), Period: t.Qualify.Period, Group: t.Group}
			opt := func(bp *loyalty.BasisPoints) string {
				if bp == nil {
					return ""
				}
				return formNumber(lang, int64(*bp))
			}
			tf.Cashback, tf.MaxRedeem, tf.Discount = opt(t.CashbackPercent), opt(t.MaxRedeemPercent), opt(t.DiscountPercent)
			if t.Qualify.Spend > 0 {
				tf.Spend = formNumber(lang, int64(t.Qualify.Spend))
			}
			if t.Qualify.Visits > 0 {
				tf.Visits = strconv.Itoa(t.Qualify.Visits)
			}
			f.Tiers = append(f.Tiers, tf)
		}
	}
	for i := 0; i < tierRows; i++ {
		f.Tiers = append(f.Tiers, tierForm{Index: len(f.Tiers)})
	}
	return f
}

// readProgramForm reads the posted form, keeping what was typed.
func readProgramForm(r *http.Request) programForm {
	g := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := programForm{ID: g("program"), Name: g("name"), Type: g("type"), Cashback: g("cashbackPercent"), MaxRedeem: g("maxRedeemPercent"),
		Discount: g("discountPercent"), Lifetime: g("pointsLifetime"), Pending: g("pendingPeriod"), Welcome: g("welcomePoints"),
		Terms: g("termsUrl"), ReturnSpent: r.PostFormValue("returnSpentOnRefund") == "on"}
	n, _ := strconv.Atoi(r.PostFormValue("tierRows"))
	n = min(max(n, 0), 20+tierRows)
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("tiers-%d-", i)
		f.Tiers = append(f.Tiers, tierForm{Index: i, Name: g(p + "name"), Priority: g(p + "priority"), Cashback: g(p + "cashbackPercent"),
			MaxRedeem: g(p + "maxRedeemPercent"), Discount: g(p + "discountPercent"), Period: g(p + "qualify-period"),
			Spend: g(p + "qualify-spend"), Visits: g(p + "qualify-visits"), Group: g(p + "group")})
	}
	return f
}

// program turns the form into the domain's program: numbers parsed here
// (a field that is not a number is refused next to it), every rule left to
// the domain.
func (f programForm) program() (loyalty.Program, error) {
	p := loyalty.Program{Name: f.Name, Type: f.Type, PointsLifetime: f.Lifetime, PendingPeriod: f.Pending,
		TermsURL: f.Terms, ReturnSpentOnRefund: f.ReturnSpent}
	pct := func(field, s string) (loyalty.BasisPoints, error) {
		if s == "" {
			return 0, nil
		}
		v, ok := parseHundredths(strings.TrimSuffix(strings.TrimSpace(s), "%"))
		if !ok {
			return 0, errField(field, "console.err.percent")
		}
		return loyalty.BasisPoints(v), nil
	}
	optPct := func(field, s string) (*loyalty.BasisPoints, error) {
		if s == "" {
			return nil, nil
		}
		v, err := pct(field, s)
		return &v, err
	}
	var err error
	if p.CashbackPercent, err = pct("cashbackPercent", f.Cashback); err != nil {
		return p, err
	}
	if p.MaxRedeemPercent, err = pct("maxRedeemPercent", f.MaxRedeem); err != nil {
		return p, err
	}
	if p.DiscountPercent, err = pct("discountPercent", f.Discount); err != nil {
		return p, err
	}
	if f.Welcome != "" {
		w, ok := parseHundredths(f.Welcome)
		if !ok {
			return p, errField("welcomePoints", "err.amount")
		}
		if w > 0 {
			p.WelcomeBonus = &loyalty.WelcomeBonus{Points: loyalty.Points(w)}
		}
	}
	for _, tf := range f.Tiers {
		if tf.Name == "" && tf.Priority == "" && tf.Cashback == "" && tf.MaxRedeem == "" && tf.Discount == "" &&
			tf.Period == "" && tf.Spend == "" && tf.Visits == "" && tf.Group == "" {
			continue // an empty row
		}
		id := fmt.Sprintf("tiers-%d-", tf.Index)
		t := loyalty.Tier{Name: tf.Name, Group: tf.Group, Qualify: loyalty.Qualify{Period: tf.Period}}
		if t.Priority, err = strconv.Atoi(tf.Priority); err != nil {
			return p, errField(id+"priority", "console.err.number")
		}
		if t.CashbackPercent, err = optPct(id+"cashbackPercent", tf.Cashback); err != nil {
			return p, err
		}
		if t.MaxRedeemPercent, err = optPct(id+"maxRedeemPercent", tf.MaxRedeem); err != nil {
			return p, err
		}
		if t.DiscountPercent, err = optPct(id+"discountPercent", tf.Discount); err != nil {
			return p, err
		}
		if tf.Spend != "" {
			m, ok := parseHundredths(tf.Spend)
			if !ok {
				return p, errField(id+"qualify-spend", "err.amount")
			}
			t.Qualify.Spend = loyalty.Money(m)
		}
		if tf.Visits != "" {
			if t.Qualify.Visits, err = strconv.Atoi(tf.Visits); err != nil {
				return p, errField(id+"qualify-visits", "console.err.number")
			}
		}
		p.Tiers = append(p.Tiers, t)
	}
	return p, nil
}

func (h *Handler) programsShow(r *http.Request, c loyalty.Caller, v *consoleView) string {
	pg, _ := v.Page.(*programsPage)
	if pg == nil {
		pg = &programsPage{Form: formOfProgram(v.Lang, nil)}
		v.Page = pg
	}
	ps, err := h.deps.Console.Programs.ListPrograms(r.Context(), c)
	if err != nil && v.Error == "" {
		v.Error = h.textOf(r, v.Lang, err)
	}
	for _, p := range ps {
		if p.Status != loyalty.ProgramDeleted {
			pg.Programs = append(pg.Programs, p)
		}
	}
	return "programs"
}

func (h *Handler) programShow(w http.ResponseWriter, r *http.Request, c loyalty.Caller, v *consoleView, id string) (string, int) {
	p, err := h.deps.Console.Programs.GetProgram(r.Context(), c, id)
	if err != nil {
		if loyalty.CodeOf(err) == loyalty.CodeProgramNotFound {
			h.message(w, r, http.StatusNotFound, v.Lang, "notFound.title", "console.notFound", "'none'")
			return "", 0
		}
		v.Error = h.textOf(r, v.Lang, err)
		v.Page = &programPage{Form: formOfProgram(v.Lang, nil)}
		return "program", statusOf(err)
	}
	pg, _ := v.Page.(*programPage)
	if pg == nil {
		pg = &programPage{Form: formOfProgram(v.Lang, p)}
		v.Page = pg
	}
	pg.Program = p
	v.Title = p.Name
	return "program", http.StatusOK
}

// programAction creates a program (on the list) or, on a program's page,
// saves its rules or changes its status.
func (h *Handler) programAction(r *http.Request, c loyalty.Caller, v *consoleView, item, action string) error {
	ctx := r.Context()
	key, err := formKeyOf(r)
	if err != nil {
		return err
	}
	l := v.Lang
	switch action {
	case "create", "save":
		f := readProgramForm(r)
		if action == "create" {
			v.Page = &programsPage{Form: f}
		} else {
			v.Page = &programPage{Form: f}
		}
		p, err := f.program()
		if err != nil {
			return err
		}
		fields := []string{f.Name, f.Type, f.Cashback, f.MaxRedeem, f.Discount, f.Lifetime, f.Pending, f.Welcome, f.Terms, strconv.FormatBool(f.ReturnSpent)}
		for _, t := range f.Tiers {
			fields = append(fields, t.Name, t.Priority, t.Cashback, t.MaxRedeem, t.Discount, t.Period, t.Spend, t.Visits, t.Group)
		}
		if action == "create" {
			np, replayed, err := h.deps.Console.Programs.CreateProgram(ctx, c, idemOf(key+":create", "console-create-program", fields...), p)
			if err != nil {
				return err
			}
			v.Page = &programsPage{Form: formOfProgram(l, nil)}
			v.FormKey = randomID()
			v.Notice = T(l, "console.programs.created", np.Name)
			if replayed {
				v.Notice += " " + T(l, "cashier.replayed")
			}
			return nil
		}
		np, _, err := h.deps.Console.Programs.UpdateProgram(ctx, c, idemOf(key+":save:"+item, "console-update-program", append([]string{item}, fields...)...), item, p)
		if err != nil {
			return err
		}
		v.Page = &programPage{Form: formOfProgram(l, &np)}
		v.FormKey = randomID()
		v.Notice = T(l, "console.programs.saved", np.Version)
		return nil
	case "activate", "stop", "delete":
		id := item
		if id == "" {
			id = r.PostFormValue("program")
		}
		if id == "" || len(id) > 70 {
			return errText("err.invalid_request")
		}
		to := map[string]loyalty.ProgramStatus{"activate": loyalty.ProgramActive, "stop": loyalty.ProgramStopped, "delete": loyalty.ProgramDeleted}[action]
		p, _, err := h.deps.Console.Programs.SetProgramStatus(ctx, c, idemOf(key+":"+action+":"+id, "console-program-"+action, id), id, to)
		if err != nil {
			if loyalty.CodeOf(err) == loyalty.CodeProgramTypeLocked {
				// About the program acted on, not the form's type field.
				return errText("console.err.typeLocked")
			}
			return err
		}
		v.FormKey = randomID()
		v.Notice = T(l, "console.programs.status", p.Name, T(l, "console.status."+string(p.Status)))
		return nil
	}
	return errText("err.invalid_request")
}
