package wallet

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Secret is the JSON the wallet keys are kept in: a Secrets Manager secret
// in the cloud (LOYALTY_WALLET_SECRET_ARN), a file in the data dir locally.
type Secret struct {
	PassTypeID string `json:"passTypeIdentifier"`
	TeamID     string `json:"teamIdentifier"`
	// Signer is the Pass Type ID certificate and its key (PEM); it is also
	// the APNs client certificate.
	SignerCert string `json:"signerCertificate"`
	SignerKey  string `json:"signerKey"`
	WWDRCert   string `json:"wwdrCertificate"`
	// RootCert is set only for the throwaway local chain (tests verify
	// signatures against it); Apple's root is on the devices.
	RootCert string `json:"rootCertificate,omitempty"`
	// TokenKey (base64, ≥ 32 bytes) derives each pass's authentication token.
	TokenKey string       `json:"tokenKey"`
	Google   GoogleSecret `json:"google"`
}

// GoogleSecret is the service account that signs save links.
type GoogleSecret struct {
	IssuerID            string `json:"issuerId"`
	ServiceAccountEmail string `json:"serviceAccountEmail"`
	PrivateKey          string `json:"privateKey"` // PEM, PKCS#8 or PKCS#1 RSA
}

// Keys are the parsed Secret.
type Keys struct {
	PassTypeID string
	TeamID     string
	Signer     *x509.Certificate
	SignerKey  crypto.Signer
	WWDR       *x509.Certificate
	Root       *x509.Certificate // local chain only
	TokenKey   []byte

	GoogleIssuerID string
	GoogleEmail    string
	GoogleKey      *rsa.PrivateKey

	// own: a tenant's own Apple identity over the service's keys (KeysFor).
	own bool
}

// Own reports whether these are a tenant's own Apple keys.
func (k *Keys) Own() bool { return k != nil && k.own }

// ParseSecret parses the secret's JSON. Apple and Google parts are each
// optional: a part left out disables its wallet.
func ParseSecret(b []byte) (*Keys, error) {
	var s Secret
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("wallet secret: %w", err)
	}
	k := &Keys{PassTypeID: s.PassTypeID, TeamID: s.TeamID, GoogleIssuerID: s.Google.IssuerID, GoogleEmail: s.Google.ServiceAccountEmail}
	var err error
	if s.SignerCert != "" {
		if k.Signer, err = parseCert(s.SignerCert); err != nil {
			return nil, fmt.Errorf("wallet secret: signer: %w", err)
		}
		if k.WWDR, err = parseCert(s.WWDRCert); err != nil {
			return nil, fmt.Errorf("wallet secret: WWDR: %w", err)
		}
		key, err := parseKey(s.SignerKey)
		if err != nil {
			return nil, fmt.Errorf("wallet secret: signer key: %w", err)
		}
		if k.SignerKey, err = asSigner(key); err != nil {
			return nil, err
		}
		if k.TokenKey, err = base64.StdEncoding.DecodeString(s.TokenKey); err != nil || len(k.TokenKey) < 32 {
			return nil, errors.New("wallet secret: tokenKey must be base64 of at least 32 bytes")
		}
		if k.PassTypeID == "" || k.TeamID == "" {
			return nil, errors.New("wallet secret: passTypeIdentifier and teamIdentifier are required")
		}
	}
	if s.RootCert != "" {
		if k.Root, err = parseCert(s.RootCert); err != nil {
			return nil, fmt.Errorf("wallet secret: root: %w", err)
		}
	}
	if s.Google.PrivateKey != "" {
		key, err := parseKey(s.Google.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("wallet secret: google key: %w", err)
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("wallet secret: the Google service-account key must be RSA")
		}
		k.GoogleKey = rk
	}
	return k, nil
}

// Apple reports whether Apple passes can be signed.
func (k *Keys) Apple() bool { return k != nil && k.Signer != nil }

// Google reports whether save links can be signed.
func (k *Keys) Google() bool { return k != nil && k.GoogleKey != nil && k.GoogleIssuerID != "" }

func parseCert(p string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(p string) (any, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("no PEM key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

func asSigner(k any) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("wallet secret: key of type %T cannot sign", k)
	}
	return s, nil
}

// LocalSecretFile is where LocalKeys keeps the throwaway keys in a data dir.
const LocalSecretFile = "wallet-keys.json"

// LocalKeys reads the throwaway keys of a data dir, generating them on the
// first call: a CA, a WWDR-like intermediate and a pass signer (passes
// signed so never install on a real device), a token key and an RSA
// "service account" key. Kept in the data dir so passes and tokens survive
// a restart of make run.
func LocalKeys(dir string) (*Keys, error) {
	path := filepath.Join(dir, LocalSecretFile)
	if b, err := os.ReadFile(path); err == nil {
		return ParseSecret(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s, err := NewLocalSecret(time.Now())
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Written aside and renamed, so two processes starting at once agree.
	tmp, err := os.CreateTemp(dir, LocalSecretFile+".*")
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		os.Remove(tmp.Name())
		return nil, err
	}
	os.Remove(tmp.Name())
	b, err = os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSecret(b)
}

// NewLocalSecret generates a throwaway chain and keys.
func NewLocalSecret(now time.Time) (*Secret, error) {
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	rootKey, err := newKey()
	if err != nil {
		return nil, err
	}
	root, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "Local Test Root CA", Organization: []string{"loyalty local"}},
		IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true}, nil, rootKey, rootKey, now)
	if err != nil {
		return nil, err
	}
	wwdrKey, err := newKey()
	if err != nil {
		return nil, err
	}
	wwdr, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "Local Worldwide Developer Relations (test)", OrganizationalUnit: []string{"G4"}},
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, root, wwdrKey, rootKey, now)
	if err != nil {
		return nil, err
	}
	signerKey, err := newKey()
	if err != nil {
		return nil, err
	}
	const passType = "pass.local.loyalty"
	signer, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "Pass Type ID: " + passType, OrganizationalUnit: []string{"LOCALTEAM1"}},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageAny}}, wwdr, signerKey, wwdrKey, now)
	if err != nil {
		return nil, err
	}
	googleKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tokenKey := make([]byte, 32)
	if _, err := rand.Read(tokenKey); err != nil {
		return nil, err
	}
	return &Secret{
		PassTypeID: passType, TeamID: "LOCALTEAM1",
		SignerCert: certPEM(signer), SignerKey: keyPEM(signerKey), WWDRCert: certPEM(wwdr), RootCert: certPEM(root),
		TokenKey: base64.StdEncoding.EncodeToString(tokenKey),
		Google:   GoogleSecret{IssuerID: "3388000000000000000", ServiceAccountEmail: "wallet@local.invalid", PrivateKey: keyPEM(googleKey)},
	}, nil
}

func issue(tmpl, parent *x509.Certificate, pub, parentKey crypto.Signer, now time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.AddDate(10, 0, 0)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub.Public(), parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func keyPEM(k any) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // only keys generated above reach here
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
