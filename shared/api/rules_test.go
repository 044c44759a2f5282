package api_test

import (
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// programWith creates and activates a program from raw JSON on a tenant
// that has none yet.
func programWith(t *testing.T, body map[string]any) *apitest.Env {
	t.Helper()
	e := apitest.New(t, apitest.Options{NoProgram: true})
	base := map[string]any{"name": "Rules", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50}
	for k, v := range body {
		base[k] = v
	}
	id := e.Do("POST", "/v1/programs", base, nil).Want(201).JSON()["programId"].(string)
	e.Do("POST", "/v1/programs/"+id+"/activate", nil, nil).Want(200)
	return e
}

func num(m map[string]any, k string) int64 { return int64(m[k].(float64)) }

func tierOf(t *testing.T, e *apitest.Env, id string) string {
	t.Helper()
	tier, _ := e.Do("GET", "/v1/members/"+id, nil, nil).Want(200).JSON()["tier"].(string)
	return tier
}

var cinemaTiers = []map[string]any{
	{"name": "Base", "priority": 1, "cashbackPercent": 3, "qualify": map[string]any{"period": "P30D"}},
	{"name": "Silver", "priority": 2, "cashbackPercent": 5, "qualify": map[string]any{"period": "P30D", "spend": 500000}},
	{"name": "Gold", "priority": 3, "cashbackPercent": 10, "qualify": map[string]any{"period": "P30D", "visits": 3, "spend": 600000,
		"categorySpend": map[string]any{"bar": 100000}}},
}

// A member rises as soon as the spend in the trailing period qualifies, and
// falls back as that spend leaves the period, with no activity to trigger it.
func TestTierPromotionAndDemotion(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{"tiers": cinemaTiers})
	m := e.Enroll("+79120000060")
	if got := tierOf(t, e, m.ID); got != "Base" {
		t.Fatalf("new member tier %q", got)
	}
	c := e.Close("o1", m.ID, 400000).Want(200).JSON() // 4000 ₽ at Base 3 %
	if num(c, "accrued") != 12000 || c["tier"] != "Base" || c["tierAfter"] != "Base" {
		t.Fatalf("first order: %v", c)
	}
	e.Clock.Advance(24 * time.Hour)
	c = e.Close("o2", m.ID, 200000).Want(200).JSON() // crosses 5000 ₽: priced at Base, Silver after
	if num(c, "accrued") != 6000 || c["tierAfter"] != "Silver" {
		t.Fatalf("qualifying order: %v", c)
	}
	if got := tierOf(t, e, m.ID); got != "Silver" {
		t.Fatalf("promotion as soon as met: %q", got)
	}
	c = e.Close("o3", m.ID, 100000).Want(200).JSON() // priced at Silver 5 %
	if num(c, "accrued") != 5000 || c["tier"] != "Silver" {
		t.Fatalf("silver order: %v", c)
	}
	// Gold needs 3 visits, 6000 ₽ and 1000 ₽ at the bar: total is there, bar is not.
	if c["tierAfter"] != "Silver" {
		t.Fatalf("gold without bar spend: %v", c)
	}
	c = e.Do("POST", "/v1/orders/o4/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000,
		"items": []map[string]any{{"sku": "popcorn", "category": "bar", "amount": 100000}}}, apitest.Key()).Want(200).JSON()
	if c["tierAfter"] != "Gold" {
		t.Fatalf("bar spend completes gold: %v", c)
	}

	// Inactivity: after 29 days the first order (day 0) leaves the window;
	// nothing is written, yet the member reads as demoted.
	e.Clock.Advance(30 * 24 * time.Hour)
	if got := tierOf(t, e, m.ID); got != "Base" {
		t.Fatalf("after a month without orders: %q", got)
	}
	e.Verify(m.ID)
}

