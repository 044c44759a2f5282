package wallet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"
)

// GoogleSigner plays Google in tests: a root key in Google's key-list
// format and an intermediate key it signs, signing callbacks.
type GoogleSigner struct {
	Root, Intermediate *ecdsa.PrivateKey
	SenderID, IssuerID string
	KeyExpires         time.Time
}

// NewGoogleSigner draws the keys.
func NewGoogleSigner(t testing.TB, issuerID string, now time.Time) *GoogleSigner {
	t.Helper()
	root, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &GoogleSigner{Root: root, Intermediate: inter, SenderID: DefaultSenderID, IssuerID: issuerID, KeyExpires: now.Add(24 * time.Hour)}
}

func spki(t testing.TB, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func sign(t testing.TB, k *ecdsa.PrivateKey, data []byte) string {
	h := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// KeyList is the root key in Google's key-list format.
func (g *GoogleSigner) KeyList(t testing.TB) []byte {
	b, _ := json.Marshal(map[string]any{"keys": []any{
		map[string]any{"keyValue": spki(t, g.Root), "protocolVersion": ProtocolVersion},
		map[string]any{"keyValue": "ignored", "protocolVersion": "ECv1"},
	}})
	return b
}

// Callback builds a signed callback body.
func (g *GoogleSigner) Callback(t testing.TB, objectID, eventType, nonce string, exp time.Time) []byte {
	t.Helper()
	signedKey, _ := json.Marshal(map[string]any{"keyValue": spki(t, g.Intermediate), "keyExpiration": strconv.FormatInt(g.KeyExpires.UnixMilli(), 10)})
	msg, _ := json.Marshal(map[string]any{"classId": "c", "objectId": objectID, "eventType": eventType,
		"expTimeMillis": exp.UnixMilli(), "count": 1, "nonce": nonce})
	body, _ := json.Marshal(map[string]any{
		"signature": sign(t, g.Intermediate, lengthPrefixed(g.SenderID, g.IssuerID, ProtocolVersion, string(msg))),
		"intermediateSigningKey": map[string]any{
			"signedKey":  string(signedKey),
			"signatures": []string{sign(t, g.Root, lengthPrefixed(g.SenderID, ProtocolVersion, string(signedKey)))},
		},
		"protocolVersion": ProtocolVersion,
		"signedMessage":   string(msg),
	})
	return body
}

func (g *GoogleSigner) verifier(t testing.TB, now time.Time) *CallbackVerifier {
	roots, err := ParseRootKeys(g.KeyList(t))
	if err != nil {
		t.Fatal(err)
	}
	return &CallbackVerifier{Roots: roots, IssuerID: g.IssuerID, Now: func() time.Time { return now }}
}

func TestCallbackVerification(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	g := NewGoogleSigner(t, "3388000000001", now)
	v := g.verifier(t, now)
	obj := ObjectID(g.IssuerID, "t_a", "m_b")
	good := g.Callback(t, obj, "save", "n1", now.Add(time.Minute))
	m, _, err := v.Verify(good)
	if err != nil {
		t.Fatalf("valid callback refused: %v", err)
	}
	if m.ObjectID != obj || m.EventType != "save" || m.Nonce != "n1" {
		t.Errorf("message %+v", m)
	}
	if tn, mb, ok := parseObjectID(g.IssuerID, m.ObjectID); !ok || tn != "t_a" || mb != "m_b" {
		t.Errorf("object id %q → %q %q %v", m.ObjectID, tn, mb, ok)
	}

	other := NewGoogleSigner(t, g.IssuerID, now)
	expiredKey := *g
	expiredKey.KeyExpires = now.Add(-time.Second)
	wrongSender := *g
	wrongSender.SenderID = "GoogleWalletPasses"
	wrongIssuer := *g
	wrongIssuer.IssuerID = "999"
	var env map[string]any
	_ = json.Unmarshal(good, &env)
	env["signedMessage"] = string([]byte(env["signedMessage"].(string))[:len(env["signedMessage"].(string))-1]) + ` }`
	tampered, _ := json.Marshal(env)

	cases := []struct {
		name string
		body []byte
		want error
	}{
		{"expired message", g.Callback(t, obj, "save", "n2", now.Add(-time.Millisecond)), ErrExpired},
		{"expired intermediate key", expiredKey.Callback(t, obj, "save", "n3", now.Add(time.Minute)), ErrExpired},
		{"tampered message", tampered, ErrBadSignature},
		{"unknown root", other.Callback(t, obj, "save", "n4", now.Add(time.Minute)), ErrBadSignature},
		{"other sender", wrongSender.Callback(t, obj, "save", "n5", now.Add(time.Minute)), ErrBadSignature},
		{"for another issuer", wrongIssuer.Callback(t, obj, "save", "n6", now.Add(time.Minute)), ErrBadSignature},
		{"not JSON", []byte("{"), ErrMalformed},
		{"other protocol", []byte(`{"protocolVersion":"ECv2"}`), ErrMalformed},
		{"bad event type", g.Callback(t, obj, "edit", "n7", now.Add(time.Minute)), ErrMalformed},
	}
	for _, c := range cases {
		if _, _, err := v.Verify(c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// An expired root key verifies nothing.
	v.Roots[0].Expires = now
	if _, _, err := v.Verify(good); !errors.Is(err, ErrBadSignature) {
		t.Errorf("expired root: %v", err)
	}
}

func FuzzCallbackVerify(f *testing.F) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	g := NewGoogleSigner(f, "3388000000001", now)
	v := g.verifier(f, now)
	f.Add(g.Callback(f, ObjectID(g.IssuerID, "t_a", "m_b"), "save", "n1", now.Add(time.Minute)))
	f.Add([]byte(`{"protocolVersion":"ECv2SigningOnly","signature":"AA==","signedMessage":"{}","intermediateSigningKey":{"signedKey":"{}","signatures":["AA=="]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, _, err := v.Verify(body)
		if err == nil && (m == nil || m.Nonce == "") {
			t.Fatalf("accepted without a message: %q", body)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}

func FuzzPassKitParsers(f *testing.F) {
	f.Add(`{"pushToken":"abc123"}`, "ApplePass 0123456789abcdef0123", "1700000000", `{"logs":["x"]}`)
	f.Add(`{}`, "Bearer x", "-1", `{"logs":null}`)
	f.Add(`[`, "ApplePass ", "99999999999999999999", `{`)
	f.Fuzz(func(t *testing.T, reg, auth, since, logs string) {
		if b, err := ParseRegisterBody([]byte(reg)); err == nil && !validToken(b.PushToken, 200) {
			t.Fatalf("accepted push token %q", b.PushToken)
		}
		if tok, ok := ParseApplePassAuth(auth); ok && (len(tok) == 0 || len(tok) > 200) {
			t.Fatalf("accepted token %q", tok)
		}
		if n, err := ParseUpdatedSince(since); err == nil && n < 0 {
			t.Fatalf("negative tag %d", n)
		}
		if b, err := ParseLogBody([]byte(logs)); err == nil && b.Logs == nil {
			t.Fatal("accepted a body without logs")
		}
		_, _, _ = ParseSerial(reg)
	})
}
