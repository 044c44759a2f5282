package wallet

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/loyalty/cashback/shared/loyalty"
)

func testKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := LocalKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unzipPass reads every file of a pkpass.
func unzipPass(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("pkpass is not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// CheckPass verifies a pkpass as a device would: every file listed in the
// manifest with its SHA-1, nothing unlisted, and the detached signature
// over the manifest verifying up to root through the WWDR intermediate it
// carries, with a signingTime. It returns pass.json.
func CheckPass(t testing.TB, b []byte, root *x509.Certificate) map[string]any {
	t.Helper()
	files := unzipPass(t, b)
	var manifest map[string]string
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	for name, body := range files {
		if name == "manifest.json" || name == "signature" {
			continue
		}
		sum := sha1.Sum(body)
		if manifest[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest digest of %s is %q, want %x", name, manifest[name], sum)
		}
	}
	for name := range manifest {
		if _, ok := files[name]; !ok {
			t.Errorf("manifest lists %s, not in the zip", name)
		}
	}
	for _, want := range []string{"pass.json", "icon.png", "icon@2x.png", "logo.png"} {
		if _, ok := manifest[want]; !ok {
			t.Errorf("%s missing from the pass", want)
		}
	}
	p7, err := pkcs7.Parse(files["signature"])
	if err != nil {
		t.Fatalf("signature is no PKCS#7: %v", err)
	}
	if len(p7.Content) != 0 {
		t.Errorf("signature is not detached: %d bytes of content", len(p7.Content))
	}
	if len(p7.Certificates) != 2 {
		t.Errorf("signature carries %d certificates, want signer and WWDR", len(p7.Certificates))
	}
	p7.Content = files["manifest.json"]
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if err := p7.VerifyWithChain(pool); err != nil {
		t.Errorf("signature does not verify against the CA: %v", err)
	}
	var signed time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signed); err != nil || signed.IsZero() {
		t.Errorf("no signingTime: %v", err)
	}
	// A changed manifest no longer verifies.
	p7.Content = append([]byte(" "), files["manifest.json"]...)
	if err := p7.VerifyWithChain(pool); err == nil {
		t.Error("signature verifies over a changed manifest")
	}
	var pass map[string]any
	if err := json.Unmarshal(files["pass.json"], &pass); err != nil {
		t.Fatalf("pass.json: %v", err)
	}
	return pass
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
