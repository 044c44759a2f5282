package wallet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/wallet"
)

const issuerID = "3388000000022"

type walletEnv struct {
	*apitest.Env
	keys   *wallet.Keys
	google *wallet.GoogleSigner
	raw    *http.Client // PassKit calls are not operations of the API document
}

func newWalletEnv(t testing.TB) *walletEnv {
	t.Helper()
	keys, err := wallet.LocalKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys.GoogleIssuerID = issuerID
	g := wallet.NewGoogleSigner(t, issuerID, apitest.Start)
	roots, err := wallet.ParseRootKeys(g.KeyList(t))
	if err != nil {
		t.Fatal(err)
	}
	var clock func() time.Time
	e := apitest.New(t, apitest.Options{Wallet: app.WalletConfig{Keys: keys,
		Callbacks: &wallet.CallbackVerifier{Roots: roots, IssuerID: issuerID, Now: func() time.Time { return clock() }}}})
	clock = e.Clock.Now
	return &walletEnv{Env: e, keys: keys, google: g, raw: e.Server.Client()}
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request outside the API's contract check.
func (w *walletEnv) call(t testing.TB, method, path string, body []byte, headers map[string]string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, w.Server.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := w.raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return rawResponse{res.StatusCode, res.Header, b}
}

func (r rawResponse) want(t testing.TB, status int, what string) rawResponse {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s: error without a problem: %q", what, r.header.Get("Content-Type"))
	}
	return r
}

func (w *walletEnv) wallets(t *testing.T, memberID string) wallet.Wallets {
	t.Helper()
	var m struct {
		Wallets *wallet.Wallets `json:"wallets"`
	}
	w.Do("GET", "/v1/members/"+memberID, nil, nil).Want(200).Decode(&m)
	if m.Wallets == nil {
		t.Fatal("GET member shows no wallets")
	}
	return *m.Wallets
}

// apnsMessages are the pushes the fake APNs (the test sender) received.
func (w *walletEnv) apnsMessages() []string {
	var out []string
	for _, m := range w.Sender.Messages() {
		if m.Channel == "apns" {
			out = append(out, m.To+" "+m.Body)
		}
	}
	return out
}

func passFields(pass map[string]any) map[string]string {
	out := map[string]string{}
	card := pass["storeCard"].(map[string]any)
	for _, group := range []string{"headerFields", "primaryFields", "secondaryFields", "auxiliaryFields"} {
		list, _ := card[group].([]any)
		for _, f := range list {
			m := f.(map[string]any)
			out[m["key"].(string)] = m["value"].(string)
		}
	}
	return out
}

