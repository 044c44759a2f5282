package wallet_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/wallet"
)

// testChain is a tenant's own chain, generated here: a root standing in for
// Apple's, a WWDR-like intermediate, and Pass Type ID certificates.
type testChain struct {
	root, wwdr *x509.Certificate
	wwdrKey    crypto.Signer
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issueCert(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = n
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestChain(t *testing.T, now time.Time) testChain {
	rootKey, wwdrKey := newKey(t), newKey(t)
	root := issueCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Tenant test root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0)}, nil, rootKey.Public(), rootKey)
	wwdr := issueCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Tenant test WWDR"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0)}, root, wwdrKey.Public(), rootKey)
	return testChain{root: root, wwdr: wwdr, wwdrKey: wwdrKey}
}

// passCert issues a Pass Type ID certificate (UID = the pass type id, as
// Apple's) valid from notBefore to notAfter.
func (c testChain) passCert(t *testing.T, passType string, key crypto.Signer, notBefore, notAfter time.Time) *x509.Certificate {
	return issueCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "Pass Type ID: " + passType, OrganizationalUnit: []string{"TENANT0001"},
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: passType}}},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: notBefore, NotAfter: notAfter}, c.wwdr, key.Public(), c.wwdrKey)
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func pemKey(t *testing.T, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// A tenant uploads its own certificate: its passes are signed with it and
// carry its pass type and team, the PassKit service answers for its pass
// type only, pushes name its pass type; bad uploads are refused with 422
// and change nothing; only the owner may; deleting returns to the service's.
func TestTenantAppleCertificate(t *testing.T) {
	w := newWalletEnv(t)
	now := w.Clock.Now()
	chain := newTestChain(t, now)
	const ptid = "pass.com.example.tenant"
	key := newKey(t)
	cert := chain.passCert(t, ptid, key, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	good := map[string]any{"passTypeIdentifier": ptid, "teamIdentifier": "TENANT0001",
		"certificate": pemCert(cert), "privateKey": pemKey(t, key), "wwdrCertificate": pemCert(chain.wwdr)}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	const path = "/v1/wallet/apple-certificate"
	wantCode(t, w.Do("GET", path, nil, nil), 404, "apple_certificate_not_found")

	// Refused uploads, each for its reason; nothing stored.
	other := newKey(t)
	expired := chain.passCert(t, ptid, key, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	future := chain.passCert(t, ptid, key, now.AddDate(0, 1, 0), now.AddDate(1, 0, 0))
	stranger := newTestChain(t, now)
	for name, body := range map[string]map[string]any{
		"key of another certificate": with("privateKey", pemKey(t, other)),
		"expired":                    with("certificate", pemCert(expired)),
		"not yet valid":              with("certificate", pemCert(future)),
		"not a certificate":          with("certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		"not a key":                  with("privateKey", "hello"),
		"another intermediate":       with("wwdrCertificate", pemCert(stranger.wwdr)),
		"no intermediate":            with("wwdrCertificate", nil), // the service's did not issue it
		"another pass type":          with("passTypeIdentifier", "pass.com.example.other"),
		"bad pass type id":           with("passTypeIdentifier", "com example"),
		"bad team id":                with("teamIdentifier", "team 1"),
	} {
		r := w.Do("PUT", path, body, nil)
		if c, _ := r.ProblemCode(); r.Status != 422 || (c != "invalid_certificate" && c != "validation_failed") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	wantCode(t, w.Do("GET", path, nil, nil), 404, "apple_certificate_not_found")

	// Only the owner.
	var staff struct {
		APIKey string `json:"apiKey"`
	}
	w.Do("POST", "/v1/staff", map[string]any{"name": "Admin", "role": "admin"}, nil).Want(201).Decode(&staff)
	wantCode(t, w.Do("PUT", path, good, map[string]string{"Authorization": "Bearer " + staff.APIKey}), 403, "forbidden")

	var info wallet.CertInfo
	w.Do("PUT", path, good, nil).Want(200).Decode(&info)
	if info.PassTypeID != ptid || info.TeamID != "TENANT0001" || !info.NotAfter.Equal(cert.NotAfter.UTC()) || len(info.Fingerprint) != 64 {
		t.Fatalf("uploaded: %+v", info)
	}
	w.Do("GET", path, nil, nil).Want(200).Decode(&info)
	if info.PassTypeID != ptid {
		t.Fatalf("read back: %+v", info)
	}
	// The key is stored sealed: the item carries no PEM key.
	item, err := w.Store.TenantCert(context.Background(), w.TenantID)
	if err != nil || item == nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(item); strings.Contains(string(raw), "PRIVATE KEY") || strings.Contains(string(raw), strings.Split(pemKey(t, key), "\n")[1]) {
		t.Fatal("the stored certificate item carries the key in the clear")
	}

	// The member's pass: the tenant's pass type and team, verified against
	// the tenant's root through its intermediate.
	m := w.Enroll("+79161234599")
	pass := wallet.CheckPass(t, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, chain.root)
	if pass["passTypeIdentifier"] != ptid || pass["teamIdentifier"] != "TENANT0001" {
		t.Fatalf("pass of %v / %v", pass["passTypeIdentifier"], pass["teamIdentifier"])
	}
	serial, token := pass["serialNumber"].(string), pass["authenticationToken"].(string)
	auth := map[string]string{"Authorization": "ApplePass " + token, "Content-Type": "application/json"}
	w.call(t, "POST", "/wallet/apple/v1/devices/dev9/registrations/"+w.keys.PassTypeID+"/"+serial, []byte(`{"pushToken":"tok9"}`), auth).want(t, 404, "the service's pass type")
	w.call(t, "POST", "/wallet/apple/v1/devices/dev9/registrations/"+ptid+"/"+serial, []byte(`{"pushToken":"tok9"}`), auth).want(t, 201, "register")
	w.call(t, "GET", "/wallet/apple/v1/devices/dev9/registrations/"+ptid, nil, nil).want(t, 200, "list")
	latest := w.call(t, "GET", "/wallet/apple/v1/passes/"+ptid+"/"+serial, nil, auth).want(t, 200, "latest pass")
	if p := wallet.CheckPass(t, latest.body, chain.root); p["passTypeIdentifier"] != ptid {
		t.Fatalf("latest pass of %v", p["passTypeIdentifier"])
	}
	// A change pushes with the tenant's pass type as the topic.
	w.Close("o-cert", m.ID, 100000).Want(200)
	if err := w.App.WalletSink().Consume(context.Background(), []feed.Event{{ID: "c1", Type: feed.PointsAccrued, TenantID: w.TenantID, MemberID: m.ID, Seq: 5}}); err != nil {
		t.Fatal(err)
	}
	if got := w.apnsMessages(); len(got) != 1 || got[0] != "tok9 "+ptid {
		t.Fatalf("pushes %v, want tok9 with the tenant's pass type", got)
	}

	// Deleted: back to the service's certificate.
	w.Do("DELETE", path, nil, nil).Want(204)
	wantCode(t, w.Do("GET", path, nil, nil), 404, "apple_certificate_not_found")
	back := wallet.CheckPass(t, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, w.keys.Root)
	if back["passTypeIdentifier"] != w.keys.PassTypeID {
		t.Fatalf("after delete: pass of %v", back["passTypeIdentifier"])
	}
}

// Validation on its own, without the service's intermediate.
func TestValidateUploadNeedsAnIntermediate(t *testing.T) {
	now := time.Now()
	chain := newTestChain(t, now)
	key := newKey(t)
	cert := chain.passCert(t, "pass.a.b", key, now.Add(-time.Hour), now.Add(time.Hour))
	up := wallet.CertUpload{PassTypeID: "pass.a.b", TeamID: "ABCDE12345", Certificate: pemCert(cert), PrivateKey: pemKey(t, key)}
	if _, _, _, err := wallet.ValidateUpload(up, nil, now); err == nil {
		t.Fatal("accepted without an intermediate")
	}
	up.WWDRCertificate = pemCert(chain.wwdr)
	if _, _, _, err := wallet.ValidateUpload(up, nil, now); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := wallet.ValidateUpload(up, nil, now.Add(2*time.Hour)); err == nil {
		t.Fatal("accepted once expired")
	}
}

func wantCode(t *testing.T, r *apitest.Response, status int, code string) {
	t.Helper()
	if c, _ := r.ProblemCode(); r.Status != status || c != code {
		t.Fatalf("status %d %q, want %d %s: %s", r.Status, c, status, code, r.Body)
	}
}
