package api_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/campaigns"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store"
)

// enrollWith enrolls a member over HTTP with a birth date, an email and
// the marketing consent given or not.
func enrollForCampaign(e *apitest.Env, ph string, marketing bool, birthDate, email string) apitest.Member {
	e.T.Helper()
	e.Clock.Advance(15 * time.Second) // within the free plan's codes per minute
	body := map[string]any{"phone": ph, "consent": map[string]any{"terms": true, "marketing": marketing},
		"profile": map[string]any{"name": "N" + ph[len(ph)-2:], "birthDate": birthDate}}
	if email != "" {
		body["email"] = email
	}
	ch := e.Do("POST", "/v1/enrollments", body, nil).Want(201).JSON()["challengeId"].(string)
	e164, err := libphone.Normalize(ph)
	if err != nil {
		e.T.Fatal(err)
	}
	v := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(e.T, e164)}, nil).Want(201).JSON()
	return apitest.Member{ID: v["memberId"].(string), Card: v["cardNumber"].(string), Phone: e164}
}

// campaignMessages are the messages whose body carries marker, by recipient.
func campaignMessages(msgs []loyalty.Message, marker string) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		if strings.Contains(m.Body, marker) {
			out[m.To]++
		}
	}
	return out
}

func runCampaigns(t *testing.T, e *apitest.Env) {
	t.Helper()
	if _, err := e.App.Campaigns.Reconcile(context.Background()); err != nil {
		t.Fatalf("run campaigns: %v", err)
	}
}

func getCampaign(e *apitest.Env, id string) campaigns.Campaign {
	e.T.Helper()
	var c campaigns.Campaign
	e.Do("GET", "/v1/campaigns/"+id, nil, nil).Want(200).Decode(&c)
	return c
}

func newCampaignEnv(t *testing.T) *apitest.Env {
	e := apitest.New(t)
	e.App.Campaigns.Sleep = func(context.Context, time.Duration) error { return nil } // pacing is not what these test
	return e
}

func TestCampaignReachesExactlyTheConsentingMembersOfItsSegment(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	a := enrollForCampaign(e, "+79160000101", true, "1990-05-10", "a@example.com")
	b := enrollForCampaign(e, "+79160000102", false, "1985-05-20", "")
	c := enrollForCampaign(e, "+79160000103", true, "1991-06-01", "")
	d := enrollForCampaign(e, "+79160000104", true, "1992-05-03", "")
	x := enrollForCampaign(e, "+79160000105", false, "1993-05-04", "")
	for _, m := range []apitest.Member{d, x} {
		e.Do("PUT", "/v1/members/"+m.ID+"/groups", map[string]any{"groups": []string{"vip"}}, nil).Want(200)
	}

	// Birth month: an index read, then the consent of each member.
	may := e.Do("POST", "/v1/campaigns", map[string]any{"name": "May birthdays", "channel": "sms",
		"segment": map[string]any{"birthMonth": 5}, "text": "Happy May, {name}! You have {balance} points. [may]"}, nil).Want(201).JSON()
	if may["status"] != "scheduled" {
		t.Fatalf("a new campaign is %v, want scheduled", may["status"])
	}
	if got := campaignMessages(e.Sender.Messages(), "[may]"); len(got) != 0 {
		t.Fatalf("creating a campaign sent %v", got)
	}
	runCampaigns(t, e)
	got := campaignMessages(e.Sender.Messages(), "[may]")
	if len(got) != 2 || got[a.Phone] != 1 || got[d.Phone] != 1 {
		t.Fatalf("May campaign reached %v; want exactly %s and %s once each (not %s, %s without consent, nor %s born in June)", got, a.Phone, d.Phone, b.Phone, x.Phone, c.Phone)
	}
	cm := getCampaign(e, may["campaignId"].(string))
	want := campaigns.Counts{Targeted: 4, Sent: 2, SkippedNoConsent: 2}
	if cm.Status != campaigns.StatusDone || cm.Counts != want {
		t.Fatalf("May campaign: status %s counts %+v, want done %+v", cm.Status, cm.Counts, want)
	}
	for _, m := range e.Sender.Messages() {
		if strings.Contains(m.Body, "[may]") && m.To == a.Phone && !strings.Contains(m.Body, "Happy May, N01! You have 0.00 points.") {
			t.Fatalf("template not rendered: %q", m.Body)
		}
	}

	// Group (index) and birth month together; then everyone by email.
	vip := e.Do("POST", "/v1/campaigns", map[string]any{"name": "VIP", "channel": "sms",
		"segment": map[string]any{"group": "vip", "birthMonth": 5}, "text": "VIP offer [vip]"}, nil).Want(201).JSON()
	all := e.Do("POST", "/v1/campaigns", map[string]any{"name": "All", "channel": "email",
		"segment": map[string]any{}, "text": "News [all]"}, nil).Want(201).JSON()
	runCampaigns(t, e)
	if got := campaignMessages(e.Sender.Messages(), "[vip]"); len(got) != 1 || got[d.Phone] != 1 {
		t.Fatalf("VIP campaign reached %v, want only %s", got, d.Phone)
	}
	if got := campaignMessages(e.Sender.Messages(), "[all]"); len(got) != 1 || got["a@example.com"] != 1 {
		t.Fatalf("email campaign reached %v, want only a@example.com", got)
	}
	if c := getCampaign(e, vip["campaignId"].(string)); c.Counts != (campaigns.Counts{Targeted: 2, Sent: 1, SkippedNoConsent: 1}) {
		t.Fatalf("VIP counts %+v", c.Counts)
	}
	if c := getCampaign(e, all["campaignId"].(string)); c.Counts != (campaigns.Counts{Targeted: 5, Sent: 1, SkippedNoConsent: 2, SkippedNoAddress: 2}) {
		t.Fatalf("email counts %+v", c.Counts)
	}
	// Running again sends nothing more.
	before := len(e.Sender.Messages())
	runCampaigns(t, e)
	if n := len(e.Sender.Messages()); n != before {
		t.Fatalf("a second run sent %d more messages", n-before)
	}
}

func TestCampaignBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	enrollForCampaign(e, "+79160000201", true, "1990-05-10", "")
	cases := []struct {
		name string
		body map[string]any
		code string
	}{
		{"empty segment", map[string]any{"name": "x", "channel": "sms", "segment": map[string]any{"birthMonth": 12}, "text": "hi"}, "segment_empty"},
		{"unknown variable", map[string]any{"name": "x", "channel": "sms", "segment": map[string]any{}, "text": "hi {surname}"}, "template_unknown_variable"},
		{"unclosed brace", map[string]any{"name": "x", "channel": "sms", "segment": map[string]any{}, "text": "hi {name"}, "template_invalid"},
		{"past send time", map[string]any{"name": "x", "channel": "sms", "segment": map[string]any{}, "text": "hi", "sendAt": apitest.Start.Add(-time.Hour).Format(time.RFC3339)}, "send_time_in_past"},
		{"bad period", map[string]any{"name": "x", "channel": "sms", "segment": map[string]any{"inactiveFor": "P1Y"}, "text": "hi"}, "validation_failed"},
	}
	for _, tc := range cases {
		r := e.Do("POST", "/v1/campaigns", tc.body, nil).Want(422)
		if r.Code() != tc.code {
			t.Errorf("%s: code %s, want %s", tc.name, r.Code(), tc.code)
		}
	}
	before := len(e.Sender.Messages())
	runCampaigns(t, e)
	if n := len(e.Sender.Messages()); n != before {
		t.Fatalf("refused campaigns sent %d messages", n-before)
	}
	e.Do("GET", "/v1/campaigns/cmp_nosuch", nil, nil).Want(404)
}

func TestScheduledCampaignWaitsForItsTime(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	m := enrollForCampaign(e, "+79160000301", true, "1990-05-10", "")
	e.Do("POST", "/v1/campaigns", map[string]any{"name": "later", "channel": "sms", "segment": map[string]any{},
		"text": "later [later]", "sendAt": apitest.Start.Add(2 * time.Hour).Format(time.RFC3339)}, nil).Want(201)
	runCampaigns(t, e)
	if got := campaignMessages(e.Sender.Messages(), "[later]"); len(got) != 0 {
		t.Fatalf("sent before its time: %v", got)
	}
	e.Clock.Advance(2 * time.Hour)
	runCampaigns(t, e)
	if got := campaignMessages(e.Sender.Messages(), "[later]"); got[m.Phone] != 1 {
		t.Fatalf("not sent at its time: %v", got)
	}
}

// crashingSender delivers, then kills its worker (cancels the worker's
// context) after the n-th message, so the worker dies between handing a
// message to the gateway and recording it.
type crashingSender struct {
	mu     sync.Mutex
	out    *apitest.Sender
	n      int
	cancel context.CancelFunc
}

func (s *crashingSender) Send(ctx context.Context, m loyalty.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.out.Send(ctx, m); err != nil {
		return err
	}
	if s.n--; s.n == 0 {
		s.cancel()
	}
	return nil
}

func TestCampaignResumesAfterACrashWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	var members []apitest.Member
	for i := 0; i < 7; i++ {
		members = append(members, enrollForCampaign(e, "+7916000040"+string(rune('0'+i)), i != 3, "1990-05-10", ""))
	}
	e.App.Campaigns.PageSize = 2 // the cursor moves several times before the crash
	id := e.Do("POST", "/v1/campaigns", map[string]any{"name": "crash", "channel": "sms", "segment": map[string]any{"birthMonth": 5},
		"text": "Offer [crash]"}, nil).Want(201).JSON()["campaignId"].(string)

	ctx, cancel := context.WithCancel(context.Background())
	svc := *e.App.Campaigns
	svc.Sender = &crashingSender{out: e.Sender, n: 4, cancel: cancel}
	if _, err := svc.Run(ctx, campaigns.Ref{TenantID: e.TenantID, CampaignID: id}); !errors.Is(err, context.Canceled) {
		t.Fatalf("the killed worker ended with %v, want context canceled", err)
	}
	if got := campaignMessages(e.Sender.Messages(), "[crash]"); len(got) != 4 {
		t.Fatalf("before the crash %d members got the message, want 4", len(got))
	}
	// A new worker: nothing happens while the dead one's lease runs.
	runCampaigns(t, e)
	if got := campaignMessages(e.Sender.Messages(), "[crash]"); len(got) != 4 {
		t.Fatalf("a worker ran during the dead worker's lease: %v", got)
	}
	e.Clock.Advance(3 * time.Minute)
	runCampaigns(t, e)
	got := campaignMessages(e.Sender.Messages(), "[crash]")
	for i, m := range members {
		want := 1
		if i == 3 {
			want = 0
		}
		if got[m.Phone] != want {
			t.Fatalf("member %d got %d messages, want %d (all: %v)", i, got[m.Phone], want, got)
		}
	}
	c := getCampaign(e, id)
	// The message in flight at the crash went out but was not recorded:
	// it is counted interrupted, never resent.
	want := campaigns.Counts{Targeted: 7, Sent: 5, SkippedNoConsent: 1, Interrupted: 1}
	if c.Status != campaigns.StatusDone || c.Counts != want {
		t.Fatalf("after the resume: %s %+v, want done %+v", c.Status, c.Counts, want)
	}
}

func TestUnsubscribeStopsTheNextCampaign(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	a := enrollForCampaign(e, "+79160000501", true, "1990-05-10", "")
	b := enrollForCampaign(e, "+79160000502", true, "1990-05-11", "")
	c := enrollForCampaign(e, "+79160000503", true, "1990-05-12", "")
	e.Do("POST", "/v1/campaigns", map[string]any{"name": "one", "channel": "sms", "segment": map[string]any{}, "text": "first [one]"}, nil).Want(201)
	runCampaigns(t, e)

	// a follows the link in the message; b replies STOP; c does nothing.
	var link string
	for _, m := range e.Sender.Messages() {
		if m.To == a.Phone && strings.Contains(m.Body, "[one]") {
			_, link, _ = strings.Cut(m.Body, "STOP: ")
		}
	}
	token, ok := strings.CutPrefix(strings.TrimSpace(link), "http://loyalty.test/u/")
	if !ok {
		t.Fatalf("no unsubscribe link in the message: %q", link)
	}
	if c := e.Do("POST", "/v1/public/unsubscribe", map[string]any{"token": token + "x"}, map[string]string{"Authorization": ""}).Want(404).Code(); c != "unsubscribe_token_invalid" {
		t.Fatalf("a tampered token: %s", c)
	}
	e.Do("POST", "/v1/public/unsubscribe", map[string]any{"token": token}, map[string]string{"Authorization": ""}).Want(200)
	inbound(e, b.Phone, "Stop", 200)
	inboundSigned(e, c.Phone, "STOP", "bad", 401) // a forged reply changes nothing

	for _, m := range []apitest.Member{a, b} {
		if e.Do("GET", "/v1/members/"+m.ID, nil, nil).Want(200).JSON()["consent"].(map[string]any)["marketing"] != false {
			t.Fatalf("%s still consents", m.Phone)
		}
	}
	id := e.Do("POST", "/v1/campaigns", map[string]any{"name": "two", "channel": "sms", "segment": map[string]any{}, "text": "second [two]"}, nil).Want(201).JSON()["campaignId"].(string)
	runCampaigns(t, e)
	if got := campaignMessages(e.Sender.Messages(), "[two]"); len(got) != 1 || got[c.Phone] != 1 {
		t.Fatalf("second campaign reached %v, want only %s", got, c.Phone)
	}
	if cm := getCampaign(e, id); cm.Counts != (campaigns.Counts{Targeted: 3, Sent: 1, SkippedNoConsent: 2}) {
		t.Fatalf("counts %+v", cm.Counts)
	}
}

func inbound(e *apitest.Env, from, text string, want int) {
	e.T.Helper()
	body := `{"from":"` + from + `","text":"` + text + `"}`
	inboundSigned(e, from, text, campaigns.InboundSignature([]byte(apitest.SMSInboundSecret), []byte(body)), want)
}

