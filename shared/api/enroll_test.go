package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
)

func startEnroll(t *testing.T, e *apitest.Env, phone string) string {
	t.Helper()
	return e.Do("POST", "/v1/enrollments", map[string]any{"phone": phone, "consent": map[string]any{"terms": true}}, nil).Want(201).JSON()["challengeId"].(string)
}

func TestOTPAttemptsLockAndExpiry(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ch := startEnroll(t, e, "+79120000030")
	code := e.Sender.LastCode(t, "+79120000030")
	if len(code) != 4 {
		t.Fatalf("default code length is 4 (seeds): %q", code)
	}
	wrong := "0000"
	if code == wrong {
		wrong = "1111"
	}
	for left := 4; left >= 0; left-- {
		r := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": wrong}, nil)
		if r.Status != 422 || r.Code() != "otp_invalid" || int(r.JSON()["attemptsLeft"].(float64)) != left {
			t.Fatalf("attempt with %d left: %d %s", left, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), wrong) {
			t.Fatalf("problem echoes the code: %s", r.Body)
		}
	}
	if r := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": code}, nil); r.Status != 423 || r.Code() != "otp_locked" {
		t.Fatalf("after 5 wrong codes even the right one is locked out: %d %s", r.Status, r.Body)
	}

	ch2 := startEnroll(t, e, "+79120000031")
	code2 := e.Sender.LastCode(t, "+79120000031")
	e.Clock.Advance(10*time.Minute + time.Second)
	if r := e.Do("POST", "/v1/enrollments/"+ch2+"/verify", map[string]any{"code": code2}, nil); r.Status != 410 || r.Code() != "otp_expired" {
		t.Fatalf("expired: %d %s", r.Status, r.Body)
	}
}

func TestEnrollmentRules(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("8 (912) 000-00-32")
	if m.Phone != "+79120000032" {
		t.Fatalf("phone stored as %s", m.Phone)
	}
	// The key holder learns the phone is enrolled; the public route does not.
	r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000032", "consent": map[string]any{"terms": true}}, nil)
	if r.Status != 409 || r.Code() != "already_enrolled" {
		t.Fatalf("already enrolled: %d %s", r.Status, r.Body)
	}
	pub := e.Do("POST", "/v1/public/"+e.Slug+"/enrollments", map[string]any{"phone": "+79120000032", "consent": map[string]any{"terms": true}}, map[string]string{"Authorization": ""})
	pub.Want(201)
	// Whoever proves the phone is theirs may learn it is a member.
	ch := pub.JSON()["challengeId"].(string)
	v := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(t, "+79120000032")}, map[string]string{"Authorization": ""})
	if v.Status != 409 || v.Code() != "already_enrolled" {
		t.Fatalf("verify for a member: %d %s", v.Status, v.Body)
	}
	// A used challenge verifies once.
	ch3 := startEnroll(t, e, "+79120000033")
	c3 := e.Sender.LastCode(t, "+79120000033")
	e.Do("POST", "/v1/enrollments/"+ch3+"/verify", map[string]any{"code": c3}, nil).Want(201)
	if r := e.Do("POST", "/v1/enrollments/"+ch3+"/verify", map[string]any{"code": c3}, nil); r.Status != 409 || r.Code() != "otp_used" {
		t.Fatalf("reused: %d %s", r.Status, r.Body)
	}
	// Consent and phone are checked before anything is sent.
	sent := len(e.Sender.Sent)
	if r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000034", "consent": map[string]any{"terms": false}}, nil); r.Status != 422 || r.Code() != "consent_required" {
		t.Fatalf("consent: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "12", "consent": map[string]any{"terms": true}}, nil); r.Status != 400 || r.Code() != "invalid_phone" {
		t.Fatalf("phone: %d %s", r.Status, r.Body)
	}
	if len(e.Sender.Sent) != sent {
		t.Fatal("a refused enrollment sent a message")
	}
}

func TestOTPSendLimitPerPhone(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	for i := 0; i < 3; i++ {
		startEnroll(t, e, "+79120000040")
	}
	r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000040", "consent": map[string]any{"terms": true}}, nil)
	if r.Status != 429 || r.Code() != "too_many_requests" {
		t.Fatalf("4th code in 10 minutes: %d %s", r.Status, r.Body)
	}
	// Another phone is not affected.
	startEnroll(t, e, "+79120000041")
}

func TestStoppedProgramRefusesEnrollmentButLetsMembersSpend(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000050")
	e.Close("a", m.ID, 20000).Want(200)
	var list struct {
		Programs []struct {
			ID string `json:"programId"`
		} `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
	e.Do("POST", "/v1/programs/"+list.Programs[0].ID+"/stop", nil, nil).Want(200)
	if r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000051", "consent": map[string]any{"terms": true}}, nil); r.Status != 409 || r.Code() != "enrollment_closed" {
		t.Fatalf("enrollment on a stopped program: %d %s", r.Status, r.Body)
	}
	e.Do("POST", "/v1/orders/b/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 2000, "points": 1000}, apitest.Key()).Want(200)
	c := e.Close("b", m.ID, 2000).Want(200).JSON()
	if c["accrued"].(float64) != 0 || c["redeemed"].(float64) != 1000 {
		t.Fatalf("stopped program: spend yes, accrue no: %v", c)
	}
	e.Verify(m.ID)
}
