package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// A key of tenant A gets 404 for every id of tenant B, on every route of the
// route table (not route by route), and lists never show B's data.
func TestTenantIsolationOnEveryRoute(t *testing.T) {
	t.Parallel()
	b := apitest.New(t) // tenant B, with data
	bm := b.Enroll("+79120000070")
	b.Close("b-order", bm.ID, 100000).Want(200)
	b.Do("POST", "/v1/orders/b-open/redeem", map[string]any{"member": map[string]any{"id": bm.ID}, "total": 2000, "points": 500}, apitest.Key()).Want(200)
	pos := b.Do("POST", "/v1/points-of-sale", map[string]any{"name": "B shop"}, nil).Want(201).JSON()["pointOfSaleId"].(string)
	staff := b.Do("POST", "/v1/staff", map[string]any{"name": "B cashier", "role": "cashier", "pointOfSaleId": pos}, nil).Want(201).JSON()["staffId"].(string)
	var progs struct {
		Programs []struct {
			ID string `json:"programId"`
		} `json:"programs"`
	}
	b.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&progs)
	hook := b.Do("POST", "/v1/webhooks", map[string]any{"url": "https://hooks.example/b"}, nil).Want(201).JSON()["webhookId"].(string)
	b.Do("POST", "/v1/coupons", map[string]any{"code": "B-COUPON", "usage": "single", "points": 100}, nil).Want(201)
	b.Do("PUT", "/v1/catalog/products/B-SKU", map[string]any{"name": "B's product"}, nil).Want(200)
	gift := b.Do("POST", "/v1/gift-cards", map[string]any{"amount": 5000}, apitest.Key()).Want(201).JSON()["number"].(string)
	campaign := b.Do("POST", "/v1/campaigns", map[string]any{"name": "B's", "channel": "sms", "segment": map[string]any{}, "text": "hi"}, nil).Want(201).JSON()["campaignId"].(string)

	// Tenant A: same table, its own owner key.
	a, err := b.App.Service.CreateTenant(context.Background(), "Tenant A", loyalty.PlanFree)
	if err != nil {
		t.Fatal(err)
	}
	asA := map[string]string{"Authorization": "Bearer " + a.APIKey, "Idempotency-Key": "iso"}
	ids := map[string]string{"{orderId}": "b-order", "{memberId}": bm.ID, "{programId}": progs.Programs[0].ID, "{staffId}": staff,
		"{webhookId}": hook, "{eventId}": "evt_b", "{code}": "B-COUPON", "{sku}": "B-SKU", "{number}": gift, "{campaignId}": campaign}
	bodies := map[string]any{
		"redeem-points":        map[string]any{"member": map[string]any{"id": bm.ID}, "total": 2000, "points": 100},
		"close-order":          map[string]any{"member": map[string]any{"id": bm.ID}, "total": 2000},
		"quote-order":          map[string]any{"member": map[string]any{"id": bm.ID}, "total": 2000},
		"refund-order":         map[string]any{"refundId": "x", "amount": 100},
		"update-program":       map[string]any{"name": "x", "type": "bonus", "cashbackPercent": 1, "maxRedeemPercent": 1},
		"set-member-groups":    map[string]any{"groups": []string{"x"}},
		"adjust-member":        map[string]any{"points": 100, "reason": "x"},
		"set-member-tier":      map[string]any{"tier": ""},
		"set-member-code-word": map[string]any{"codeWord": "secret"},
	}
	checked := 0
	for _, r := range routes.Routes {
		if !strings.Contains(r.Path, "{") || routes.IsPage(r) || strings.Contains(r.Path, "{tenantSlug}") || strings.Contains(r.Path, "{challengeId}") || routes.IsWalletService(r) {
			continue // no id of another tenant to reach; public routes and the wallets' calls (token per pass) are covered by their own tests
		}
		path := r.Path
		for k, v := range ids {
			path = strings.ReplaceAll(path, k, v)
		}
		if strings.Contains(path, "{") {
			t.Fatalf("no id of tenant B for %s", r.Path)
		}
		body := bodies[r.OperationID]
		if body == nil && (r.Method == "POST" || r.Method == "PUT") {
			body = map[string]any{}
		}
		if r.OperationID == "cancel-order" || r.Method == "DELETE" || strings.HasSuffix(r.Path, "/activate") || strings.HasSuffix(r.Path, "/stop") ||
			strings.HasSuffix(r.Path, "/block") || strings.HasSuffix(r.Path, "/unblock") || strings.HasSuffix(r.Path, "/card") {
			body = nil
		}
		if r.OperationID == "cancel-order" {
			path = "/v1/orders/b-open/cancel"
		}
		if r.OperationID == "put-product" {
			// A SKU names a product in the caller's own catalog: A writes its
			// own, B's stays as it was (checked below).
			b.Do(r.Method, path, map[string]any{"name": "A's product"}, asA).Want(200)
			checked++
			continue
		}
		resp := b.Do(r.Method, path, body, asA)
		if resp.Status != 404 {
			t.Errorf("%s %s with tenant A's key: %d %s (want 404)", r.Method, path, resp.Status, resp.Body)
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d routes checked", checked)
	}
	// Lists show only A's data, and B's member is untouched.
	for _, path := range []string{"/v1/programs", "/v1/points-of-sale", "/v1/staff", "/v1/audit", "/v1/members?phone=%2B79120000070", "/v1/webhooks",
		"/v1/coupons", "/v1/catalog/products", "/v1/catalog/export", "/v1/promotions"} {
		resp := b.Do("GET", path, nil, asA)
		if strings.Contains(string(resp.Body), bm.ID) || strings.Contains(string(resp.Body), hook) || strings.Contains(string(resp.Body), pos) || strings.Contains(string(resp.Body), progs.Programs[0].ID) ||
			strings.Contains(string(resp.Body), "B-COUPON") || strings.Contains(string(resp.Body), "B's product") {
			t.Errorf("GET %s shows tenant B's data: %s", path, resp.Body)
		}
	}
	if p := b.Do("GET", "/v1/catalog/products", nil, nil).Want(200).JSON()["products"].([]any); len(p) != 1 || p[0].(map[string]any)["name"] != "B's product" {
		t.Errorf("tenant B's catalog changed: %v", p)
	}
	if bal := b.Balance(bm.ID); bal.Available != 4500 || bal.Held != 500 {
		t.Fatalf("tenant B's member changed: %+v", bal)
	}
	b.Verify(bm.ID)
}

