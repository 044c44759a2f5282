package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func referralProgram(limit int) *loyalty.Program {
	p := apitest.DefaultProgram()
	p.Referral = &loyalty.Referral{ReferrerPoints: 1000, RefereePoints: 500, MonthlyLimit: limit}
	return &p
}

// enrollBody starts an enrollment on the staff route (or the public one with
// slug) and verifies it; it returns the verify response's fields.
func enrollWith(t *testing.T, e *apitest.Env, body map[string]any, public bool) map[string]any {
	t.Helper()
	body["consent"] = map[string]any{"terms": true}
	path := "/v1/enrollments"
	if public {
		path = "/v1/public/" + e.Slug + "/enrollments"
	}
	ch := e.Do("POST", path, body, nil).Want(201).JSON()["challengeId"].(string)
	e164, err := libphone.Normalize(body["phone"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(t, e164)}, nil).Want(201).JSON()
}

func referralCodeOf(t *testing.T, e *apitest.Env, memberID string) string {
	t.Helper()
	code, _ := e.Do("GET", "/v1/members/"+memberID, nil, nil).Want(200).JSON()["referralCode"].(string)
	if _, ok := loyalty.NormalizeReferralCode(code); !ok {
		t.Fatalf("member %s has no valid referral code: %q", memberID, code)
	}
	return code
}

// entriesOf counts a member's ledger entries of a kind.
func entriesOf(t *testing.T, e *apitest.Env, memberID string, kind loyalty.EntryKind) (n int, points loyalty.Points) {
	t.Helper()
	all, err := e.Store.AllLedger(context.Background(), e.TenantID, memberID)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range all {
		if en.Kind == kind {
			n++
			points += en.Amount
		}
	}
	return n, points
}

// A referral rewards both sides once after the referee's first closed
// order, even when the till sends that close 20 times at once (with
// different keys) and other orders close alongside, and the feed is
// delivered twice.
func TestReferralRewardsBothOnce(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Program: referralProgram(0)})
	e.Sinks = []feed.Sink{e.App.ReferralSink()}
	a := e.Enroll("+79120000101")
	code := referralCodeOf(t, e, a.ID)

	// The code works in any case, with a dash.
	typed := strings.ToLower(code[:3]) + "-" + code[3:]
	v := enrollWith(t, e, map[string]any{"phone": "+79120000102", "referralCode": typed}, false)
	b := v["memberId"].(string)
	if v["referral"] != "pending" || v["referralCode"] == "" || v["referralCode"] == code {
		t.Fatalf("verify: %v", v)
	}
	// Nothing before the first order closes.
	e.Drain()
	if n, _ := entriesOf(t, e, a.ID, loyalty.KindReferral); n != 0 {
		t.Fatalf("rewarded before any order: %d", n)
	}

	var wg sync.WaitGroup
	statuses := make(chan int, 30)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Try("POST", "/v1/orders/first/close", map[string]any{"member": map[string]any{"id": b}, "total": 10000}, apitest.Key())
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- r.Status
		}()
	}
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Try("POST", fmt.Sprintf("/v1/orders/other-%d/close", i), map[string]any{"member": map[string]any{"id": b}, "total": 10000}, apitest.Key()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 20 duplicate closes succeeded, want 1", ok)
	}

	e.Drain()
	e.Drain()
	// A redelivered event and a direct second reward change nothing.
	ev := feed.Event{ID: "evt_again", Type: feed.MemberReferralQualified, TenantID: e.TenantID, MemberID: b}
	if err := e.App.ReferralSink().Consume(context.Background(), []feed.Event{ev, ev}); err != nil {
		t.Fatal(err)
	}
	if n, pts := entriesOf(t, e, a.ID, loyalty.KindReferral); n != 1 || pts != 1000 {
		t.Fatalf("referrer: %d referral entries, %d points; want 1, 1000", n, pts)
	}
	if n, pts := entriesOf(t, e, b, loyalty.KindReferral); n != 1 || pts != 500 {
		t.Fatalf("referee: %d referral entries, %d points; want 1, 500", n, pts)
	}
	m := e.Do("GET", "/v1/members/"+b, nil, nil).Want(200).JSON()
	ref := m["referral"].(map[string]any)
	if ref["status"] != "rewarded" || ref["referrerId"] != a.ID || ref["orderId"] == "" {
		t.Fatalf("referee's referral: %v", ref)
	}
	e.Verify(a.ID)
	e.Verify(b)

	// A refund of the first order does not take the rewards back.
	e.Do("POST", "/v1/orders/"+ref["orderId"].(string)+"/refunds", map[string]any{"refundId": "r1", "amount": 10000}, apitest.Key()).Want(200)
	e.Drain()
	if n, pts := entriesOf(t, e, a.ID, loyalty.KindReferral); n != 1 || pts != 1000 {
		t.Fatalf("after the refund, referrer: %d entries, %d points", n, pts)
	}
	if got := e.Balance(a.ID).Available; got != 1000 {
		t.Fatalf("referrer's balance %d, want 1000", got)
	}
}

