package api_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

func enrollBody(phone string) map[string]any {
	return map[string]any{"phone": phone, "consent": map[string]any{"terms": true}}
}

// wantLimited checks a 429 naming the limit, with a Retry-After in seconds.
func wantLimited(t *testing.T, r *apitest.Response, limit string) int {
	t.Helper()
	if r.Status != 429 || r.Code() != "too_many_requests" || r.JSON()["limit"] != limit {
		t.Fatalf("want 429 too_many_requests limit %s: %d %s", limit, r.Status, r.Body)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	return secs
}

// The incident of issue 16: an owner key sent 60 codes to 60 numbers in
// 7 seconds. Now a key stops at its plan's per-minute limit, all keys of the
// tenant together at the tenant's, and pay-as-you-go is capped too.
func TestKeyAndTenantSendLimits(t *testing.T) {
	t.Parallel()
	e := apitest.New(t) // free plan: 5 a minute per key, 10 per tenant
	for i := 0; i < 60; i++ {
		r := e.Do("POST", "/v1/enrollments", enrollBody(fmt.Sprintf("+7912100%04d", i)), nil)
		if i < int(loyalty.FreeSending.KeyPerMinute) {
			r.Want(201)
			continue
		}
		if secs := wantLimited(t, r, loyalty.LimitKeyPerMinute); secs > 65 {
			t.Fatalf("Retry-After %d s for a per-minute limit", secs)
		}
	}
	if n := len(e.Sender.Sent); n != 5 {
		t.Fatalf("%d codes sent, want 5", n)
	}

	// Pay-as-you-go: a key stops at 10 a minute, all keys at 30.
	payg, err := e.App.Service.CreateTenant(context.Background(), "Chain", loyalty.PlanPAYG)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{"Authorization": "Bearer " + payg.APIKey}
	e.APIKey = payg.APIKey // CreateProgram and Do use it
	e.CreateProgram(apitest.DefaultProgram(), true)
	keys := []map[string]string{owner}
	for i := 0; i < 3; i++ {
		st := e.Do("POST", "/v1/staff", map[string]any{"name": fmt.Sprintf("Admin %d", i), "role": "admin"}, owner).Want(201).JSON()
		keys = append(keys, map[string]string{"Authorization": "Bearer " + st["apiKey"].(string)})
	}
	// The owner key stops at 10; three more keys get the tenant to its 30.
	sent, phone := 0, 0
	for k, key := range keys {
		tries := 8
		if k == 0 {
			tries = 12
		}
		for i := 0; i < tries; i++ {
			phone++
			r := e.Do("POST", "/v1/enrollments", enrollBody(fmt.Sprintf("+7912200%04d", phone)), key)
			switch {
			case i >= int(loyalty.PAYGSending.KeyPerMinute):
				wantLimited(t, r, loyalty.LimitKeyPerMinute)
			case sent >= int(loyalty.PAYGSending.TenantPerMinute):
				wantLimited(t, r, loyalty.LimitTenantPerMinute)
			default:
				r.Want(201)
				sent++
			}
		}
	}
	if sent != 30 {
		t.Fatalf("%d codes sent by 4 keys, want the tenant's 30", sent)
	}
	// The limits slide: the refusal's Retry-After is when a send passes again.
	last := keys[len(keys)-1]
	secs := wantLimited(t, e.Do("POST", "/v1/enrollments", enrollBody("+79122009999"), last), loyalty.LimitTenantPerMinute)
	e.Clock.Advance(time.Duration(secs-1) * time.Second)
	wantLimited(t, e.Do("POST", "/v1/enrollments", enrollBody("+79122009999"), last), loyalty.LimitTenantPerMinute)
	e.Clock.Advance(time.Second)
	e.Do("POST", "/v1/enrollments", enrollBody("+79122009999"), last).Want(201)
}

// The public page's limits are its own: three public codes to a phone (its
// per-phone limit) do not stop the till from enrolling that phone, and a
// flood of public sends does not use up the staff's quota.
func TestPublicSendsDoNotLockOutTheTill(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	pub := "/v1/public/" + e.Slug + "/enrollments"
	anon := map[string]string{"Authorization": ""}
	for i := 0; i < 3; i++ {
		e.Do("POST", pub, enrollBody("+79120000060"), anon).Want(201)
	}
	wantLimited(t, e.Do("POST", pub, enrollBody("+79120000060"), anon), loyalty.LimitPhone)
	e.Do("POST", "/v1/enrollments", enrollBody("+79120000060"), nil).Want(201)

	// The public route's own tenant-wide limit (free: 5 a minute), reached
	// from numbers of different ranges, leaves the till's untouched.
	e.Clock.Advance(2 * time.Minute)
	for i := 1; i <= 5; i++ {
		e.Do("POST", pub, enrollBody(fmt.Sprintf("+7912%d000061", i)), anon).Want(201)
	}
	wantLimited(t, e.Do("POST", pub, enrollBody("+79129000061"), anon), loyalty.LimitPublicPerMinute)
	e.Do("POST", "/v1/enrollments", enrollBody("+79120000062"), nil).Want(201)
}

// Pumping walks through a number range: the public route sends at most 5
// codes an hour to the numbers sharing all but their last 4 digits.
func TestPublicSendsPerNumberRange(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	pub := "/v1/public/" + e.Slug + "/enrollments"
	anon := map[string]string{"Authorization": ""}
	for i := 0; i < loyalty.PrefixSendLimit; i++ {
		e.Clock.Advance(15 * time.Second) // under the route's per-minute limit
		e.Do("POST", pub, enrollBody(fmt.Sprintf("+7912345%04d", i)), anon).Want(201)
	}
	e.Clock.Advance(15 * time.Second)
	if secs := wantLimited(t, e.Do("POST", pub, enrollBody("+79123459999"), anon), loyalty.LimitPrefix); secs < 55*60 {
		t.Fatalf("Retry-After %d s: the range's first code is an hour old only in ~59 minutes", secs)
	}
	e.Do("POST", pub, enrollBody("+79123460000"), anon).Want(201) // the next range
}

// Per-phone limits slide: three codes at the end of a 10-minute window and a
// fourth right after it is refused (fixed windows would have restarted the
// count at 10:10).
func TestPhoneLimitSlidesAcrossTheBoundary(t *testing.T) {
	t.Parallel()
	e := apitest.New(t) // the clock starts at 10:00:00
	e.Clock.Advance(9*time.Minute + 59*time.Second)
	for i := 0; i < 3; i++ {
		e.Do("POST", "/v1/enrollments", enrollBody("+79120000063"), nil).Want(201)
	}
	e.Clock.Advance(2 * time.Second) // 10:10:01
	secs := wantLimited(t, e.Do("POST", "/v1/enrollments", enrollBody("+79120000063"), nil), loyalty.LimitPhone)
	// The three leave the window 10 minutes after their bucket ends (at most
	// 50 s past them): not before 10:19:59.
	if secs < 9*60+58 || secs > 10*60+50 {
		t.Fatalf("Retry-After %d s", secs)
	}
	e.Clock.Advance(9 * time.Minute) // 10:19:01: still within 10 minutes of them
	wantLimited(t, e.Do("POST", "/v1/enrollments", enrollBody("+79120000063"), nil), loyalty.LimitPhone)
	e.Clock.Advance(time.Duration(secs)*time.Second - 9*time.Minute)
	e.Do("POST", "/v1/enrollments", enrollBody("+79120000063"), nil).Want(201)
}

// Codes go by SMS only to mobile numbers of the tenant's countries; a
// refused number gets nothing, on either route.
func TestSMSRecipientsByCountryAndType(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e164 := func(region string, typ phonenumbers.PhoneNumberType) string {
		n := phonenumbers.GetExampleNumberForType(region, typ)
		if n == nil {
			t.Fatalf("no example %v number for %s", typ, region)
		}
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	premium := e164("RU", phonenumbers.PREMIUM_RATE) // +7 809 …
	tollFree := e164("RU", phonenumbers.TOLL_FREE)   // 8 800 …
	fixed := e164("RU", phonenumbers.FIXED_LINE)     // a landline takes no SMS
	kazakh := e164("KZ", phonenumbers.MOBILE)        // +7 771 …: same +7, another country
	pub := "/v1/public/" + e.Slug + "/enrollments"
	anon := map[string]string{"Authorization": ""}
	for _, c := range []struct {
		phone, code string
	}{
		{premium, "phone_not_allowed"}, {tollFree, "phone_not_allowed"}, {fixed, "phone_not_allowed"},
		{kazakh, "phone_country_not_allowed"}, {"+14155552671", "phone_country_not_allowed"},
	} {
		for path, headers := range map[string]map[string]string{"/v1/enrollments": nil, pub: anon} {
			r := e.Do("POST", path, enrollBody(c.phone), headers)
			if r.Status != 422 || r.Code() != c.code || r.JSON()["field"] != "phone" {
				t.Fatalf("%s %s: %d %s, want 422 %s", path, c.code, r.Status, r.Body, c.code)
			}
		}
	}
	if len(e.Sender.Sent) != 0 {
		t.Fatalf("a refused number got a message: %d sent", len(e.Sender.Sent))
	}
	// Refused numbers count against no limit: the key still has its 5 a minute.
	for i := 0; i < 5; i++ {
		e.Do("POST", "/v1/enrollments", enrollBody(fmt.Sprintf("+791200001%02d", i)), nil).Want(201)
	}

	// A tenant that sends to Kazakhstan too; other types stay refused.
	ctx := context.Background()
	kz, err := e.App.Service.CreateTenantWithSettings(ctx, "Almaty", loyalty.PlanFree, loyalty.TenantSettings{SMSCountries: []string{"ru", "KZ"}})
	if err != nil {
		t.Fatal(err)
	}
	e.APIKey = kz.APIKey
	e.CreateProgram(apitest.DefaultProgram(), true)
	e.Do("POST", "/v1/enrollments", enrollBody(kazakh), nil).Want(201)
	if r := e.Do("POST", "/v1/enrollments", enrollBody(premium), nil); r.Code() != "phone_not_allowed" {
		t.Fatalf("premium for a RU+KZ tenant: %d %s", r.Status, r.Body)
	}
	// By email no SMS is sent, so the phone's type does not matter.
	body := enrollBody(premium)
	body["channel"], body["email"] = "email", "anna@example.com"
	e.Do("POST", "/v1/enrollments", body, nil).Want(201)
	if _, err := e.App.Service.CreateTenantWithSettings(ctx, "Bad", loyalty.PlanFree, loyalty.TenantSettings{SMSCountries: []string{"Russia"}}); loyalty.CodeOf(err) != loyalty.CodeValidationFailed {
		t.Fatalf("a country that is not an ISO code: %v", err)
	}
}

// The usage report shows the plan's sending limits; a custom plan written
// without them gets pay-as-you-go's, never none.
func TestUsageShowsSendingLimits(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.Do("GET", "/v1/usage", nil, nil).Want(200).JSON()
	if got := u["limits"].(map[string]any)["sending"].(map[string]any)["keyPerMinute"]; got != float64(loyalty.FreeSending.KeyPerMinute) {
		t.Fatalf("free plan keyPerMinute %v", got)
	}
	ct, err := e.App.Service.CreateTenantWithLimits(context.Background(), "Custom", loyalty.PlanCustom, &loyalty.PlanLimits{Staff: 2})
	if err != nil {
		t.Fatal(err)
	}
	u = e.Do("GET", "/v1/usage", nil, map[string]string{"Authorization": "Bearer " + ct.APIKey}).Want(200).JSON()
	if got := u["limits"].(map[string]any)["sending"].(map[string]any)["tenantPerDay"]; got != float64(loyalty.PAYGSending.TenantPerDay) {
		t.Fatalf("custom plan without sending limits: tenantPerDay %v", got)
	}
}
