package wallet

import (
	"archive/zip"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/loyalty/cashback/shared/loyalty"
)

// ContentType of a pass.
const ContentType = "application/vnd.apple.pkpass"

// images are the default logo and icon (1x and 2x) every tenant's pass
// carries until tenants can upload their own.
//
//go:embed images/*.png
var images embed.FS

// Card is what a pass shows of a member.
type Card struct {
	TenantName string
	CardNumber string
	Balance    loyalty.Points
	Tier       string
	// NextExpiry is the soonest date points expire on, and how many.
	NextExpiry       time.Time
	NextExpiryPoints loyalty.Points
}

// CardOf reads what a pass shows from a member's state at now.
func CardOf(tenantName string, st *loyalty.MemberState, now time.Time) Card {
	c := Card{TenantName: tenantName, CardNumber: st.Account.Card, Balance: st.Account.Available, Tier: st.Account.TierNow(now)}
	for _, l := range st.Lots {
		if l.Pending || l.Remaining <= 0 || !l.Expires() || !l.ExpiresAt.After(now) {
			continue
		}
		switch {
		case c.NextExpiry.IsZero() || l.ExpiresAt.Before(c.NextExpiry):
			c.NextExpiry, c.NextExpiryPoints = l.ExpiresAt, l.Remaining
		case l.ExpiresAt.Equal(c.NextExpiry):
			c.NextExpiryPoints += l.Remaining
		}
	}
	return c
}

// passJSON is Apple's pass.json, the parts a store card uses.
type passJSON struct {
	FormatVersion       int        `json:"formatVersion"`
	PassTypeIdentifier  string     `json:"passTypeIdentifier"`
	SerialNumber        string     `json:"serialNumber"`
	TeamIdentifier      string     `json:"teamIdentifier"`
	OrganizationName    string     `json:"organizationName"`
	Description         string     `json:"description"`
	LogoText            string     `json:"logoText,omitempty"`
	WebServiceURL       string     `json:"webServiceURL,omitempty"`
	AuthenticationToken string     `json:"authenticationToken,omitempty"`
	ForegroundColor     string     `json:"foregroundColor"`
	BackgroundColor     string     `json:"backgroundColor"`
	LabelColor          string     `json:"labelColor"`
	Barcodes            []barcode  `json:"barcodes"`
	StoreCard           passFields `json:"storeCard"`
	SharingProhibited   bool       `json:"sharingProhibited"`
	UserInfo            any        `json:"userInfo,omitempty"`
}

type barcode struct {
	Format          string `json:"format"`
	Message         string `json:"message"`
	MessageEncoding string `json:"messageEncoding"`
	AltText         string `json:"altText,omitempty"`
}

type passFields struct {
	HeaderFields    []field `json:"headerFields,omitempty"`
	PrimaryFields   []field `json:"primaryFields"`
	SecondaryFields []field `json:"secondaryFields,omitempty"`
	AuxiliaryFields []field `json:"auxiliaryFields,omitempty"`
	BackFields      []field `json:"backFields,omitempty"`
}

type field struct {
	Key           string `json:"key"`
	Label         string `json:"label,omitempty"`
	Value         string `json:"value"`
	ChangeMessage string `json:"changeMessage,omitempty"`
	DateStyle     string `json:"dateStyle,omitempty"`
}

// FormatPoints writes hundredths of a point as points: 1250 → "12.50".
func FormatPoints(p loyalty.Points) string {
	sign := ""
	if p < 0 {
		sign, p = "-", -p
	}
	return fmt.Sprintf("%s%d.%02d", sign, p/100, p%100)
}

// passFile builds pass.json.
func (k *Keys) passFile(c Card, serial, token, webServiceURL string) ([]byte, error) {
	name := c.TenantName
	if name == "" {
		name = "Loyalty card"
	}
	p := passJSON{
		FormatVersion: 1, PassTypeIdentifier: k.PassTypeID, SerialNumber: serial, TeamIdentifier: k.TeamID,
		OrganizationName: name, Description: name + " loyalty card", LogoText: name,
		WebServiceURL: webServiceURL, AuthenticationToken: token,
		ForegroundColor: "rgb(255,255,255)", BackgroundColor: "rgb(32,64,96)", LabelColor: "rgb(200,220,240)",
		Barcodes: []barcode{{Format: "PKBarcodeFormatQR", Message: c.CardNumber, MessageEncoding: "iso-8859-1", AltText: c.CardNumber}},
		StoreCard: passFields{
			HeaderFields:    []field{{Key: "tier", Label: "Tier", Value: orDash(c.Tier), ChangeMessage: "Your tier is now %@"}},
			PrimaryFields:   []field{{Key: "balance", Label: "Points", Value: FormatPoints(c.Balance), ChangeMessage: "Your balance is now %@"}},
			SecondaryFields: []field{{Key: "card", Label: "Card", Value: c.CardNumber}},
		},
		SharingProhibited: true,
	}
	if !c.NextExpiry.IsZero() {
		p.StoreCard.AuxiliaryFields = []field{
			{Key: "expiryDate", Label: "Expire on", Value: c.NextExpiry.UTC().Format(time.RFC3339), DateStyle: "PKDateStyleShort"},
			{Key: "expiryPoints", Label: "Expiring", Value: FormatPoints(c.NextExpiryPoints)},
		}
	}
	return json.MarshalIndent(p, "", "  ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Token is a pass's authentication token: derived from its nonce with the
// token key, so it is the same every time the pass is built while only its
// hash is stored. 43 characters of base64url.
func (k *Keys) Token(serial, nonce string) string {
	m := hmac.New(sha256.New, k.TokenKey)
	m.Write([]byte("applepass\x00" + serial + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// HashToken is what is stored of a token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// newNonce draws a pass's nonce.
func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// Build makes the .pkpass: pass.json and the images, manifest.json with the
// SHA-1 of each, and signature, a detached PKCS#7 over the manifest by the
// pass signer with the WWDR intermediate and a signingTime.
func (k *Keys) Build(c Card, serial, token, webServiceURL string) ([]byte, error) {
	if !k.Apple() {
		return nil, ErrNotConfigured
	}
	pass, err := k.passFile(c, serial, token, webServiceURL)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"pass.json": pass}
	err = fs.WalkDir(images, "images", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := images.ReadFile(path)
		files[strings.TrimPrefix(path, "images/")] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	manifest := map[string]string{}
	for name, b := range files {
		sum := sha1.Sum(b)
		manifest[name] = hex.EncodeToString(sum[:])
		names = append(names, name)
	}
	slices.Sort(names)
	mb, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	sig, err := k.sign(mb)
	if err != nil {
		return nil, fmt.Errorf("sign pass: %w", err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	modified := time.Now()
	add := func(name string, b []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	for _, name := range names {
		if err := add(name, files[name]); err != nil {
			return nil, err
		}
	}
	if err := add("manifest.json", mb); err != nil {
		return nil, err
	}
	if err := add("signature", sig); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sign makes the detached signature. SHA-1 digests as passkit-generator
// and Apple's own samples use; the signed attributes carry contentType,
// messageDigest and signingTime.
func (k *Keys) sign(manifest []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(manifest)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA1)
	if err := sd.AddSignerChain(k.Signer, k.SignerKey, []*x509.Certificate{k.WWDR}, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, err
	}
	sd.Detach()
	return sd.Finish()
}
