package api_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

var csvHeader = map[string]string{"Content-Type": "text/csv"}

func TestCatalogProducts(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	p := e.Do("PUT", "/v1/catalog/products/cola-05", map[string]any{"name": "Cola 0.5", "category": "bar", "price": 12900}, nil).Want(200).JSON()
	if p["sku"] != "cola-05" || p["category"] != "bar" || num(p, "price") != 12900 {
		t.Fatalf("put: %v", p)
	}
	// Replaced, not duplicated.
	e.Do("PUT", "/v1/catalog/products/cola-05", map[string]any{"name": "Cola 0.5 l", "category": "drinks"}, nil).Want(200)
	for _, bad := range []struct {
		sku  string
		body map[string]any
		code string
	}{
		{"x", map[string]any{"name": "X", "category": "has space"}, "validation_failed"},
		{"x", map[string]any{"name": "   "}, "validation_failed"},
		{"x", map[string]any{"name": "X", "price": -1}, "validation_failed"},
		{"x", map[string]any{"category": "bar"}, "validation_failed"},
		{"%20x", map[string]any{"name": "X"}, "validation_failed"},
	} {
		if r := e.Do("PUT", "/v1/catalog/products/"+bad.sku, bad.body, nil); r.Status != 422 || r.Code() != bad.code {
			t.Errorf("%s %v: %d %s", bad.sku, bad.body, r.Status, r.Body)
		}
	}
	for i := 0; i < 4; i++ {
		e.Do("PUT", fmt.Sprintf("/v1/catalog/products/sku-%d", i), map[string]any{"name": fmt.Sprint("P", i)}, nil).Want(200)
	}
	page := e.Do("GET", "/v1/catalog/products?limit=3", nil, nil).Want(200).JSON()
	if len(page["products"].([]any)) != 3 || page["next"] != "sku-1" {
		t.Fatalf("first page: %v", page)
	}
	rest := e.Do("GET", "/v1/catalog/products?limit=3&after=sku-1", nil, nil).Want(200).JSON()
	got := rest["products"].([]any)
	if len(got) != 2 || got[0].(map[string]any)["sku"] != "sku-2" || rest["next"] != nil {
		t.Fatalf("last page: %v", rest)
	}
	first := page["products"].([]any)[0].(map[string]any)
	if first["sku"] != "cola-05" || first["category"] != "drinks" || first["price"] != nil {
		t.Fatalf("replaced product: %v", first)
	}
}

func TestCatalogCSV(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	file := "\ufeffSKU,name,category,price\n" +
		"a1,Espresso,coffee,150\n" +
		"a2,Latte,coffee,210.5\n" +
		"a3,Croissant,,99.90\n" +
		"a4,Bad price,food,12,50\n" + // an unquoted comma: a field too many
		"a5,Bad price,food,abc\n" +
		"a1,Again,coffee,1\n" +
		"a6,Bad category,no space,1\n" +
		",No sku,food,1\n" +
		"a7,Too precise,food,1.999\n" +
		"a8,\"Quoted, name\",food,\n"
	rep := e.Do("POST", "/v1/catalog/import", file, csvHeader).Want(200).JSON()
	failed := map[int]string{}
	for _, f := range rep["failed"].([]any) {
		f := f.(map[string]any)
		failed[int(f["line"].(float64))] = f["reason"].(string)
	}
	want := map[int]string{5: "5 fields", 6: "price", 7: "already on line 2", 8: "category", 9: "sku", 10: "at most 2 decimals"}
	if num(rep, "rows") != 10 || num(rep, "imported") != 4 || len(failed) != len(want) {
		t.Fatalf("report: %v", rep)
	}
	for line, part := range want {
		if !strings.Contains(failed[line], part) {
			t.Errorf("line %d: %q should mention %q", line, failed[line], part)
		}
	}
	// Import again: the same products, nothing duplicated.
	e.Do("POST", "/v1/catalog/import", file, csvHeader).Want(200)
	exp := e.Do("GET", "/v1/catalog/export", nil, nil).Want(200)
	if ct := exp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("export type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(exp.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{{"sku", "name", "category", "price"}, {"a1", "Espresso", "coffee", "150.00"}, {"a2", "Latte", "coffee", "210.50"},
		{"a3", "Croissant", "", "99.90"}, {"a8", "Quoted, name", "food", ""}}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Fatalf("export:\n%v\nwant\n%v", rows, wantRows)
	}
	// The export imports as-is into another tenant.
	other := apitest.New(t)
	if r := other.Do("POST", "/v1/catalog/import", exp.Body, csvHeader).Want(200).JSON(); num(r, "imported") != 4 || len(r["failed"].([]any)) != 0 {
		t.Fatalf("round trip: %v", r)
	}

	// Refused as a whole: nothing written.
	if r := e.Do("POST", "/v1/catalog/import", "sku,name,colour\nz1,Z,red\n", csvHeader); r.Status != 422 || !strings.Contains(string(r.Body), "colour") {
		t.Fatalf("unknown column: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/v1/catalog/import", "name\nZ\n", csvHeader); r.Status != 422 {
		t.Fatalf("no sku column: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/v1/catalog/import", "sku,name\nz1,Z\n", nil); r.Status != 415 {
		t.Fatalf("JSON content type: %d %s", r.Status, r.Body)
	}
	if n := len(e.Do("GET", "/v1/catalog/products?after=z", nil, nil).Want(200).JSON()["products"].([]any)); n != 0 {
		t.Fatalf("a refused file wrote %d products", n)
	}
	big := "sku,name\n" + strings.Repeat("x,"+strings.Repeat("n", 200)+"\n", 6000)
	if r := e.Do("POST", "/v1/catalog/import", big, csvHeader); r.Status != 413 {
		t.Fatalf("over 1 MiB: %d", r.Status)
	}
}

// Order lines naming a catalog SKU without a category get the product's
// category, read in the order context's batch (beyond 100 keys in parallel
// batches): here 150 distinct SKUs of the "bar" category earn the bar rate.
func TestCatalogCategoryOnOrders(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{"categories": map[string]any{"bar": map[string]any{"cashbackPercent": 10, "maxRedeemPercent": 20}}})
	var b strings.Builder
	b.WriteString("sku,name,category\n")
	var items []map[string]any
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&b, "beer-%03d,Beer %d,bar\n", i, i)
		items = append(items, map[string]any{"sku": fmt.Sprintf("beer-%03d", i), "amount": 1000})
	}
	e.Do("POST", "/v1/catalog/import", b.String(), csvHeader).Want(200)
	items = append(items, map[string]any{"sku": "unknown", "amount": 10000}, map[string]any{"sku": "beer-000", "category": "food", "amount": 10000})
	m := e.Enroll("+79120000071")
	body := map[string]any{"member": map[string]any{"id": m.ID}, "total": 170000, "items": items}
	q := e.Do("POST", "/v1/orders/o1/quote", body, nil).Want(200).JSON()
	// bar: 10 % of 1500.00 = 150.00; unknown and the line sent as food: 5 % of 200.00 = 10.00
	if got := num(q["accrual"].(map[string]any), "ifNoPoints"); got != 16000 {
		t.Fatalf("accrual with catalog categories: %d (%v)", got, q)
	}
	// share payable with points: 20 % of 1500 + 50 % of 200 = 400.00 → but capped by balance 0
	c := e.Do("POST", "/v1/orders/o1/close", body, apitest.Key()).Want(200).JSON()
	if num(c, "accrued") != 16000 {
		t.Fatalf("close: %v", c)
	}
	e.Verify(m.ID)
}
