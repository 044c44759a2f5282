package web

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/recentops"
)

// The cashier page (seed 002's "Касса"): sign in with a staff key, find a
// customer, quote, redeem, close, cancel and refund an order. The session
// cookie holds the key's hash, sealed; every request authenticates it again
// (a strongly consistent read), so a revoked key stops at once, and the key
// itself is never stored in the browser.

type cashierSession struct {
	KeyHash string `json:"k"`
	ID      string `json:"s"`
}

const (
	purposeCashierSession = "cashier-session"
	purposeCashierForm    = "cashier-form"
	cashierCookie         = "lc_cashier"
	cashierTTL            = 12 * time.Hour
)

type cashierView struct {
	base
	SignedIn bool
	State    string
	POS      string
	Role     string
	Q        string
	Results  []loyalty.MemberSummary
	Member   *loyalty.Account
	Phone    string // masked
	OrderID  string
	Total    string
	Points   string
	Refund   string
	// GiftCard and GiftAmount pay part of a close with a gift card.
	GiftCard, GiftAmount string
	FormKey              string
	// Issuing a card at the till (seed 002, "online"): the phone, then the
	// challenge whose code the customer reads out.
	IssuePhone string
	Challenge  string
	// Recent is the point of sale's last operations, newest first (nil:
	// a key without a point of sale, or none yet).
	Recent []recentops.Op
}

var orderRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func (h *Handler) cashierSessionOf(r *http.Request) (cashierSession, bool) {
	var s cashierSession
	c, err := r.Cookie(cashierCookie)
	if err != nil {
		return s, false
	}
	return s, h.seal.Open(purposeCashierSession, c.Value, h.deps.Now(), &s) == nil && s.KeyHash != ""
}

// signInView is the sign-in form, with its sealed state (the CSRF guard
// of a form that has no session yet).
func (h *Handler) signInView(r *http.Request) *cashierView {
	v := &cashierView{base: newBase(r, "cashier.title")}
	s, err := h.seal.Seal(purposeCashierForm, h.deps.Now().Add(formTTL), struct{}{})
	if err != nil {
		panic(err)
	}
	v.State = s
	return v
}

func (h *Handler) cashierPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.cashierSessionOf(r)
	if !ok {
		h.render(w, r, http.StatusOK, "cashier", "'none'", h.signInView(r))
		return
	}
	c, err := h.deps.Tenancy.Authenticate(r.Context(), s.KeyHash)
	if err != nil {
		h.cashierSignedOut(w, r, err)
		return
	}
	v := h.cashierView(r, s, c)
	h.fillRecent(r, c, v)
	h.render(w, r, http.StatusOK, "cashier", "'none'", v)
}

func (h *Handler) cashierView(r *http.Request, s cashierSession, c loyalty.Caller) *cashierView {
	v := &cashierView{base: newBase(r, "cashier.title"), SignedIn: true, Role: T(langOf(r), "role."+string(c.Role)), POS: c.PointOfSale}
	if v.POS == "" {
		v.POS = T(v.Lang, "cashier.noPOS")
	} else if ps, err := h.deps.Tenancy.ListPointsOfSale(r.Context(), c); err == nil {
		for _, p := range ps {
			if p.ID == c.PointOfSale && p.Name != "" {
				v.POS = p.Name
			}
		}
	}
	v.CSRF, v.FormKey, v.OrderID = h.seal.CSRF(s.ID), randomID(), "web-"+randomID()[:10]
	return v
}

// fillRecent reads the point of sale's recent operations (one GetItem)
// once the page's action has run. The list follows the event feed, so an
// operation just made appears within a stream batch, not at once; a store
// that does not answer leaves the list out rather than failing the till.
func (h *Handler) fillRecent(r *http.Request, c loyalty.Caller, v *cashierView) {
	if h.deps.Recent == nil || c.PointOfSale == "" {
		return
	}
	l, err := h.deps.Recent.Recent(r.Context(), c.TenantID, c.PointOfSale)
	if err != nil {
		h.deps.Logger.WarnContext(r.Context(), "till: recent operations unavailable", "error", err.Error())
		return
	}
	v.Recent = l.Ops
}

// cashierSignedOut shows the sign-in form with why; a key refused (wrong
// or revoked) also drops the session, a store that did not answer keeps it.
func (h *Handler) cashierSignedOut(w http.ResponseWriter, r *http.Request, err error) {
	var le *loyalty.Error
	if errors.As(err, &le) && le.Code == loyalty.CodeUnauthorized {
		setCookie(w, r, cashierCookie, "", "/cashier", -1, http.SameSiteStrictMode)
	}
	v := h.signInView(r)
	v.Error, v.ErrorField = h.textOf(r, v.Lang, err), "key"
	h.render(w, r, statusOf(err), "cashier", "'none'", v)
}