// The whole PassKit conversation: a pass downloaded, a device registered,
// a close on the member fed to wallet-sync as events, one push in the fake
// APNs, the updated serial listed against the old tag, the pass fetched
// with the new balance, 304 on a repeat, unregistered, 204.
func TestPassKitConversation(t *testing.T) {
	w := newWalletEnv(t)
	m := w.Enroll("+79161234567")
	ptid := w.keys.PassTypeID

	r := w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200)
	if ct := r.Header.Get("Content-Type"); ct != wallet.ContentType {
		t.Fatalf("content type %q", ct)
	}
	pass := wallet.CheckPass(t, r.Body, w.keys.Root)
	serial, token := pass["serialNumber"].(string), pass["authenticationToken"].(string)
	if !strings.HasSuffix(pass["webServiceURL"].(string), "/wallet/apple") || passFields(pass)["balance"] != "0.00" || passFields(pass)["card"] != m.Card {
		t.Fatalf("pass.json: %v", pass)
	}
	// Downloaded again: the same serial and token.
	again := wallet.CheckPass(t, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, w.keys.Root)
	if again["serialNumber"] != serial || again["authenticationToken"] != token {
		t.Fatal("serial or token changed between downloads")
	}

	auth := map[string]string{"Authorization": "ApplePass " + token, "Content-Type": "application/json"}
	regPath := "/wallet/apple/v1/devices/dev1/registrations/" + ptid + "/" + serial
	w.call(t, "POST", regPath, []byte(`{"pushToken":"tok1"}`), auth).want(t, 201, "register")
	w.call(t, "POST", regPath, []byte(`{"pushToken":"tok1"}`), auth).want(t, 200, "register again")
	// A wrong token changes nothing.
	w.call(t, "POST", "/wallet/apple/v1/devices/dev2/registrations/"+ptid+"/"+serial, []byte(`{"pushToken":"tok2"}`),
		map[string]string{"Authorization": "ApplePass " + strings.Repeat("x", 43)}).want(t, 401, "wrong token")
	if got := w.wallets(t, m.ID).Apple.Devices; got != 1 {
		t.Fatalf("devices %d after one registration and a refused one", got)
	}

	listPath := "/wallet/apple/v1/devices/dev1/registrations/" + ptid
	var list struct {
		SerialNumbers []string `json:"serialNumbers"`
		LastUpdated   any      `json:"lastUpdated"`
	}
	json.Unmarshal(w.call(t, "GET", listPath, nil, nil).want(t, 200, "list all").body, &list)
	oldTag, ok := list.LastUpdated.(string)
	if !ok || len(list.SerialNumbers) != 1 || list.SerialNumbers[0] != serial {
		t.Fatalf("list: %+v (lastUpdated must be a string)", list)
	}
	w.call(t, "GET", listPath+"?passesUpdatedSince="+oldTag, nil, nil).want(t, 204, "nothing changed yet")

	// A close on the member; the feed hands wallet-sync a burst of events.
	w.Close("o1", m.ID, 100000).Want(200)
	balance := w.Balance(m.ID).Available
	events := []feed.Event{
		{ID: "e1", Type: feed.PointsAccrued, TenantID: w.TenantID, MemberID: m.ID, Seq: 2, OccurredAt: w.Clock.Now()},
		{ID: "e2", Type: feed.MemberTierChanged, TenantID: w.TenantID, MemberID: m.ID, OccurredAt: w.Clock.Now()},
		{ID: "e3", Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: 3, OccurredAt: w.Clock.Now()},
		{ID: "e4", Type: feed.PointsAccrued, TenantID: w.TenantID, MemberID: "m_nopass", Seq: 1, OccurredAt: w.Clock.Now()},
	}
	sink := w.App.WalletSink()
	if err := sink.Consume(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if got := w.apnsMessages(); len(got) != 1 || got[0] != "tok1 "+ptid {
		t.Fatalf("pushes %v, want one to tok1 with the pass type", got)
	}

	r2 := w.call(t, "GET", listPath+"?passesUpdatedSince="+oldTag, nil, nil).want(t, 200, "list since the old tag")
	json.Unmarshal(r2.body, &list)
	newTag, _ := list.LastUpdated.(string)
	if len(list.SerialNumbers) != 1 || newTag == oldTag || newTag == "" {
		t.Fatalf("list since %s: %s", oldTag, r2.body)
	}
	w.call(t, "GET", listPath+"?passesUpdatedSince="+newTag, nil, nil).want(t, 204, "list since the new tag")

	passPath := "/wallet/apple/v1/passes/" + ptid + "/" + serial
	got := w.call(t, "GET", passPath, nil, auth).want(t, 200, "latest pass")
	lm := got.header.Get("Last-Modified")
	if lm == "" || got.header.Get("Content-Type") != wallet.ContentType {
		t.Fatalf("headers %v", got.header)
	}
	latest := wallet.CheckPass(t, got.body, w.keys.Root)
	if want := wallet.FormatPoints(balance); passFields(latest)["balance"] != want || want == "0.00" {
		t.Fatalf("pass balance %q, want %q", passFields(latest)["balance"], want)
	}
	nm := w.call(t, "GET", passPath, nil, map[string]string{"Authorization": auth["Authorization"], "If-Modified-Since": lm}).want(t, 304, "repeat")
	if nm.header.Get("Last-Modified") != lm || len(nm.body) != 0 {
		t.Errorf("304: Last-Modified %q, %d bytes", nm.header.Get("Last-Modified"), len(nm.body))
	}

	// The batch redelivered: nothing new.
	if err := sink.Consume(context.Background(), events[:1]); err != nil {
		t.Fatal(err)
	}
	if got := w.apnsMessages(); len(got) != 1 {
		t.Fatalf("a redelivered event pushed again: %v", got)
	}

	w.call(t, "DELETE", regPath, nil, auth).want(t, 200, "unregister")
	w.call(t, "GET", listPath, nil, nil).want(t, 204, "list after unregister")
	if got := w.wallets(t, m.ID).Apple.Devices; got != 0 {
		t.Fatalf("devices %d after unregistering", got)
	}
	// No device: an event moves the tag but pushes to nobody.
	if err := sink.Consume(context.Background(), []feed.Event{{ID: "e5", Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: 9}}); err != nil {
		t.Fatal(err)
	}
	if got := w.apnsMessages(); len(got) != 1 {
		t.Fatalf("pushed without a registered device: %v", got)
	}
}

