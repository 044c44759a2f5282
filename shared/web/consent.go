package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Marketing consent on the pages: the card page's checkbox (a signed-in
// member), and the unsubscribe link of campaign messages (a signed token,
// no sign-in). The link's GET only asks, so a mail scanner that follows
// links unsubscribes nobody; the button (or a mail client's one-click POST,
// RFC 8058) does it.

// Consent changes members' marketing consent (campaigns.Service).
type Consent interface {
	SetConsent(ctx context.Context, tenantID, memberID string, consent bool) error
	Unsubscribe(ctx context.Context, token string) error
}

func init() {
	for k, v := range map[string][2]string{
		"consent.legend":                {"Рассылки", "Messages"},
		"consent.marketing":             {"Получать предложения и напоминания (SMS, email, push)", "Receive offers and reminders (SMS, email, push)"},
		"btn.saveConsent":               {"Сохранить", "Save"},
		"unsubscribe.title":             {"Отписка от рассылки", "Unsubscribe"},
		"unsubscribe.lead":              {"Больше не присылать вам предложения и напоминания?", "Stop sending you offers and reminders?"},
		"btn.unsubscribe":               {"Отписаться", "Unsubscribe"},
		"unsubscribed.title":            {"Вы отписаны", "You are unsubscribed"},
		"unsubscribed.lead":             {"Мы больше не будем присылать вам предложения. Снова подписаться можно на странице карты.", "We will send you no more offers. You can subscribe again on your card page."},
		"err.unsubscribe_token_invalid": {"Ссылка для отписки недействительна.", "This unsubscribe link is not valid."},
	} {
		messages[k] = v
	}
}

type unsubscribeView struct {
	base
	Action string
	Done   bool
}

func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	b := newBase(r, "unsubscribe.title")
	v := &unsubscribeView{base: b, Action: r.URL.Path}
	h.render(w, r, http.StatusOK, "unsubscribe", "'none'", v)
}

func (h *Handler) unsubscribePost(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	if h.deps.Consent == nil {
		h.message(w, r, http.StatusServiceUnavailable, lang, "unsubscribe.title", "err.internal", "'none'")
		return
	}
	err := h.deps.Consent.Unsubscribe(r.Context(), r.PathValue("token"))
	var le *loyalty.Error
	switch {
	case errors.As(err, &le) && le.Code == loyalty.CodeUnsubscribeTokenInvalid:
		h.message(w, r, http.StatusNotFound, lang, "unsubscribe.title", "err.unsubscribe_token_invalid", "'none'")
	case err != nil:
		h.message(w, r, http.StatusServiceUnavailable, lang, "unsubscribe.title", "err.internal", "'none'")
		h.fail(r, lang, err)
	default:
		h.message(w, r, http.StatusOK, lang, "unsubscribed.title", "unsubscribed.lead", "'none'")
	}
}

// cardConsent saves the card page's consent checkbox.
func (h *Handler) cardConsent(w http.ResponseWriter, r *http.Request, t *loyalty.Tenant, v *cardView) {
	s, ok := h.cardSessionOf(r, t)
	if !ok || !h.seal.CheckCSRF(s.ID, r.PostFormValue("csrf")) {
		h.message(w, r, http.StatusForbidden, v.Lang, "csrf.title", "csrf.lead", "'self'")
		return
	}
	if h.deps.Consent == nil {
		h.message(w, r, http.StatusServiceUnavailable, v.Lang, "unsubscribe.title", "err.internal", "'self'")
		return
	}
	if err := h.deps.Consent.SetConsent(r.Context(), t.ID, s.Member, r.PostFormValue("marketing") == "1"); err != nil {
		h.message(w, r, statusOf(err), v.Lang, "consent.legend", "err.internal", "'self'")
		h.fail(r, v.Lang, err)
		return
	}
	http.Redirect(w, r, v.Action+v.LangQuery, http.StatusSeeOther)
}