// problem asserts a problem code and that no code was sent.
func wantRefused(t *testing.T, e *apitest.Env, path string, body map[string]any, status int, code string) {
	t.Helper()
	before := len(e.Sender.Messages())
	body["consent"] = map[string]any{"terms": true}
	r := e.Do("POST", path, body, nil).Want(status)
	if got := r.Code(); got != code {
		t.Fatalf("%s %v: code %q, want %q", path, body["referralCode"], got, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q", ct)
	}
	if after := len(e.Sender.Messages()); after != before {
		t.Fatalf("a refused enrollment sent %d messages", after-before)
	}
}

// Unknown codes, another tenant's code, one's own code (by email) and a
// phone that was a member before are refused with stable codes, nothing
// sent; on the public route the phone's history is checked once the phone
// is proven and drops only the referral.
func TestReferralRefusals(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Program: referralProgram(0)})
	e.Sinks = []feed.Sink{e.App.ReferralSink()}
	av := enrollWith(t, e, map[string]any{"phone": "+79120000201", "email": "ann@example.com"}, false)
	a := av["memberId"].(string)
	code := av["referralCode"].(string)
	staff, public := "/v1/enrollments", "/v1/public/"+e.Slug+"/enrollments"

	for _, path := range []string{staff, public} {
		wantRefused(t, e, path, map[string]any{"phone": "+79120000202", "referralCode": "22222222"}, 422, "referral_code_unknown")
		wantRefused(t, e, path, map[string]any{"phone": "+79120000202", "referralCode": "ZZZZZZZ"}, 422, "referral_code_unknown")
	}

	// Another tenant's member's code is unknown here.
	other, err := e.App.Service.CreateTenant(context.Background(), "Other Shop", loyalty.PlanFree)
	if err != nil {
		t.Fatal(err)
	}
	oh := map[string]string{"Authorization": "Bearer " + other.APIKey}
	pid := e.Do("POST", "/v1/programs", map[string]any{"name": "O", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50,
		"referral": map[string]any{"referrerPoints": 100, "refereePoints": 100}}, oh).Want(201).JSON()["programId"].(string)
	e.Do("POST", "/v1/programs/"+pid+"/activate", nil, oh).Want(200)
	ch := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000299", "consent": map[string]any{"terms": true}}, oh).Want(201).JSON()["challengeId"].(string)
	ov := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(t, "+79120000299")}, nil).Want(201).JSON()
	wantRefused(t, e, staff, map[string]any{"phone": "+79120000202", "referralCode": ov["referralCode"]}, 422, "referral_code_unknown")

	// One's own code: the referrer's email on a second phone.
	wantRefused(t, e, staff, map[string]any{"phone": "+79120000203", "email": "ANN@example.com", "referralCode": code}, 422, "referral_self")
	// The referrer's own phone is a member: already enrolled comes first.
	wantRefused(t, e, staff, map[string]any{"phone": "+79120000201", "referralCode": code}, 409, "already_enrolled")

	// A phone that was a member before: member D, then D's membership
	// removed from the phone (as an erasure would), then D's phone again.
	dv := enrollWith(t, e, map[string]any{"phone": "+79120000204"}, false)
	_, err = storetest.Client(t).DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
		TableName: ptr(e.Store.Table()),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "T#" + e.TenantID + "#PHONE#+79120000204"},
			"SK": &types.AttributeValueMemberS{Value: "UNIQ"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, e, staff, map[string]any{"phone": "+79120000204", "referralCode": code}, 422, "referral_phone_used")
	// The public route does not tell: the code goes out, and the member
	// joins without the referral, the result saying why.
	v := enrollWith(t, e, map[string]any{"phone": "+79120000204", "referralCode": code}, true)
	if v["referral"] != "referral_phone_used" || v["memberId"] == dv["memberId"] {
		t.Fatalf("re-enrolled phone by referral: %v", v)
	}
	if _, found := e.Do("GET", "/v1/members/"+v["memberId"].(string), nil, nil).Want(200).JSON()["referral"]; found {
		t.Fatal("a dropped referral must not be kept on the account")
	}
	// Nobody was rewarded for any of it.
	e.Close("o1", v["memberId"].(string), 10000).Want(200)
	e.Drain()
	if n, _ := entriesOf(t, e, a, loyalty.KindReferral); n != 0 {
		t.Fatalf("referrer rewarded %d times for refused referrals", n)
	}
}