func (h *Handler) cashierPost(w http.ResponseWriter, r *http.Request) {
	action := r.PostFormValue("action")
	lang := langOf(r)
	if action == "signin" {
		if h.seal.Open(purposeCashierForm, r.PostFormValue("state"), h.deps.Now(), &struct{}{}) != nil {
			h.message(w, r, http.StatusForbidden, lang, "csrf.title", "csrf.lead", "'none'")
			return
		}
		key := strings.TrimSpace(r.PostFormValue("key"))
		if key == "" || len(key) > 200 {
			h.cashierSignedOut(w, r, &loyalty.Error{Code: loyalty.CodeUnauthorized})
			return
		}
		hash := loyalty.HashAPIKey(key)
		if _, err := h.deps.Tenancy.Authenticate(r.Context(), hash); err != nil {
			h.cashierSignedOut(w, r, err)
			return
		}
		val, err := h.seal.Seal(purposeCashierSession, h.deps.Now().Add(cashierTTL), cashierSession{KeyHash: hash, ID: randomID()})
		if err != nil {
			panic(err)
		}
		setCookie(w, r, cashierCookie, val, "/cashier", int(cashierTTL.Seconds()), http.SameSiteStrictMode)
		http.Redirect(w, r, "/cashier"+newBase(r, "").LangQuery, http.StatusSeeOther)
		return
	}
	s, ok := h.cashierSessionOf(r)
	if !ok || !h.seal.CheckCSRF(s.ID, r.PostFormValue("csrf")) {
		h.message(w, r, http.StatusForbidden, lang, "csrf.title", "csrf.lead", "'none'")
		return
	}
	if action == "signout" {
		setCookie(w, r, cashierCookie, "", "/cashier", -1, http.SameSiteStrictMode)
		http.Redirect(w, r, "/cashier"+newBase(r, "").LangQuery, http.StatusSeeOther)
		return
	}
	c, err := h.deps.Tenancy.Authenticate(r.Context(), s.KeyHash)
	if err != nil {
		h.cashierSignedOut(w, r, err)
		return
	}
	v := h.cashierView(r, s, c)
	f := r.PostForm
	v.Q = f.Get("q")
	if f.Has("order") {
		v.OrderID = f.Get("order")
	}
	v.Total, v.Points, v.Refund = f.Get("total"), f.Get("points"), f.Get("refund")
	v.GiftCard, v.GiftAmount = f.Get("giftCard"), f.Get("giftAmount")
	status := http.StatusOK
	if err := h.cashierAction(r, c, action, v); err != nil {
		v.Error, status = h.textOf(r, v.Lang, err), statusOf(err)
	}
	h.fillRecent(r, c, v)
	h.render(w, r, status, "cashier", "'none'", v)
}

