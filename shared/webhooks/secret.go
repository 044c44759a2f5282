package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// secretBytes is the length of a new signing secret's key (the spec allows
// 24 to 64 bytes).
const secretBytes = 32

// NewSecret draws a signing secret: whsec_ + base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey is the HMAC key of a secret: its base64 part, decoded.
func secretKey(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("webhook secret is not base64: %w", err)
	}
	if len(b) < 24 || len(b) > 64 {
		return nil, errors.New("webhook secret must decode to 24-64 bytes")
	}
	return b, nil
}

// Sealer encrypts what must be kept but never stored in the clear: signing
// secrets and the stored answers that show them (AES-256-GCM). The
// associated data binds a ciphertext to its owner (tenant and endpoint), so
// a sealed secret copied onto another endpoint does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the AES-256 key from the configured key material (at
// least 16 bytes: a Secrets Manager generated string or local random hex).
func NewSealer(material []byte) (*Sealer, error) {
	if len(material) < 16 {
		return nil, errors.New("webhooks: the secret-sealing key must be at least 16 bytes")
	}
	sum := sha256.Sum256(append([]byte("loyalty webhook secrets v1\x00"), material...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain for owner: nonce ‖ ciphertext.
func (s *Sealer) Seal(plain []byte, owner string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(owner)), nil
}

// Open decrypts what Seal made for owner.
func (s *Sealer) Open(sealed []byte, owner string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("webhooks: sealed value too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(owner))
	if err != nil {
		return nil, errors.New("webhooks: sealed value does not open with this key")
	}
	return plain, nil
}