// Category rates, tier rates and the per-category share payable with points
// on a mixed order (seed 001: a 100 ₽ ticket at 10 % max → 10 points).
func TestCategoryRatesAndLimits(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{
		"categories": map[string]any{
			"tickets": map[string]any{"cashbackPercent": 2, "maxRedeemPercent": 10},
			"bar":     map[string]any{"cashbackPercent": 8},
		},
		"welcomeBonus": map[string]any{"points": 100000},
	})
	m := e.Enroll("+79120000061")
	items := []map[string]any{
		{"sku": "ticket", "category": "tickets", "amount": 10000},
		{"sku": "cola", "category": "bar", "amount": 10000},
		{"sku": "poster", "amount": 10000},
	}
	q := e.Do("POST", "/v1/orders/mix/quote", map[string]any{"member": map[string]any{"id": m.ID}, "total": 30000, "items": items}, nil).Want(200).JSON()
	// tickets 10 % of 100 + bar 50 % of 100 + poster 50 % of 100 = 110.00 ₽
	if num(q, "maxRedeemable") != 11000 {
		t.Fatalf("mixed max share: %v", q)
	}
	// 2 % of 100 + 8 % of 100 + 5 % of 100 = 15.00 points
	if num(q["accrual"].(map[string]any), "ifNoPoints") != 1500 {
		t.Fatalf("mixed accrual: %v", q)
	}
	r := e.Do("POST", "/v1/orders/t/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 1001,
		"items": []map[string]any{{"sku": "ticket", "category": "tickets", "amount": 10000}}}, apitest.Key())
	if r.Status != 422 || r.Code() != "redeem_limit_exceeded" || num(r.JSON(), "maxRedeemable") != 1000 {
		t.Fatalf("ticket over 10 %%: %d %s", r.Status, r.Body)
	}
	e.Do("POST", "/v1/orders/t/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 1000,
		"items": []map[string]any{{"sku": "ticket", "category": "tickets", "amount": 10000}}}, apitest.Key()).Want(200)
	c := e.Do("POST", "/v1/orders/t/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000,
		"items": []map[string]any{{"sku": "ticket", "category": "tickets", "amount": 10000}}}, apitest.Key()).Want(200).JSON()
	// 10 points and 90 ₽: 2 % of the 90 ₽ paid in money
	if num(c, "redeemed") != 1000 || num(c, "accrued") != 180 {
		t.Fatalf("ticket close: %v", c)
	}
	e.Verify(m.ID)
}

func TestAccrualOptions(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{"accrueOnDiscounted": false, "pointsPerMoney": map[string]any{"money": 10000, "points": 100}})
	m := e.Enroll("+79120000062")
	c := e.Do("POST", "/v1/orders/a/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 35000, "items": []map[string]any{
		{"sku": "full", "amount": 25000}, {"sku": "sale", "amount": 10000, "discounted": true},
	}}, apitest.Key()).Want(200).JSON()
	// 1 point per 100 ₽ on the 250 ₽ not discounted: 2 points
	if num(c, "accrued") != 200 {
		t.Fatalf("points per money without discounted items: %v", c)
	}
}

