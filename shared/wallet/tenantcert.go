package wallet

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// A tenant may sign its passes with its own Pass Type ID certificate
// instead of the service's: its passes then carry its pass type id and
// team id, the PassKit web service answers for that pass type, and APNs
// pushes authenticate with its certificate. The certificate is stored in
// the table with its key sealed (AES-256-GCM, the tenant id as associated
// data, like webhook signing secrets) under a key derived from the wallet
// secret's token key: every function that builds passes holds that secret
// already, so no new secret or permission is needed, and a copy of the
// table alone does not reveal a tenant's key.

// TenantCert is a tenant's certificate as stored.
type TenantCert struct {
	TenantID   string    `json:"tenantId"`
	PassTypeID string    `json:"passTypeIdentifier"`
	TeamID     string    `json:"teamIdentifier"`
	CertPEM    string    `json:"certificate"`
	WWDRPEM    string    `json:"wwdrCertificate,omitempty"` // "": the service's intermediate
	SealedKey  []byte    `json:"sealedKey"`
	NotAfter   time.Time `json:"notAfter"`
	UploadedAt time.Time `json:"uploadedAt"`
}

// CertUpload is what an owner sends: PEM certificate and key.
type CertUpload struct {
	PassTypeID string
	TeamID     string
	// Certificate and PrivateKey in PEM (key: PKCS#8, PKCS#1 or SEC 1).
	Certificate string
	PrivateKey  string
	// WWDRCertificate is the intermediate that issued the certificate;
	// empty: the service's (Apple's WWDR, the same for every team).
	WWDRCertificate string
}

