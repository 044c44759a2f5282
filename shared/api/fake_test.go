package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone"
)

// fakeOrders answers close with what the test sets and records the request.
type fakeOrders struct {
	api.Orders // the rest is not called
	got        loyalty.CloseRequest
	gotIdem    loyalty.Idem
	err        error
	replayed   bool
}

func (f *fakeOrders) CloseOrder(_ context.Context, _ loyalty.Caller, idem loyalty.Idem, _ loyalty.MemberRef, req loyalty.CloseRequest) (loyalty.CloseResult, bool, error) {
	f.got, f.gotIdem = req, idem
	return loyalty.CloseResult{Accrued: 150, MoneyPaid: req.Total}, f.replayed, f.err
}

// cashierOnly authenticates every key as a cashier of tenant t.
type cashierOnly struct{ api.Tenancy }

func (cashierOnly) Authenticate(context.Context, string) (loyalty.Caller, error) {
	return loyalty.Caller{TenantID: "t", Role: loyalty.RoleCashier}, nil
}

// A handler runs over fakes of the capabilities it uses: the HTTP shape
// (input decoding, the replay header, problems from domain errors, roles)
// is tested without DynamoDB.
func TestHandlersRunOverFakeCapabilities(t *testing.T) {
	orders := &fakeOrders{}
	h := api.New(api.Deps{Capabilities: api.Capabilities{Orders: orders, Tenancy: cashierOnly{}}, Phones: phone.NormalizeForLookup}, api.Functions()...)
	do := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer lk_test")
		r.Header.Set("Idempotency-Key", "k1")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := do("POST", "/v1/orders/o-1/close", `{"member":{"card":"4000000000000002"},"total":6000}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"accrued":150`) || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("close: %d %s %v", w.Code, w.Body, w.Header())
	}
	if orders.got.OrderID != "o-1" || orders.got.Total != 6000 || orders.gotIdem.Key != "k1" || orders.gotIdem.Hash == "" {
		t.Fatalf("the service got %+v, %+v", orders.got, orders.gotIdem)
	}

	orders.replayed = true
	if w := do("POST", "/v1/orders/o-1/close", `{"member":{"card":"4000000000000002"},"total":6000}`); w.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a replay is not marked: %v", w.Header())
	}

	orders.err = loyalty.ErrInsufficientPoints
	if w := do("POST", "/v1/orders/o-1/close", `{"member":{"card":"4000000000000002"},"total":6000}`); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `"code":"insufficient_points"`) {
		t.Fatalf("a domain error is not its problem: %d %s", w.Code, w.Body)
	}

	// A cashier is refused an admin operation before any capability runs
	// (Programs is nil here: reaching it would panic).
	if w := do("POST", "/v1/programs", `{"name":"x","type":"bonus","cashbackPercent":1,"maxRedeemPercent":1}`); w.Code != http.StatusForbidden {
		t.Fatalf("cashier creating a program: %d %s", w.Code, w.Body)
	}
}