// Bad input to the PassKit service: the right 4xx as a problem, nothing recorded.
func TestPassKitRefusesBadInput(t *testing.T) {
	w := newWalletEnv(t)
	m := w.Enroll("+79161234568")
	ptid := w.keys.PassTypeID
	pass := wallet.CheckPass(t, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, w.keys.Root)
	serial, token := pass["serialNumber"].(string), pass["authenticationToken"].(string)
	good := map[string]string{"Authorization": "ApplePass " + token}
	reg := func(dev, pt, ser string) string {
		return "/wallet/apple/v1/devices/" + dev + "/registrations/" + pt + "/" + ser
	}
	other := w.Enroll("+79161234569")
	// The right token with its last character changed (to another one: a
	// token ending in "A" would otherwise stay right, 1 run in 64).
	last := "A"
	if strings.HasSuffix(token, "A") {
		last = "B"
	}
	wrong := token[:len(token)-1] + last
	cases := []struct {
		name, method, path string
		body               string
		headers            map[string]string
		status             int
	}{
		{"no token", "POST", reg("d1", ptid, serial), `{"pushToken":"t"}`, nil, 401},
		{"bearer, not ApplePass", "POST", reg("d1", ptid, serial), `{"pushToken":"t"}`, map[string]string{"Authorization": "Bearer " + token}, 401},
		{"wrong token", "POST", reg("d1", ptid, serial), `{"pushToken":"t"}`, map[string]string{"Authorization": "ApplePass " + wrong}, 401},
		{"another member's serial", "POST", reg("d1", ptid, wallet.Serial(w.TenantID, other.ID)), `{"pushToken":"t"}`, good, 401},
		{"malformed serial", "POST", reg("d1", ptid, "nonsense"), `{"pushToken":"t"}`, good, 401},
		{"unknown pass type", "POST", reg("d1", "pass.other", serial), `{"pushToken":"t"}`, good, 404},
		{"malformed JSON", "POST", reg("d1", ptid, serial), `{"pushToken":`, good, 400},
		{"no push token", "POST", reg("d1", ptid, serial), `{}`, good, 400},
		{"bad device id", "POST", reg("d%20x", ptid, serial), `{"pushToken":"t"}`, good, 400},
		{"huge register body", "POST", reg("d1", ptid, serial), `{"pushToken":"t","x":"` + strings.Repeat("a", 8<<10) + `"}`, good, 413},
		{"pass with a wrong token", "GET", "/wallet/apple/v1/passes/" + ptid + "/" + serial, "", map[string]string{"Authorization": "ApplePass nope-nope-nope-nope"}, 401},
		{"unregister without token", "DELETE", reg("d1", ptid, serial), "", nil, 401},
		{"bad tag", "GET", "/wallet/apple/v1/devices/d1/registrations/" + ptid + "?passesUpdatedSince=abc", "", nil, 400},
		{"list of another pass type", "GET", "/wallet/apple/v1/devices/d1/registrations/pass.other", "", nil, 404},
		{"huge log", "POST", "/wallet/apple/v1/log", `{"logs":["` + strings.Repeat("a", wallet.MaxLogBody) + `"]}`, nil, 413},
		{"malformed log", "POST", "/wallet/apple/v1/log", `{"logs":`, nil, 400},
		{"wrong method", "PUT", "/wallet/apple/v1/log", `{}`, nil, 405},
		{"malformed callback", "POST", "/wallet/google/callback", `{`, nil, 400},
		{"unsigned callback", "POST", "/wallet/google/callback", `{"protocolVersion":"ECv2SigningOnly","signature":"AA==","signedMessage":"{}","intermediateSigningKey":{"signedKey":"{}","signatures":["AA=="]}}`, nil, 401},
	}
	for _, c := range cases {
		w.call(t, c.method, c.path, []byte(c.body), c.headers).want(t, c.status, c.name)
	}
	w.call(t, "POST", "/wallet/apple/v1/log", []byte(`{"logs":["Register task encountered error"]}`), nil).want(t, 200, "log")
	if got := w.wallets(t, m.ID); got.Apple.Devices != 0 || got.Google.Saved {
		t.Fatalf("bad input recorded something: %+v", got)
	}
	if got := w.wallets(t, other.ID); got.Apple.Devices != 0 {
		t.Fatalf("bad input recorded something for another member: %+v", got)
	}
	// The pass download is a staff operation: no key, no pass.
	if got := w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, map[string]string{"Authorization": ""}); got.Status != 401 {
		t.Fatalf("pass without a key: %d", got.Status)
	}
	if got := w.Do("GET", "/v1/members/m_nosuchmember/pass.pkpass", nil, nil); got.Status != 404 || got.Code() != "member_not_found" {
		t.Fatalf("pass of no member: %d %s", got.Status, got.Body)
	}
}