// CertInfo is what the API shows of a tenant's certificate (never the key).
type CertInfo struct {
	PassTypeID  string    `json:"passTypeIdentifier"`
	TeamID      string    `json:"teamIdentifier"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	NotAfter    time.Time `json:"notAfter"`
	Fingerprint string    `json:"sha256Fingerprint" doc:"SHA-256 of the certificate (DER), hex"`
	UploadedAt  time.Time `json:"uploadedAt"`
}

// CertError is an upload refused, saying why (a 422 problem).
type CertError struct{ Reason string }

func (e *CertError) Error() string { return "pass certificate refused: " + e.Reason }

// ErrNoTenantCert: the tenant uses the service's certificate.
var ErrNoTenantCert = errors.New("the tenant has no pass certificate of its own")

// maxPEM bounds each PEM field of an upload (a certificate is ~2 KB).
const maxPEM = 16 << 10

var (
	passTypeRe = regexp.MustCompile(`^pass\.[A-Za-z0-9][A-Za-z0-9.-]{0,120}$`)
	teamRe     = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	// oidUID is the subject attribute Apple puts the pass type id in.
	oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
)

// ValidateUpload checks an upload against the service's WWDR intermediate
// (used when the upload names none) at now: ids well formed, certificate
// and key parse, the key is the certificate's, the certificate is valid
// now, was issued by the intermediate and names the pass type id.
func ValidateUpload(up CertUpload, serviceWWDR *x509.Certificate, now time.Time) (*x509.Certificate, crypto.Signer, *x509.Certificate, error) {
	refuse := func(format string, args ...any) (*x509.Certificate, crypto.Signer, *x509.Certificate, error) {
		return nil, nil, nil, &CertError{Reason: fmt.Sprintf(format, args...)}
	}
	if !passTypeRe.MatchString(up.PassTypeID) {
		return refuse("passTypeIdentifier must look like pass.com.example.loyalty")
	}
	if !teamRe.MatchString(up.TeamID) {
		return refuse("teamIdentifier must be the 10 letters and digits of an Apple team id")
	}
	if len(up.Certificate) > maxPEM || len(up.PrivateKey) > maxPEM || len(up.WWDRCertificate) > maxPEM {
		return refuse("a PEM field is larger than %d bytes", maxPEM)
	}
	cert, err := parseCert(up.Certificate)
	if err != nil {
		return refuse("certificate: not a PEM X.509 certificate")
	}
	raw, err := parseKey(up.PrivateKey)
	if err != nil {
		return refuse("privateKey: not a PEM private key (PKCS#8, PKCS#1 or SEC 1, unencrypted)")
	}
	key, ok := raw.(crypto.Signer)
	if !ok {
		return refuse("privateKey: this key type cannot sign")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return refuse("privateKey is not the key of the certificate")
	}
	if now.Before(cert.NotBefore) {
		return refuse("the certificate is not valid before %s", cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Before(cert.NotAfter) {
		return refuse("the certificate expired on %s", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	wwdr := serviceWWDR
	if up.WWDRCertificate != "" {
		if wwdr, err = parseCert(up.WWDRCertificate); err != nil {
			return refuse("wwdrCertificate: not a PEM X.509 certificate")
		}
	}
	if wwdr == nil {
		return refuse("send wwdrCertificate: the service has no WWDR intermediate of its own")
	}
	if cert.CheckSignatureFrom(wwdr) != nil {
		return refuse("the certificate was not issued by the WWDR intermediate (send the one that issued it as wwdrCertificate)")
	}
	for _, a := range cert.Subject.Names {
		if a.Type.Equal(oidUID) {
			if uid, _ := a.Value.(string); uid != "" && uid != up.PassTypeID {
				return refuse("the certificate is for pass type %s, not %s", uid, up.PassTypeID)
			}
		}
	}
	return cert, key, wwdr, nil
}

// certSealer seals tenants' keys under a key derived from the token key.
func (k *Keys) certSealer() (cipher.AEAD, error) {
	if k == nil || len(k.TokenKey) < 32 {
		return nil, ErrNotConfigured
	}
	sum := sha256.Sum256(append([]byte("loyalty tenant pass keys v1\x00"), k.TokenKey...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (k *Keys) sealKey(tenantID string, pemKey []byte) ([]byte, error) {
	aead, err := k.certSealer()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, pemKey, []byte(tenantID)), nil
}

func (k *Keys) openKey(tenantID string, sealed []byte) ([]byte, error) {
	aead, err := k.certSealer()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed pass key too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(tenantID))
}

// infoOf describes a stored certificate.
func infoOf(c TenantCert) (CertInfo, error) {
	cert, err := parseCert(c.CertPEM)
	if err != nil {
		return CertInfo{}, err
	}
	sum := sha256.Sum256(cert.Raw)
	return CertInfo{PassTypeID: c.PassTypeID, TeamID: c.TeamID, Subject: cert.Subject.String(), Issuer: cert.Issuer.String(),
		NotAfter: cert.NotAfter.UTC(), Fingerprint: hex.EncodeToString(sum[:]), UploadedAt: c.UploadedAt}, nil
}

// SetAppleCertificate validates and stores a tenant's own certificate
// (replacing any earlier one). Passes built from then on are signed with
// it; passes already installed under another pass type id no longer
// update (their holders add the card again).
func (s *Service) SetAppleCertificate(ctx context.Context, tenantID string, up CertUpload) (CertInfo, error) {
	if !s.Keys.Apple() {
		return CertInfo{}, ErrNotConfigured
	}
	cert, key, wwdr, err := ValidateUpload(up, s.Keys.WWDR, s.now())
	if err != nil {
		return CertInfo{}, err
	}
	sealed, err := s.Keys.sealKey(tenantID, []byte(keyPEM(key)))
	if err != nil {
		return CertInfo{}, err
	}
	c := TenantCert{TenantID: tenantID, PassTypeID: up.PassTypeID, TeamID: up.TeamID, CertPEM: certPEM(cert),
		SealedKey: sealed, NotAfter: cert.NotAfter.UTC(), UploadedAt: s.now().UTC()}
	if up.WWDRCertificate != "" {
		c.WWDRPEM = certPEM(wwdr)
	}
	if err := s.Store.PutTenantCert(ctx, c); err != nil {
		return CertInfo{}, err
	}
	s.forget(tenantID)
	return infoOf(c)
}

// AppleCertificate describes the tenant's own certificate; ErrNoTenantCert
// when it uses the service's.
func (s *Service) AppleCertificate(ctx context.Context, tenantID string) (CertInfo, error) {
	c, err := s.Store.TenantCert(ctx, tenantID)
	if err != nil {
		return CertInfo{}, err
	}
	if c == nil {
		return CertInfo{}, ErrNoTenantCert
	}
	return infoOf(*c)
}

// DeleteAppleCertificate returns the tenant to the service's certificate.
func (s *Service) DeleteAppleCertificate(ctx context.Context, tenantID string) error {
	if err := s.Store.DeleteTenantCert(ctx, tenantID); err != nil {
		return err
	}
	s.forget(tenantID)
	return nil
}

// tenantKeysTTL is how long a function keeps a tenant's parsed keys: a
// replaced certificate reaches every function within it.
const tenantKeysTTL = time.Minute

type cachedKeys struct {
	keys *Keys // nil: the tenant uses the service's
	at   time.Time
}

// cacheKey names a tenant of a service configuration (its keys): copies
// of a Service share their cache, services of other keys do not.
type cacheKey struct {
	service *Keys
	tenant  string
}

// tenantCache holds each tenant's parsed keys in this process, and
// tenantPushers the APNs clients of tenants' certificates (by service keys
// and certificate fingerprint). Package-level so that a Service stays a
// plain value the tests may copy.
var tenantCache, tenantPushers sync.Map

func (s *Service) forget(tenantID string) { tenantCache.Delete(cacheKey{s.Keys, tenantID}) }

// KeysFor are the keys a tenant's passes are signed and pushed with: the
// tenant's own certificate when it uploaded one, else the service's. The
// token key (pass tokens) and Google's keys are always the service's.
func (s *Service) KeysFor(ctx context.Context, tenantID string) (*Keys, error) {
	if !s.Keys.Apple() {
		return s.Keys, nil
	}
	now := s.now()
	ck := cacheKey{s.Keys, tenantID}
	if v, ok := tenantCache.Load(ck); ok && now.Sub(v.(cachedKeys).at) < tenantKeysTTL && !now.Before(v.(cachedKeys).at) {
		c := v.(cachedKeys)
		if c.keys == nil {
			return s.Keys, nil
		}
		return c.keys, nil
	}
	tc, err := s.Store.TenantCert(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var own *Keys
	if tc != nil {
		if own, err = s.ownKeys(*tc); err != nil {
			return nil, fmt.Errorf("tenant pass certificate: %w", err)
		}
	}
	tenantCache.Store(ck, cachedKeys{keys: own, at: now})
	if own == nil {
		return s.Keys, nil
	}
	return own, nil
}

// ownKeys are the service's keys with the tenant's Apple identity.
func (s *Service) ownKeys(tc TenantCert) (*Keys, error) {
	cert, err := parseCert(tc.CertPEM)
	if err != nil {
		return nil, err
	}
	pemKey, err := s.Keys.openKey(tc.TenantID, tc.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("open the sealed key: %w", err)
	}
	raw, err := parseKey(string(pemKey))
	if err != nil {
		return nil, err
	}
	key, err := asSigner(raw)
	if err != nil {
		return nil, err
	}
	k := *s.Keys
	k.PassTypeID, k.TeamID, k.Signer, k.SignerKey = tc.PassTypeID, tc.TeamID, cert, key
	if tc.WWDRPEM != "" {
		if k.WWDR, err = parseCert(tc.WWDRPEM); err != nil {
			return nil, err
		}
	}
	k.own = true
	return &k, nil
}