func TestDiscountProgramAndTypeLock(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{"type": "discount", "discountPercent": 5, "tiers": []map[string]any{
		{"name": "Regular", "priority": 1, "discountPercent": 5, "qualify": map[string]any{"period": "P90D"}},
		{"name": "VIP", "priority": 2, "discountPercent": 10, "qualify": map[string]any{"period": "P90D", "spend": 1000000}},
	}})
	m := e.Enroll("+79120000063")
	q := e.Do("POST", "/v1/orders/a/quote", map[string]any{"member": map[string]any{"id": m.ID}, "total": 1000000}, nil).Want(200).JSON()
	if q["discountPercent"] != "5" || num(q, "discount") != 50000 || num(q, "maxRedeemable") != 0 {
		t.Fatalf("discount quote: %v", q)
	}
	c := e.Close("a", m.ID, 1000000).Want(200).JSON()
	if num(c, "accrued") != 0 || c["tierAfter"] != "VIP" || num(c, "discount") != 50000 {
		t.Fatalf("discount close: %v", c)
	}
	q = e.Do("POST", "/v1/orders/b/quote", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000}, nil).Want(200).JSON()
	if q["discountPercent"] != "10" {
		t.Fatalf("VIP discount: %v", q)
	}
	r := e.Do("POST", "/v1/orders/b/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "points": 100}, apitest.Key())
	if r.Status != 409 || r.Code() != "not_a_bonus_program" {
		t.Fatalf("redeem on a discount program: %d %s", r.Status, r.Body)
	}
	// A card was issued under a discount program: a bonus program may not take over.
	var list struct {
		Programs []struct {
			ID string `json:"programId"`
		} `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
	e.Do("POST", "/v1/programs/"+list.Programs[0].ID+"/stop", nil, nil).Want(200)
	bonus := e.Do("POST", "/v1/programs", map[string]any{"name": "Points", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50}, nil).Want(201).JSON()["programId"].(string)
	if r := e.Do("POST", "/v1/programs/"+bonus+"/activate", nil, nil); r.Status != 409 || r.Code() != "program_type_locked" {
		t.Fatalf("type lock: %d %s", r.Status, r.Body)
	}
}

func TestGroupTiersAndProgramUpdates(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{"tiers": []map[string]any{
		{"name": "Base", "priority": 1, "qualify": map[string]any{"period": "P30D"}},
		{"name": "Staff", "priority": 2, "cashbackPercent": 20, "group": "staff", "qualify": map[string]any{"period": "P30D"}},
	}})
	m := e.Enroll("+79120000064")
	if tierOf(t, e, m.ID) != "Base" {
		t.Fatal("a group tier applied to a non-member of the group")
	}
	e.Do("PUT", "/v1/members/"+m.ID+"/groups", map[string]any{"groups": []string{"staff"}}, nil).Want(200)
	if got := tierOf(t, e, m.ID); got != "Staff" {
		t.Fatalf("group member tier %q", got)
	}
	if c := e.Close("a", m.ID, 10000).Want(200).JSON(); num(c, "accrued") != 2000 {
		t.Fatalf("staff rate: %v", c)
	}
	// A rules change bumps the version and applies to orders closed after it.
	var list struct {
		Programs []struct {
			ID      string `json:"programId"`
			Version int    `json:"version"`
		} `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
	p := e.Do("PUT", "/v1/programs/"+list.Programs[0].ID, map[string]any{"name": "Rules", "type": "bonus", "cashbackPercent": 1, "maxRedeemPercent": 50}, nil).Want(200).JSON()
	if int(p["version"].(float64)) != list.Programs[0].Version+1 {
		t.Fatalf("version not bumped: %v", p)
	}
	if c := e.Close("b", m.ID, 10000).Want(200).JSON(); num(c, "accrued") != 100 {
		t.Fatalf("new rate applies: %v", c)
	}
	e.Verify(m.ID)
}

func TestActivityWindow(t *testing.T) {
	t.Parallel()
	until := apitest.Start.Add(48 * time.Hour)
	e := programWith(t, map[string]any{"activeUntil": until.Format(time.RFC3339)})
	m := e.Enroll("+79120000065")
	e.Close("a", m.ID, 10000).Want(200)
	e.Clock.Set(until.Add(time.Minute))
	if c := e.Close("b", m.ID, 10000).Want(200).JSON(); num(c, "accrued") != 0 {
		t.Fatalf("accrual after the window: %v", c)
	}
	if r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000066", "consent": map[string]any{"terms": true}}, nil); r.Status != 409 {
		t.Fatalf("enrollment after the window: %d %s", r.Status, r.Body)
	}
	e.Do("POST", "/v1/orders/c/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 1000, "points": 500}, apitest.Key()).Want(200)
}

func TestInconsistentRulesAreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{NoProgram: true})
	base := func() map[string]any {
		return map[string]any{"name": "Bad", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50}
	}
	for _, c := range []struct {
		field string
		edit  func(map[string]any)
	}{
		{"tiers[1].priority", func(b map[string]any) {
			b["tiers"] = []map[string]any{{"name": "A", "priority": 1, "qualify": map[string]any{"period": "P30D"}}, {"name": "B", "priority": 1, "qualify": map[string]any{"period": "P30D"}}}
		}},
		{"tiers[0].qualify.categorySpend", func(b map[string]any) {
			b["tiers"] = []map[string]any{{"name": "A", "priority": 1, "qualify": map[string]any{"period": "P30D", "spend": 100, "categorySpend": map[string]any{"bar": 80, "tickets": 80}}}}
		}},
		{"tiers[0].qualify.period", func(b map[string]any) {
			b["tiers"] = []map[string]any{{"name": "A", "priority": 1, "qualify": map[string]any{"period": "-P30D"}}}
		}},
		{"pendingPeriod", func(b map[string]any) { b["pendingPeriod"] = "P-1D" }},
	} {
		b := base()
		c.edit(b)
		r := e.Do("POST", "/v1/programs", b, nil)
		if r.Status != 422 || r.Code() != "validation_failed" || r.JSON()["field"] != c.field {
			t.Errorf("%s: %d %s", c.field, r.Status, r.Body)
		}
	}
	for _, pct := range []any{101, -1, 5.555} {
		b := base()
		b["cashbackPercent"] = pct
		if r := e.Do("POST", "/v1/programs", b, nil); r.Status < 400 || r.Status >= 500 {
			t.Errorf("cashbackPercent %v: %d %s", pct, r.Status, r.Body)
		}
	}
}

func TestDeletedProgramStopsEverything(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000068")
	e.Close("a", m.ID, 20000).Want(200)
	var list struct {
		Programs []struct {
			ID string `json:"programId"`
		} `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
	p := e.Do("DELETE", "/v1/programs/"+list.Programs[0].ID, nil, nil).Want(200).JSON()
	if p["status"] != "deleted" {
		t.Fatalf("status %v", p["status"])
	}
	if r := e.Do("POST", "/v1/orders/b/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 2000, "points": 100}, apitest.Key()); r.Status != 409 || r.Code() != "no_active_program" {
		t.Fatalf("redeem under a deleted program: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/v1/programs/"+list.Programs[0].ID+"/activate", nil, nil); r.Status != 409 {
		t.Fatalf("a deleted program came back: %d %s", r.Status, r.Body)
	}
	if b := e.Balance(m.ID); b.Available != 1000 {
		t.Fatalf("balances stay: %+v", b)
	}
}
