// Package otp makes one-time codes with crypto/rand and keeps only keyed
// hashes of them (HMAC-SHA256 over the challenge id and the code), compared in
// constant time, so a leaked table does not leak live codes.
package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
)

// Codes implements loyalty.Codes with a secret key.
type Codes struct {
	key []byte
}

// New returns Codes keyed with secret (at least 16 bytes).
func New(secret []byte) (*Codes, error) {
	if len(secret) < 16 {
		return nil, errors.New("otp: secret must be at least 16 bytes")
	}
	return &Codes{key: append([]byte(nil), secret...)}, nil
}

// New draws a numeric code of the given length, uniformly.
func (c *Codes) New(length int) (string, error) {
	if length < 4 || length > 10 {
		return "", errors.New("otp: code length must be between 4 and 10")
	}
	b := make([]byte, length)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", err
		}
		b[i] = byte('0' + n.Int64())
	}
	return string(b), nil
}

// Hash is the stored form of a code.
func (c *Codes) Hash(challengeID, code string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// Match compares a code with a stored hash in constant time.
func (c *Codes) Match(hash, challengeID, code string) bool {
	want, err := hex.DecodeString(hash)
	if err != nil {
		return false
	}
	got, _ := hex.DecodeString(c.Hash(challengeID, code))
	return hmac.Equal(want, got)
}
