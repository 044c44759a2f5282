package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/store/storetest"
)

// The endpoints API: a secret shown once (whsec_ + base64 of 32 bytes) and
// replayed under its Idempotency-Key, never listed, stored only sealed;
// rotation; bad input refused with 422 naming the field; 20 endpoints per
// tenant; owner and admin only.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{NoProgram: true})
	idem := map[string]string{"Idempotency-Key": "wh-1"}
	body := map[string]any{"url": "https://shop.example/hooks", "events": []string{"points.accrued", "member.enrolled"}, "description": "shop backend"}
	first := e.Do("POST", "/v1/webhooks", body, idem).Want(201)
	secret := first.JSON()["secret"].(string)
	id := first.JSON()["webhookId"].(string)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(raw) < 24 || len(raw) > 64 {
		t.Fatalf("secret %q", secret)
	}
	again := e.Do("POST", "/v1/webhooks", body, idem).Want(201)
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s %v", again.Body, again.Header)
	}
	if r := e.Do("POST", "/v1/webhooks", map[string]any{"url": "https://shop.example/other"}, idem); r.Status != 409 || r.Code() != "idempotency_key_reused" {
		t.Fatalf("key reused: %d %s", r.Status, r.Body)
	}

	list := e.Do("GET", "/v1/webhooks", nil, nil).Want(200)
	if strings.Contains(string(list.Body), secret) || strings.Contains(string(list.Body), "whsec_") {
		t.Fatalf("list shows a secret: %s", list.Body)
	}
	var ls struct {
		Webhooks []struct {
			ID             string   `json:"webhookId"`
			Events         []string `json:"events"`
			Status         string   `json:"status"`
			SigningSecrets int      `json:"signingSecrets"`
		} `json:"webhooks"`
	}
	list.Decode(&ls)
	if len(ls.Webhooks) != 1 || ls.Webhooks[0].ID != id || ls.Webhooks[0].Status != "enabled" || ls.Webhooks[0].SigningSecrets != 1 || len(ls.Webhooks[0].Events) != 2 {
		t.Fatalf("list: %s", list.Body)
	}

	rotated := e.Do("POST", "/v1/webhooks/"+id+"/rotate-secret", nil, nil).Want(200).JSON()
	if rotated["secret"] == secret || rotated["webhookId"] != id {
		t.Fatalf("rotation: %v", rotated)
	}
	if n := e.Do("GET", "/v1/webhooks/"+id, nil, nil).Want(200).JSON()["signingSecrets"]; n != 2.0 {
		t.Fatalf("signing secrets after rotation: %v", n)
	}

	// The table holds neither secret in the clear.
	out, err := storetest.Client(t).Scan(context.Background(), &dynamodb.ScanInput{TableName: strPtr(e.Store.Table())})
	if err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprint(out.Items)
	for _, s := range []string{secret, rotated["secret"].(string), strings.TrimPrefix(secret, "whsec_")} {
		if strings.Contains(dump, s) {
			t.Fatal("a signing secret is stored in the clear")
		}
	}

	// Bad input: 422 naming the field, nothing created.
	for _, c := range []struct {
		body  map[string]any
		code  string
		field string
	}{
		{map[string]any{"url": "http://shop.example/hooks"}, "validation_failed", "url"},
		{map[string]any{"url": "https://private.example/hooks"}, "validation_failed", "url"},
		{map[string]any{"url": "https://metadata.example/latest"}, "validation_failed", "url"},
		{map[string]any{"url": "https://10.0.0.1/hooks"}, "validation_failed", "url"},
		{map[string]any{"url": "https://[::1]/hooks"}, "validation_failed", "url"},
		{map[string]any{"url": "https://nxdomain.example/hooks"}, "validation_failed", "url"},
		{map[string]any{"url": "not a url"}, "validation_failed", "url"},
		{map[string]any{"url": "https://shop.example/hooks", "events": []string{"points.stolen"}}, "validation_failed", "events"},
	} {
		r := e.Do("POST", "/v1/webhooks", c.body, nil)
		if r.Status != 422 || r.Code() != c.code || r.JSON()["field"] != c.field {
			t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}

	// 20 endpoints per tenant; deleting one frees its place.
	for i := 2; i <= 20; i++ {
		e.Do("POST", "/v1/webhooks", map[string]any{"url": fmt.Sprintf("https://shop.example/h%d", i)}, nil).Want(201)
	}
	r := e.Do("POST", "/v1/webhooks", map[string]any{"url": "https://shop.example/h21"}, nil)
	if r.Status != 422 || r.Code() != "webhook_limit" || r.JSON()["field"] != "url" {
		t.Fatalf("21st webhook: %d %s", r.Status, r.Body)
	}
	e.Do("DELETE", "/v1/webhooks/"+id, nil, nil).Want(204)
	if r := e.Do("DELETE", "/v1/webhooks/"+id, nil, nil); r.Status != 404 || r.Code() != "webhook_not_found" {
		t.Fatalf("second delete: %d %s", r.Status, r.Body)
	}
	e.Do("POST", "/v1/webhooks", map[string]any{"url": "https://shop.example/h21"}, nil).Want(201)

	// The delivery log, the dead letters and a replay of nothing.
	ls.Webhooks = nil
	e.Do("GET", "/v1/webhooks", nil, nil).Want(200).Decode(&ls)
	other := ls.Webhooks[0].ID
	if got := e.Do("GET", "/v1/webhooks/"+other+"/deliveries?limit=10", nil, nil).Want(200).JSON(); len(got["deliveries"].([]any)) != 0 {
		t.Fatalf("deliveries: %v", got)
	}
	e.Do("GET", "/v1/webhooks/"+other+"/dead-letters", nil, nil).Want(200)
	if r := e.Do("POST", "/v1/webhooks/"+other+"/dead-letters/evt_none/replay", nil, nil); r.Status != 404 || r.Code() != "dead_letter_not_found" {
		t.Fatalf("replay of nothing: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/v1/webhooks/"+other+"/deliveries?cursor=a", nil, nil); r.Status != 422 || r.JSON()["field"] != "cursor" {
		t.Fatalf("bad cursor: %d %s", r.Status, r.Body)
	}

	// A test send to a receiver the test cannot reach: answered, logged, not retried.
	res := e.Do("POST", "/v1/webhooks/"+other+"/test", nil, nil).Want(200).JSON()
	if res["delivered"] != false || res["error"] == "" {
		t.Fatalf("test send: %v", res)
	}
	if got := e.Do("GET", "/v1/webhooks/"+other+"/deliveries", nil, nil).Want(200).JSON(); len(got["deliveries"].([]any)) != 1 {
		t.Fatalf("deliveries after a test: %v", got)
	}

	// Cashiers may not manage webhooks.
	pos := e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Till"}, nil).Want(201).JSON()["pointOfSaleId"].(string)
	cashier := e.Do("POST", "/v1/staff", map[string]any{"name": "C", "role": "cashier", "pointOfSaleId": pos}, nil).Want(201).JSON()["apiKey"].(string)
	if r := e.Do("GET", "/v1/webhooks", nil, map[string]string{"Authorization": "Bearer " + cashier}); r.Status != 403 {
		t.Fatalf("cashier: %d", r.Status)
	}
}

func strPtr(s string) *string { return &s }
