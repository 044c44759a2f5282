package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// Sealer encrypts and authenticates the state the pages hand to browsers
// (form state in hidden fields, session cookies) with AES-GCM under a key
// derived from the service's secret. A page keeps no server-side session:
// what the browser sends back is either what the server sealed, unaltered
// and unexpired, or refused. Each use has its own purpose, bound into the
// seal, so a form token never opens as a session.
type Sealer struct {
	aead cipher.AEAD
	mac  []byte
}

// NewSealer derives the page keys from secret (the OTP secret: one secret
// to provision, and a derived key never equals it).
func NewSealer(secret []byte) (*Sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("web: the secret must be at least 16 bytes")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("loyalty-web/" + label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, mac: derive("csrf")}, nil
}

type envelope struct {
	Purpose string          `json:"p"`
	Expires int64           `json:"e"`
	Data    json.RawMessage `json:"d"`
}

// Seal encrypts v for purpose, valid until exp.
func (s *Sealer) Seal(purpose string, exp time.Time, v any) (string, error) {
	d, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(envelope{Purpose: purpose, Expires: exp.Unix(), Data: d})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

var errBadSeal = errors.New("web: state missing, altered or expired")

// Open decrypts a sealed value of purpose into v, refusing it past expiry.
func (s *Sealer) Open(purpose, token string, now time.Time, v any) error {
	if token == "" || len(token) > 4096 {
		return errBadSeal
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return errBadSeal
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(purpose))
	if err != nil {
		return errBadSeal
	}
	var env envelope
	if json.Unmarshal(plain, &env) != nil || env.Purpose != purpose || now.Unix() > env.Expires {
		return errBadSeal
	}
	if json.Unmarshal(env.Data, v) != nil {
		return errBadSeal
	}
	return nil
}

// CSRF is the token of the forms of a signed-in session: a MAC of the
// session's id, so only a page the server rendered for that session has it.
func (s *Sealer) CSRF(sessionID string) string {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a form's token with the session's in constant time.
func (s *Sealer) CheckCSRF(sessionID, token string) bool {
	return sessionID != "" && hmac.Equal([]byte(s.CSRF(sessionID)), []byte(token))
}

// randomID is a fresh random identifier (session ids, idempotency keys).
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