func inboundSigned(e *apitest.Env, from, text, sig string, want int) {
	e.T.Helper()
	body := `{"from":"` + from + `","text":"` + text + `"}`
	e.Do("POST", "/v1/public/"+e.Slug+"/sms/inbound", []byte(body), map[string]string{"X-Signature": sig}).Want(want)
}

func TestExpiryReminderOncePerExpiryDateToConsentingMembers(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{NoProgram: true})
	// A bad template is refused like a campaign's.
	prog := map[string]any{"name": "P", "type": "bonus", "cashbackPercent": 10, "maxRedeemPercent": 50, "pointsLifetime": "P30D",
		"expiryReminder": map[string]any{"daysBefore": 7, "channel": "sms", "text": "{nme}"}}
	if c := e.Do("POST", "/v1/programs", prog, nil).Want(422).Code(); c != "template_unknown_variable" {
		t.Fatalf("bad reminder template: %s", c)
	}
	prog["expiryReminder"] = map[string]any{"daysBefore": 7, "channel": "sms", "text": "{expiringPoints} points expire on {expiry} [remind]"}
	id := e.Do("POST", "/v1/programs", prog, nil).Want(201).JSON()["programId"].(string)
	e.Do("POST", "/v1/programs/"+id+"/activate", nil, nil).Want(200)

	yes := enrollForCampaign(e, "+79160000601", true, "1990-01-01", "")
	no := enrollForCampaign(e, "+79160000602", false, "1990-01-01", "")
	for _, m := range []apitest.Member{yes, no} {
		e.Close("o-"+m.ID, m.ID, 100000).Want(200) // 100.00 points expiring in 30 days
	}
	expires := e.Clock.Now().AddDate(0, 0, 30).UTC().Format("2006-01-02")
	remind := func() campaigns.RemindResult {
		t.Helper()
		r, err := e.App.Campaigns.Remind(context.Background())
		if err != nil {
			t.Fatalf("reminders: %v", err)
		}
		return r
	}
	remind() // 30 days ahead: nothing is due yet
	if got := campaignMessages(e.Sender.Messages(), "[remind]"); len(got) != 0 {
		t.Fatalf("reminded a month ahead: %v", got)
	}
	e.Clock.Advance(23 * 24 * time.Hour)
	r := remind()
	got := campaignMessages(e.Sender.Messages(), "[remind]")
	if len(got) != 1 || got[yes.Phone] != 1 || r.Sent != 1 {
		t.Fatalf("reminders 7 days ahead: %v (run %+v), want one to %s", got, r, yes.Phone)
	}
	for _, m := range e.Sender.Messages() {
		if strings.Contains(m.Body, "[remind]") && !strings.Contains(m.Body, "100.00 points expire on "+expires) {
			t.Fatalf("reminder text %q, want the points and date %s", m.Body, expires)
		}
	}
	// Later runs the same day and the next days send nothing more.
	remind()
	e.Clock.Advance(24 * time.Hour)
	remind()
	if got := campaignMessages(e.Sender.Messages(), "[remind]"); len(got) != 1 || got[yes.Phone] != 1 {
		t.Fatalf("reminded again: %v", got)
	}
}

// A birth-month campaign reads the birth-month index: its DynamoDB round
// trips follow the members born that month, not the tenant's members.
func TestIndexedSegmentCostDoesNotGrowWithOtherMembers(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	phone := 700
	enroll := func(n int, birth string) {
		for i := 0; i < n; i++ {
			phone++
			enrollForCampaign(e, "+7916000"+strconv.Itoa(10000 + phone)[1:], true, birth, "")
		}
	}
	roundTrips := func(name string) int {
		t.Helper()
		id := e.Do("POST", "/v1/campaigns", map[string]any{"name": name, "channel": "sms", "segment": map[string]any{"birthMonth": 5},
			"text": "[" + name + "]"}, nil).Want(201).JSON()["campaignId"].(string)
		m := &store.Meter{}
		res, err := e.App.Campaigns.Run(store.WithMeter(context.Background(), m), campaigns.Ref{TenantID: e.TenantID, CampaignID: id})
		if err != nil || res.Status != campaigns.StatusDone || res.Sent != 3 {
			t.Fatalf("%s: %+v %v", name, res, err)
		}
		n, _, _ := m.Snapshot()
		return n
	}
	enroll(3, "1990-05-01")
	enroll(5, "1990-07-01")
	small := roundTrips("small")
	enroll(20, "1990-08-01")
	large := roundTrips("large")
	if small != large || small == 0 {
		t.Fatalf("round trips of a birth-month campaign: %d with 8 members, %d with 28 (3 born in May each time)", small, large)
	}
	t.Logf("birth-month campaign to 3 members: %d round trips with 8 and with 28 members", small)
}