// APNs over HTTP/2: an empty JSON payload with the pass type as topic; a
// 410 drops the registration; one push per device for a burst.
func TestSyncPushesOverAPNsAndDropsDeadTokens(t *testing.T) {
	w := newWalletEnv(t)
	m := w.Enroll("+79161234570")
	ptid := w.keys.PassTypeID
	pass := wallet.CheckPass(t, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, w.keys.Root)
	serial, token := pass["serialNumber"].(string), pass["authenticationToken"].(string)
	for _, d := range []struct{ dev, tok string }{{"live1", "good1"}, {"dead1", "dead"}} {
		w.call(t, "POST", "/wallet/apple/v1/devices/"+d.dev+"/registrations/"+ptid+"/"+serial, []byte(`{"pushToken":"`+d.tok+`"}`),
			map[string]string{"Authorization": "ApplePass " + token}).want(t, 201, "register "+d.dev)
	}

	var mu sync.Mutex
	var pushes []string
	apns := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		pushes = append(pushes, fmt.Sprintf("%s %s %s %s", r.Proto, r.URL.Path, r.Header.Get("apns-topic"), b))
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/dead") {
			rw.WriteHeader(http.StatusGone)
			rw.Write([]byte(`{"reason":"Unregistered"}`))
			return
		}
	}))
	apns.EnableHTTP2 = true
	apns.StartTLS()
	t.Cleanup(apns.Close)
	client := wallet.NewAPNs(w.keys)
	client.BaseURL = apns.URL
	client.Client.Transport.(*http.Transport).TLSClientConfig.RootCAs = apns.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	svc := *w.App.Wallet
	svc.Pusher = client
	sync := &wallet.Sync{Service: &svc}
	burst := []feed.Event{
		{ID: "a", Type: feed.PointsAccrued, TenantID: w.TenantID, MemberID: m.ID, Seq: 5},
		{ID: "b", Type: feed.PointsCaptured, TenantID: w.TenantID, MemberID: m.ID, Seq: 6},
		{ID: "c", Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: 7},
	}
	if err := sync.Consume(context.Background(), burst); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]string(nil), pushes...)
	mu.Unlock()
	want := map[string]bool{"HTTP/2.0 /3/device/good1 " + ptid + " {}": true, "HTTP/2.0 /3/device/dead " + ptid + " {}": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Fatalf("pushes %q, want one HTTP/2 {} per device with the pass type topic", got)
	}
	if n := w.wallets(t, m.ID).Apple.Devices; n != 1 {
		t.Fatalf("devices %d after APNs said one token is dead", n)
	}
	w.call(t, "GET", "/wallet/apple/v1/devices/dead1/registrations/"+ptid, nil, nil).want(t, 204, "the dead device's list")
}

