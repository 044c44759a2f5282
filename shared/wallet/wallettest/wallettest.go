// Package wallettest checks wallet passes as a device would, for the
// tests of the packages that serve them (wallet, web).
package wallettest

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
)

// UnzipPass reads every file of a pkpass.
func UnzipPass(t testing.TB, b []byte) map[string][]byte {
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
	files := UnzipPass(t, b)
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