func TestRolesPlanLimitsAndRevocation(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	var pos []string
	for i := 0; i < 3; i++ {
		pos = append(pos, e.Do("POST", "/v1/points-of-sale", map[string]any{"name": fmt.Sprintf("Shop %d", i)}, nil).Want(201).JSON()["pointOfSaleId"].(string))
	}
	r := e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Shop 4"}, nil)
	if r.Status != 402 || r.Code() != "plan_limit" || r.JSON()["limit"] != "pointsOfSale" {
		t.Fatalf("4th point of sale on the free plan: %d %s", r.Status, r.Body)
	}
	cashier := e.Do("POST", "/v1/staff", map[string]any{"name": "Anna", "role": "cashier", "pointOfSaleId": pos[0]}, nil).Want(201).JSON()
	key := map[string]string{"Authorization": "Bearer " + cashier["apiKey"].(string)}
	if !strings.HasPrefix(cashier["apiKey"].(string), "lk_live_") {
		t.Fatalf("key prefix: %v", cashier)
	}
	// A cashier works the till but cannot manage programs, staff or keys.
	m := e.Enroll("+79120000071")
	withKey := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range key {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	e.Do("POST", "/v1/orders/c1/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000}, withKey(apitest.Key())).Want(200)
	for _, forbidden := range []struct{ method, path string }{
		{"POST", "/v1/programs"}, {"POST", "/v1/staff"}, {"GET", "/v1/staff"}, {"POST", "/v1/points-of-sale"},
		{"POST", "/v1/members/" + m.ID + "/block"}, {"POST", "/v1/admin/expiry-sweep"},
	} {
		body := map[string]any{"name": "x", "type": "bonus", "cashbackPercent": 1, "maxRedeemPercent": 1, "role": "cashier", "pointOfSaleId": pos[0]}
		if forbidden.path == "/v1/members/"+m.ID+"/block" || forbidden.method == "GET" || forbidden.path == "/v1/admin/expiry-sweep" {
			body = nil
		}
		if r := e.Do(forbidden.method, forbidden.path, body, key); r.Status != 403 || r.Code() != "forbidden" {
			t.Errorf("cashier %s %s: %d %s", forbidden.method, forbidden.path, r.Status, r.Body)
		}
	}
	// The ledger records who did it, from which point of sale.
	var ledger struct {
		Entries []map[string]any `json:"entries"`
	}
	e.Do("GET", "/v1/members/"+m.ID+"/ledger", nil, nil).Want(200).Decode(&ledger)
	if ledger.Entries[0]["staffId"] != cashier["staffId"] || ledger.Entries[0]["pointOfSaleId"] != pos[0] {
		t.Fatalf("ledger entry does not name the cashier and point of sale: %v", ledger.Entries[0])
	}
	// Revocation takes effect on the very next request.
	e.Do("DELETE", "/v1/staff/"+cashier["staffId"].(string), nil, nil).Want(204)
	if r := e.Do("GET", "/v1/members/"+m.ID, nil, key); r.Status != 401 || r.Code() != "unauthorized" {
		t.Fatalf("revoked key still works: %d %s", r.Status, r.Body)
	}
	// Usage counts the month's writes; the audit trail lists admin actions.
	u := e.Do("GET", "/v1/usage", nil, nil).Want(200).JSON()
	byKind := u["byKind"].(map[string]any)
	if byKind["close"].(float64) != 1 || byKind["verify"].(float64) != 1 || byKind["enroll"].(float64) != 1 {
		t.Fatalf("usage: %v", u)
	}
	var auditLog struct {
		Entries []struct {
			Action string `json:"action"`
		} `json:"entries"`
	}
	e.Do("GET", "/v1/audit", nil, nil).Want(200).Decode(&auditLog)
	actions := []string{}
	for _, a := range auditLog.Entries {
		actions = append(actions, a.Action)
	}
	if got := strings.Join(actions, ","); !strings.Contains(got, "staff.revoke") || !strings.Contains(got, "staff.create") || !strings.Contains(got, "pos.create") {
		t.Fatalf("audit: %s", got)
	}
}

func TestBackOfficeOnMembers(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000072")
	adj := map[string]any{"points": 2500, "reason": "goodwill"}
	key := apitest.Key()
	first := e.Do("POST", "/v1/members/"+m.ID+"/adjustments", adj, key).Want(200)
	again := e.Do("POST", "/v1/members/"+m.ID+"/adjustments", adj, key).Want(200)
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed adjustment: %s / %s", first.Body, again.Body)
	}
	if r := e.Do("POST", "/v1/members/"+m.ID+"/adjustments", map[string]any{"points": -3000, "reason": "typo"}, apitest.Key()); r.Status != 409 || r.Code() != "insufficient_points" {
		t.Fatalf("debit below zero: %d %s", r.Status, r.Body)
	}
	e.Do("POST", "/v1/members/"+m.ID+"/adjustments", map[string]any{"points": -500, "reason": "typo"}, apitest.Key()).Want(200)
	if b := e.Balance(m.ID); b.Available != 2000 {
		t.Fatalf("balance after adjustments %+v", b)
	}
	// Blocked cards neither spend nor earn.
	e.Do("POST", "/v1/members/"+m.ID+"/block", nil, nil).Want(200)
	if r := e.Do("POST", "/v1/orders/x/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 2000, "points": 100}, apitest.Key()); r.Status != 403 || r.Code() != "member_blocked" {
		t.Fatalf("blocked redeem: %d %s", r.Status, r.Body)
	}
	if c := e.Close("y", m.ID, 10000).Want(200).JSON(); c["accrued"].(float64) != 0 {
		t.Fatalf("blocked card earned: %v", c)
	}
	e.Do("POST", "/v1/members/"+m.ID+"/unblock", nil, nil).Want(200)
	// A lost card is replaced; the balance stays, the old number finds nobody.
	nc := e.Do("POST", "/v1/members/"+m.ID+"/card", nil, nil).Want(200).JSON()
	if nc["cardNumber"] == m.Card || nc["balance"].(map[string]any)["available"].(float64) != 2000 {
		t.Fatalf("replaced card: %v", nc)
	}
	if r := e.Do("GET", "/v1/members?card="+m.Card, nil, nil); r.Status != 404 {
		t.Fatalf("old card still finds the member: %d", r.Status)
	}
	e.Do("GET", "/v1/members?card="+nc["cardNumber"].(string), nil, nil).Want(200)
	e.Verify(m.ID)
}

// A bulk accrual to members who spent 1 000–7 000 ₽ in the last 30 days
// (seed 003), run twice and resumed from a middle page: each selected member
// is credited once.
func TestBulkAccrualCreditsOnce(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	var in, out []apitest.Member
	for i, total := range []int64{50000, 150000, 700000, 900000, 300000, 0} {
		e.Clock.Advance(15 * time.Second) // a key sends at most 5 codes a minute on the free plan
		m := e.Enroll(fmt.Sprintf("+7912000009%d", i))
		if total > 0 {
			e.Close(fmt.Sprintf("o%d", i), m.ID, total).Want(200)
		}
		if total >= 100000 && total <= 700000 {
			in = append(in, m)
		} else {
			out = append(out, m)
		}
	}
	before := map[string]int64{}
	for _, m := range append(in, out...) {
		before[m.ID] = int64(e.Balance(m.ID).Available)
	}
	body := map[string]any{"batchId": "spring", "points": 10000, "reason": "spring promo",
		"filter": map[string]any{"period": "P30D", "spendFrom": 100000, "spendTo": 700000}, "limit": 2}
	run := func() (credited, done int) {
		cursor := ""
		for {
			b := map[string]any{}
			for k, v := range body {
				b[k] = v
			}
			b["cursor"] = cursor
			r := e.Do("POST", "/v1/bulk-accruals", b, nil).Want(200).JSON()
			credited += int(r["credited"].(float64))
			done += int(r["alreadyCredited"].(float64))
			if r["done"] == true {
				return
			}
			cursor = r["nextCursor"].(string)
		}
	}
	if c, d := run(); c != len(in) || d != 0 {
		t.Fatalf("first run credited %d (already %d), want %d", c, d, len(in))
	}
	if c, d := run(); c != 0 || d != len(in) {
		t.Fatalf("second run credited %d (already %d)", c, d)
	}
	for _, m := range in {
		if got := int64(e.Balance(m.ID).Available); got != before[m.ID]+10000 {
			t.Errorf("selected member %s: %d, want %d", m.ID, got, before[m.ID]+10000)
		}
		e.Verify(m.ID)
	}
	for _, m := range out {
		if got := int64(e.Balance(m.ID).Available); got != before[m.ID] {
			t.Errorf("unselected member %s credited", m.ID)
		}
	}
}

func TestSearchMembers(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000099", "profile": map[string]any{"name": "Ирина Петрова"}, "consent": map[string]any{"terms": true}}, nil).Want(201)
	e.Do("POST", "/v1/enrollments/"+r.JSON()["challengeId"].(string)+"/verify", map[string]any{"code": e.Sender.LastCode(t, "+79120000099")}, nil).Want(201)
	e.Enroll("+79120000098")
	var res struct {
		Members []struct {
			Name  string `json:"name"`
			Phone string `json:"phone"`
		} `json:"members"`
	}
	e.Do("GET", "/v1/members/search?q=%D0%BF%D0%B5%D1%82%D1%80", nil, nil).Want(200).Decode(&res) // "петр"
	if len(res.Members) != 1 || res.Members[0].Phone != "+79120000099" {
		t.Fatalf("search by part of a name: %+v", res)
	}
	e.Do("GET", "/v1/members/search?q=0000098", nil, nil).Want(200).Decode(&res)
	if len(res.Members) != 1 || res.Members[0].Phone != "+79120000098" {
		t.Fatalf("search by phone digits: %+v", res)
	}
}

func TestKeyLastUsedIsKept(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	pos := e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Shop"}, nil).Want(201).JSON()["pointOfSaleId"].(string)
	st := e.Do("POST", "/v1/staff", map[string]any{"name": "Bo", "role": "cashier", "pointOfSaleId": pos}, nil).Want(201).JSON()
	lastUsed := func() string {
		var list struct {
			Staff []struct {
				ID       string `json:"staffId"`
				LastUsed string `json:"lastUsedAt"`
			} `json:"staff"`
		}
		e.Do("GET", "/v1/staff", nil, nil).Want(200).Decode(&list)
		for _, s := range list.Staff {
			if s.ID == st["staffId"] {
				return s.LastUsed
			}
		}
		t.Fatal("staff member not listed")
		return ""
	}
	if got := lastUsed(); got != "" && got != "0001-01-01T00:00:00Z" {
		t.Fatalf("unused key has a last-used time %q", got)
	}
	e.Do("GET", "/v1/points-of-sale", nil, map[string]string{"Authorization": "Bearer " + st["apiKey"].(string)}).Want(200)
	if got := lastUsed(); !strings.HasPrefix(got, apitest.Start.Format("2006-01-02T15")) {
		t.Fatalf("last used %q, want the request's time %s", got, apitest.Start)
	}
}

func TestCustomPlanLimits(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ct, err := e.App.Service.CreateTenantWithLimits(context.Background(), "Chain", loyalty.PlanCustom, &loyalty.PlanLimits{PointsOfSale: 1})
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"Authorization": "Bearer " + ct.APIKey}
	e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "One"}, key).Want(201)
	if r := e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Two"}, key); r.Status != 402 || r.JSON()["limit"] != "pointsOfSale" {
		t.Fatalf("custom limit: %d %s", r.Status, r.Body)
	}
	u := e.Do("GET", "/v1/usage", nil, key).Want(200).JSON()
	if u["plan"] != "custom" || u["limits"].(map[string]any)["pointsOfSale"].(float64) != 1 {
		t.Fatalf("usage shows the plan: %v", u)
	}
}

func TestCodeWordIdentifiesTheCardHolder(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000078")
	e.Do("PUT", "/v1/members/"+m.ID+"/code-word", map[string]any{"codeWord": "Ромашка"}, nil).Want(200)
	ok := e.Do("POST", "/v1/members/identify", map[string]any{"member": map[string]any{"card": m.Card}, "codeWord": " ромашка "}, nil).Want(200).JSON()
	if ok["memberId"] != m.ID || strings.Contains(fmt.Sprint(ok), "codeWord") {
		t.Fatalf("identify: %v", ok)
	}
	if r := e.Do("POST", "/v1/members/identify", map[string]any{"member": map[string]any{"phone": m.Phone}, "codeWord": "лютик"}, nil); r.Status != 422 || r.Code() != "code_word_mismatch" {
		t.Fatalf("wrong word: %d %s", r.Status, r.Body)
	}
}