// cashierAction runs one button of the page; the member, when one is
// selected, is shown with its balance after the action.
func (h *Handler) cashierAction(r *http.Request, c loyalty.Caller, action string, v *cashierView) error {
	ctx := r.Context()
	f := r.PostForm
	switch action {
	case "find":
		a, found, err := h.lookup(r, c, v.Q)
		if err != nil {
			v.ErrorField = "q"
			var le *loyalty.Error
			if errors.As(err, &le) && le.Code == loyalty.CodeMemberNotFound {
				// A phone nobody holds a card for: offer to issue one.
				if ref, ok := h.refOf(v.Q); ok && ref.Phone != "" {
					v.IssuePhone = ref.Phone
				}
			}
			return err
		}
		v.Results = found
		h.showMember(v, a)
		return nil
	case "issue", "issue-verify", "issue-link":
		return h.issueCard(r, c, action, v)
	}
	memberID := f.Get("member")
	if memberID == "" || len(memberID) > 64 {
		return &loyalty.Error{Code: loyalty.CodeMemberNotFound}
	}
	a, err := h.deps.Members.GetMember(ctx, c, memberID)
	if err != nil {
		return err
	}
	h.showMember(v, a)
	if action == "select" {
		return nil
	}
	ref := loyalty.MemberRef{ID: memberID}
	formKey := f.Get("formKey")
	if formKey == "" || len(formKey) > 64 {
		return errText("err.invalid_request")
	}
	if !orderRe.MatchString(v.OrderID) {
		v.ErrorField = "order"
		return errText("err.order")
	}
	idem := func(fields ...string) loyalty.Idem {
		return idemOf(formKey+":"+action, action, append([]string{memberID, v.OrderID}, fields...)...)
	}
	var notice string
	var replayed bool
	var bal loyalty.Balance
	switch action {
	case "quote", "redeem", "close":
		total, ok := parseHundredths(v.Total)
		if !ok {
			v.ErrorField = "total"
			return errText("err.amount")
		}
		switch action {
		case "quote":
			q, err := h.deps.Orders.Quote(ctx, c, ref, loyalty.QuoteRequest{OrderID: v.OrderID, Total: loyalty.Money(total)})
			if err != nil {
				return err
			}
			l := v.Lang
			notice, bal = T(l, "cashier.quote", formatPoints(l, q.MaxRedeemable), q.MaxRedeemPercent,
				formatPoints(l, q.Accrual.IfNoPoints), formatPoints(l, q.Accrual.IfMaxPoints)), q.Balance
		case "redeem":
			pts, ok := parseHundredths(v.Points)
			if !ok || pts == 0 {
				v.ErrorField = "points"
				return errText("err.amount")
			}
			res, rep, err := h.deps.Orders.RedeemPoints(ctx, c, idem(v.Total, v.Points), ref,
				loyalty.RedeemRequest{OrderID: v.OrderID, Total: loyalty.Money(total), Points: loyalty.Points(pts)})
			if err != nil {
				return err
			}
			notice, bal, replayed = T(v.Lang, "cashier.redeemed", formatPoints(v.Lang, res.Held)), res.Balance, rep
		case "close":
			req := loyalty.CloseRequest{OrderID: v.OrderID, Total: loyalty.Money(total)}
			if strings.TrimSpace(v.GiftCard) != "" {
				amount, ok := parseHundredths(v.GiftAmount)
				if !ok || amount == 0 || len(v.GiftCard) > 40 {
					v.ErrorField = "giftAmount"
					return errText("err.amount")
				}
				req.GiftCards = []loyalty.GiftCardSpend{{Number: v.GiftCard, Amount: loyalty.Money(amount)}}
			}
			res, rep, err := h.deps.Orders.CloseOrder(ctx, c, idem(v.Total, v.GiftCard, v.GiftAmount), ref, req)
			if err != nil {
				return err
			}
			notice, bal, replayed = T(v.Lang, "cashier.closed", formatPoints(v.Lang, res.Redeemed), formatPoints(v.Lang, res.Accrued)), res.Balance, rep
			for _, g := range res.GiftCards {
				notice += " " + T(v.Lang, "cashier.giftCardPaid", formatMoney(v.Lang, g.Amount), formatMoney(v.Lang, g.Balance))
			}
		}
	case "cancel":
		res, rep, err := h.deps.Orders.CancelOrder(ctx, c, idem(), v.OrderID)
		if err != nil {
			return err
		}
		notice, bal, replayed = T(v.Lang, "cashier.cancelled", formatPoints(v.Lang, res.Released)), res.Balance, rep
	case "refund":
		amount, ok := parseHundredths(v.Refund)
		if !ok || amount == 0 {
			v.ErrorField = "refund"
			return errText("err.amount")
		}
		// The refund id is the form's: a resubmitted form is the same refund.
		res, rep, err := h.deps.Orders.RefundOrder(ctx, c, idem(v.Refund), v.OrderID, loyalty.RefundRequest{RefundID: "web-" + formKey, Amount: loyalty.Money(amount)})
		if err != nil {
			return err
		}
		notice, bal, replayed = T(v.Lang, "cashier.refunded", formatPoints(v.Lang, res.ReversedAccrual), formatPoints(v.Lang, res.ReturnedPoints)), res.Balance, rep
	default:
		return errText("err.invalid_request")
	}
	if replayed {
		notice += " " + T(v.Lang, "cashier.replayed")
	}
	v.Notice = notice
	if v.Member != nil {
		v.Member.Available, v.Member.Pending, v.Member.Held = bal.Available, bal.Pending, bal.Held
	}
	return nil
}

func (h *Handler) showMember(v *cashierView, a *loyalty.Account) {
	if a == nil {
		return
	}
	v.Member, v.Phone = a, phone.Mask(a.Phone)
}

