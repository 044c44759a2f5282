package wallet

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/wallet/wallettest"
)

func testKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := LocalKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unzipPass and CheckPass are wallettest's, reachable as before from the
// package's tests.
func unzipPass(t testing.TB, b []byte) map[string][]byte { return wallettest.UnzipPass(t, b) }

// CheckPass verifies a pkpass as a device would (see wallettest.CheckPass).
func CheckPass(t testing.TB, b []byte, root *x509.Certificate) map[string]any {
	return wallettest.CheckPass(t, b, root)
}

func TestPassIsSignedAndEveryFileDigested(t *testing.T) {
	k := testKeys(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	st := &loyalty.MemberState{
		Account: loyalty.Account{Card: "7712345678901234", Available: 12345, TierOverride: "Gold"},
		Lots: []loyalty.Lot{
			{Remaining: 500, ExpiresAt: now.AddDate(0, 2, 0)},
			{Remaining: 700, ExpiresAt: now.AddDate(0, 1, 0)},
			{Remaining: 900, Pending: true, ExpiresAt: now.AddDate(0, 0, 5)},
			{Remaining: 0, ExpiresAt: now.AddDate(0, 0, 3)},
		},
	}
	serial := Serial("t_abc", "m_def")
	token := k.Token(serial, "nonce")
	b, err := k.Build(CardOf("Coffee", st, now), serial, token, WebServiceURL("https://x.example"))
	if err != nil {
		t.Fatal(err)
	}
	pass := CheckPass(t, b, k.Root)
	if pass["serialNumber"] != serial || pass["authenticationToken"] != token || pass["passTypeIdentifier"] != k.PassTypeID ||
		pass["webServiceURL"] != "https://x.example/wallet/apple" || pass["formatVersion"] != 1.0 {
		t.Errorf("pass.json header: %v", pass)
	}
	if len(token) < 16 {
		t.Errorf("token %q shorter than 16", token)
	}
	card := pass["storeCard"].(map[string]any)
	fields := map[string]string{}
	for _, group := range []string{"headerFields", "primaryFields", "secondaryFields", "auxiliaryFields"} {
		list, _ := card[group].([]any)
		for _, f := range list {
			m := f.(map[string]any)
			fields[m["key"].(string)] = m["value"].(string)
		}
	}
	want := map[string]string{"balance": "123.45", "tier": "Gold", "card": "7712345678901234",
		"expiryDate": now.AddDate(0, 1, 0).Format(time.RFC3339), "expiryPoints": "7.00"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, fields[k], v)
		}
	}
	bc := pass["barcodes"].([]any)[0].(map[string]any)
	if bc["message"] != "7712345678901234" {
		t.Errorf("barcode %v", bc)
	}
	// The token is the same every time the pass is built, and differs per nonce.
	if k.Token(serial, "nonce") != token || k.Token(serial, "other") == token {
		t.Error("token is not a stable function of serial and nonce")
	}
}

func TestLocalKeysAreGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	a, err := LocalKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LocalKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Signer.Equal(b.Signer) || !bytes.Equal(a.TokenKey, b.TokenKey) {
		t.Error("a second call generated new keys")
	}
	if err := a.Signer.CheckSignatureFrom(a.WWDR); err != nil {
		t.Errorf("signer not issued by the WWDR-like intermediate: %v", err)
	}
	if !a.Apple() || !a.Google() {
		t.Error("local keys do not enable both wallets")
	}
}

func TestSerialRoundTrip(t *testing.T) {
	tn, m, ok := ParseSerial(Serial("t_abc2", "m_xyz7"))
	if !ok || tn != "t_abc2" || m != "m_xyz7" {
		t.Errorf("got %q %q %v", tn, m, ok)
	}
	for _, bad := range []string{"", "m_x", "m_x.t_", "m_X.t_a", "t_a.m_b", "m_a.t_b.c", "m_a.t_b/../"} {
		if _, _, ok := ParseSerial(bad); ok {
			t.Errorf("ParseSerial(%q) accepted", bad)
		}
	}
}

// BenchmarkBuildPass: pass.json, manifest, PKCS#7 signature and zip.
func BenchmarkBuildPass(b *testing.B) {
	k := testKeys(b)
	st := &loyalty.MemberState{Account: loyalty.Account{Card: "7712345678901234", Available: 12345}}
	c := CardOf("Coffee", st, time.Now())
	for b.Loop() {
		if _, err := k.Build(c, "m_a.t_b", "token", "https://x.example/wallet/apple"); err != nil {
			b.Fatal(err)
		}
	}
}