func TestGoogleWallet(t *testing.T) {
	w := newWalletEnv(t)
	m := w.Enroll("+79161234571")
	w.Close("o1", m.ID, 50000).Want(200)
	balance := w.Balance(m.ID).Available

	var out struct {
		SaveURL string `json:"saveUrl"`
	}
	w.Do("GET", "/v1/members/"+m.ID+"/google-wallet", nil, nil).Want(200).Decode(&out)
	raw, ok := strings.CutPrefix(out.SaveURL, wallet.GoogleSaveBase)
	if !ok {
		t.Fatalf("save url %q", out.SaveURL)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &w.keys.GoogleKey.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("google")); err != nil {
		t.Fatalf("save JWT: %v", err)
	}
	if claims["typ"] != "savetowallet" || claims["iss"] != w.keys.GoogleEmail {
		t.Errorf("claims %v", claims)
	}
	obj := claims["payload"].(map[string]any)["loyaltyObjects"].([]any)[0].(map[string]any)
	if got := obj["loyaltyPoints"].(map[string]any)["balance"].(map[string]any)["string"]; got != wallet.FormatPoints(balance) {
		t.Errorf("balance %v, want %s", got, wallet.FormatPoints(balance))
	}
	if obj["barcode"].(map[string]any)["value"] != m.Card || obj["id"] != wallet.ObjectID(issuerID, w.TenantID, m.ID) {
		t.Errorf("object %v", obj)
	}

	objID := wallet.ObjectID(issuerID, w.TenantID, m.ID)
	now := w.Clock.Now()
	post := func(body []byte) rawResponse {
		return w.call(t, "POST", "/wallet/google/callback", body, map[string]string{"Content-Type": "application/json"})
	}
	save := w.google.Callback(t, objID, "save", "nonce-1", now.Add(2*time.Minute))
	if r := post(save).want(t, 200, "save"); !bytes.Contains(r.body, []byte(`"duplicate":false`)) {
		t.Errorf("first delivery: %s", r.body)
	}
	if !w.wallets(t, m.ID).Google.Saved {
		t.Fatal("save not recorded")
	}
	if r := post(save).want(t, 200, "redelivery"); !bytes.Contains(r.body, []byte(`"duplicate":true`)) {
		t.Errorf("redelivery: %s", r.body)
	}
	// A delete older than the save (out of order) leaves the card saved.
	post(w.google.Callback(t, objID, "del", "nonce-0", now.Add(time.Minute))).want(t, 200, "older delete")
	if !w.wallets(t, m.ID).Google.Saved {
		t.Fatal("an older delete overrode a newer save")
	}
	// Tampered and expired: refused, nothing recorded.
	del := w.google.Callback(t, objID, "del", "nonce-2", now.Add(3*time.Minute))
	post(bytes.Replace(del, []byte(`\"del\"`), []byte(`\"save\"`), 1)).want(t, 401, "tampered")
	post(w.google.Callback(t, objID, "del", "nonce-3", now.Add(-time.Second))).want(t, 401, "expired")
	if !w.wallets(t, m.ID).Google.Saved {
		t.Fatal("a refused callback changed the state")
	}
	// Saved: every change on the member patches the object, once per
	// batch; notifying for the first 3 in a day, plain after.
	sink := w.App.WalletSink()
	for i := int64(1); i <= 4; i++ {
		w.Clock.Advance(time.Minute)
		burst := []feed.Event{
			{ID: fmt.Sprint("g", i), Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: 10 * i},
			{ID: fmt.Sprint("h", i), Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: 10*i + 1},
		}
		if err := sink.Consume(context.Background(), burst); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Consume(context.Background(), []feed.Event{{ID: "g1", Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: 10}}); err != nil {
		t.Fatal(err) // a redelivered event: no update
	}
	var updates []string
	for _, msg := range w.Sender.Messages() {
		if msg.Channel == "google-wallet" {
			if msg.To != objID {
				t.Errorf("update of %s, want %s", msg.To, objID)
			}
			updates = append(updates, msg.Body)
		}
	}
	if len(updates) != 4 {
		t.Fatalf("%d object updates for 4 batches: %q", len(updates), updates)
	}
	for i, u := range updates {
		if notifying := strings.Contains(u, "notifyOnUpdate"); notifying != (i < 3) || !strings.Contains(u, `"string":"`+wallet.FormatPoints(balance)+`"`) {
			t.Errorf("update %d: %s (notifying: want %v)", i+1, u, i < 3)
		}
	}
	w.Clock.Advance(24 * time.Hour)
	if err := sink.Consume(context.Background(), []feed.Event{{ID: "n", Type: feed.PointsExpired, TenantID: w.TenantID, MemberID: m.ID, Seq: 100}}); err != nil {
		t.Fatal(err)
	}
	if last := w.Sender.Messages(); !strings.Contains(last[len(last)-1].Body, "notifyOnUpdate") {
		t.Errorf("a day later the update does not notify: %s", last[len(last)-1].Body)
	}

	w.google.KeyExpires = w.Clock.Now().Add(time.Hour)
	post(w.google.Callback(t, objID, "del", "nonce-5", w.Clock.Now().Add(time.Minute))).want(t, 200, "newer delete")
	if w.wallets(t, m.ID).Google.Saved {
		t.Fatal("delete not recorded")
	}
	// Another issuer's object: refused.
	post(w.google.Callback(t, "999."+wallet.Serial(w.TenantID, m.ID), "save", "nonce-4", w.Clock.Now().Add(time.Minute))).want(t, 400, "other issuer's object")
}

// The wallet calls log one line each, without tokens, push tokens or
// device ids, whatever the outcome.
func TestWalletLogsNoSecrets(t *testing.T) {
	w := newWalletEnv(t)
	m := w.Enroll("+79161234572")
	pass := wallet.CheckPass(t, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, w.keys.Root)
	serial, token := pass["serialNumber"].(string), pass["authenticationToken"].(string)
	var buf bytes.Buffer
	svc := *w.App.Wallet
	svc.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	send := func(method, path, body, auth string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "ApplePass "+auth)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	reg := "/wallet/apple/v1/devices/secretdevice42/registrations/" + w.keys.PassTypeID + "/" + serial
	statuses := []int{
		send("POST", reg, `{"pushToken":"secretpushtoken"}`, token),
		send("POST", reg, `{"pushToken":"secretpushtoken"}`, token+"x"),
		send("GET", "/wallet/apple/v1/passes/"+w.keys.PassTypeID+"/"+serial, "", token),
		send("POST", "/wallet/apple/v1/log", `{"logs":["device said hello"]}`, ""),
	}
	if fmt.Sprint(statuses) != "[201 401 200 200]" {
		t.Fatalf("statuses %v", statuses)
	}
	srv.Close() // waits for the handlers: each logs after its answer is sent
	logs := buf.String()
	if n := strings.Count(logs, `"msg":"wallet request"`); n != 4 {
		t.Errorf("%d request lines for 4 calls:\n%s", n, logs)
	}
	for _, secret := range []string{token, "secretpushtoken", "secretdevice42"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "device said hello") {
		t.Errorf("device log line not logged:\n%s", logs)
	}
}