// lookup finds the customer the cashier typed: a card number (a scanner
// types its digits), a phone, either followed by the code word, or else a
// part of a name, phone or card (a list to pick from).
func (h *Handler) lookup(r *http.Request, c loyalty.Caller, q string) (*loyalty.Account, []loyalty.MemberSummary, error) {
	q = strings.TrimSpace(q)
	if len(q) < 2 || len(q) > 100 {
		return nil, nil, errText("err.q")
	}
	ctx := r.Context()
	if ref, ok := h.refOf(q); ok {
		a, err := h.deps.Members.FindMember(ctx, c, ref)
		return a, nil, err
	}
	if fields := strings.Fields(q); len(fields) >= 2 {
		word := fields[len(fields)-1]
		if ref, ok := h.refOf(strings.Join(fields[:len(fields)-1], "")); ok && !digits(word, 100) {
			a, err := h.deps.Members.Identify(ctx, c, ref, word)
			return a, nil, err
		}
	}
	found, err := h.deps.Members.SearchMembers(ctx, c, q, 10)
	if err == nil && len(found) == 0 {
		err = &loyalty.Error{Code: loyalty.CodeMemberNotFound}
	}
	return nil, found, err
}

// refOf reads a card number or a phone.
func (h *Handler) refOf(s string) (loyalty.MemberRef, bool) {
	compact := strings.NewReplacer(" ", "", "-", "").Replace(s)
	if digits(compact, 19) && loyalty.ValidCardNumber(compact) {
		return loyalty.MemberRef{Card: compact}, true
	}
	if e164, err := h.deps.Phones(s); err == nil {
		return loyalty.MemberRef{Phone: e164}, true
	}
	return loyalty.MemberRef{}, false
}

// issueCard enrolls a customer at the till: a code goes to the phone
// (counted against this key's and the tenant's sending limits), the
// customer reads it out, and the new card is shown, ready for an order.
func (h *Handler) issueCard(r *http.Request, c loyalty.Caller, action string, v *cashierView) error {
	f := r.PostForm
	formKey := f.Get("formKey")
	if formKey == "" || len(formKey) > 64 {
		return errText("err.invalid_request")
	}
	ctx := r.Context()
	if action == "issue-link" {
		e164, err := h.deps.Phones(f.Get("phone"))
		if err != nil {
			return &loyalty.Error{Code: loyalty.CodeInvalidPhone}
		}
		v.IssuePhone = e164
		scheme := "https://"
		if isLoopback(r) {
			scheme = "http://"
		}
		if err := h.deps.Enrollment.SendEnrollmentLink(ctx, c, e164, scheme+r.Host); err != nil {
			return err
		}
		v.IssuePhone, v.Notice = "", T(v.Lang, "cashier.linkSent", phone.Mask(e164))
		return nil
	}
	if action == "issue" {
		e164, err := h.deps.Phones(f.Get("phone"))
		if err != nil {
			return &loyalty.Error{Code: loyalty.CodeInvalidPhone}
		}
		v.IssuePhone = e164
		req := loyalty.EnrollRequest{Phone: e164, Terms: f.Get("terms") == "on", Marketing: f.Get("marketing") == "on", KeyID: c.KeyID}
		res, _, err := h.deps.Enrollment.StartEnrollment(ctx, c.TenantID,
			idemOf(formKey+":issue", "issue", e164, strconv.FormatBool(req.Terms), strconv.FormatBool(req.Marketing)), req, false)
		if err != nil {
			if le := (*loyalty.Error)(nil); errors.As(err, &le) && le.Code == loyalty.CodeConsentRequired {
				v.ErrorField = "issue-terms"
			}
			return err
		}
		v.Challenge, v.Phone = res.ChallengeID, phone.Mask(e164)
		v.Notice = T(v.Lang, "field.code.sent", v.Phone)
		return nil
	}
	challenge, code := f.Get("challenge"), strings.TrimSpace(f.Get("code"))
	if tenant, ok := loyalty.TenantOfChallenge(challenge); !ok || tenant != c.TenantID || len(challenge) > 140 {
		return errText("err.invalid_request")
	}
	v.Challenge, v.Phone = challenge, f.Get("masked")
	if !digits(code, 16) {
		v.ErrorField = "issue-code"
		return errText("err.code")
	}
	res, _, err := h.deps.Enrollment.VerifyEnrollment(ctx, c.TenantID, idemOf(formKey+":verify", "issue-verify", challenge, code), challenge, code)
	if err != nil {
		v.ErrorField = "issue-code"
		var le *loyalty.Error
		if errors.As(err, &le) && (le.Code == loyalty.CodeOTPLocked || le.Code == loyalty.CodeOTPExpired || le.Code == loyalty.CodeOTPUsed) {
			v.Challenge = ""
		}
		return err
	}
	a, err := h.deps.Members.GetMember(ctx, c, res.MemberID)
	if err != nil {
		return err
	}
	v.Challenge = ""
	h.showMember(v, a)
	v.Notice = T(v.Lang, "cashier.issued", a.Card)
	return nil
}