func ptr[T any](v T) *T { return &v }

// The monthly limit per referrer holds exactly when the rewards run
// concurrently: of 6 qualified referrals with a limit of 3, the referrer is
// rewarded for 3; every referee gets their points.
func TestReferralMonthlyLimit(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Program: referralProgram(3)})
	a := e.Enroll("+79120000301")
	code := referralCodeOf(t, e, a.ID)
	var referees []string
	for i := 0; i < 6; i++ {
		v := enrollWith(t, e, map[string]any{"phone": fmt.Sprintf("+7912000031%d", i), "referralCode": code}, i%2 == 0)
		referees = append(referees, v["memberId"].(string))
		e.Close(fmt.Sprintf("first-%d", i), referees[i], 10000).Want(200)
	}
	var wg sync.WaitGroup
	for _, id := range referees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.App.Service.RewardReferral(context.Background(), e.TenantID, id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The feed's own delivery afterwards changes nothing.
	e.Sinks = []feed.Sink{e.App.ReferralSink()}
	e.Drain()
	if n, pts := entriesOf(t, e, a.ID, loyalty.KindReferral); n != 3 || pts != 3000 {
		t.Fatalf("referrer: %d rewards (%d points), want exactly the limit 3", n, pts)
	}
	limited := 0
	for _, id := range referees {
		if n, pts := entriesOf(t, e, id, loyalty.KindReferral); n != 1 || pts != 500 {
			t.Fatalf("referee %s: %d rewards, %d points", id, n, pts)
		}
		ref := e.Do("GET", "/v1/members/"+id, nil, nil).Want(200).JSON()["referral"].(map[string]any)
		if ref["referrerLimited"] == true {
			limited++
		}
		e.Verify(id)
	}
	if limited != 3 {
		t.Fatalf("%d referrals marked limited, want 3", limited)
	}
	e.Verify(a.ID)
}

// A member enrolled before referral codes and the birthday index existed
// gets a code the first time their record is read, and the same write puts
// their birth date in the index, so the sweep finds them.
func TestLegacyMemberGetsCodeAndBirthdayIndex(t *testing.T) {
	t.Parallel()
	p := referralProgram(0)
	p.BirthdayBonus = &loyalty.BirthdayBonus{Points: 300}
	e := apitest.New(t, apitest.Options{Program: p}) // the clock starts on 2026-03-01
	id := enrollWith(t, e, map[string]any{"phone": "+79120000601", "profile": map[string]any{"birthDate": "1990-03-01"}}, false)["memberId"].(string)
	// Make it a member of before: no code on the account, no index item.
	db, table := storetest.Client(t), ptr(e.Store.Table())
	pk := &types.AttributeValueMemberS{Value: "T#" + e.TenantID + "#M#" + id}
	if _, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: table,
		Key: map[string]types.AttributeValue{"PK": pk, "SK": &types.AttributeValueMemberS{Value: "A"}}, UpdateExpression: ptr("REMOVE referralCode")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: table,
		Key: map[string]types.AttributeValue{"PK": pk, "SK": &types.AttributeValueMemberS{Value: "BDAY"}}}); err != nil {
		t.Fatal(err)
	}
	if n := birthdayCount(t, e); n != 0 {
		t.Fatalf("an unindexed member was credited: %d", n)
	}
	code := referralCodeOf(t, e, id)
	if again := referralCodeOf(t, e, id); again != code {
		t.Fatalf("the code changed between reads: %s, %s", code, again)
	}
	if n := birthdayCount(t, e); n != 1 {
		t.Fatalf("the indexed member was not credited: %d", n)
	}
	e.Verify(id)
}
