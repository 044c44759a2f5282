package wallet

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// ProtocolVersion of Google Wallet's pass callbacks.
const ProtocolVersion = "ECv2SigningOnly"

// DefaultSenderID is Google's sender id for pass callbacks (some of
// Google's pages say GoogleWalletPasses: it is configurable).
const DefaultSenderID = "GooglePayPasses"

// Errors of callback verification.
var (
	ErrMalformed    = errors.New("wallet: malformed callback")
	ErrBadSignature = errors.New("wallet: callback signature does not verify")
	ErrExpired      = errors.New("wallet: callback expired")
)

// CallbackVerifier checks Google's ECv2SigningOnly envelope: the
// intermediate key signed by one of Google's root keys and not expired,
// the message signed by the intermediate key and not expired. Tink's
// verifier for this format exists only in Java; this is the same check
// with crypto/ecdsa.
type CallbackVerifier struct {
	Roots    []RootKey
	IssuerID string // the recipient id
	SenderID string
	Now      func() time.Time
}

// RootKey is one of Google's root signing keys.
type RootKey struct {
	Key     *ecdsa.PublicKey
	Expires time.Time // zero: no expiration
}

// ParseRootKeys reads Google's key list:
// {"keys": [{"keyValue": <base64 SubjectPublicKeyInfo>, "protocolVersion", "keyExpiration"?}]}.
// Keys of other protocol versions are skipped.
func ParseRootKeys(b []byte) ([]RootKey, error) {
	var list struct {
		Keys []struct {
			KeyValue        string `json:"keyValue"`
			ProtocolVersion string `json:"protocolVersion"`
			KeyExpiration   string `json:"keyExpiration"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("google root keys: %w", err)
	}
	var out []RootKey
	for _, k := range list.Keys {
		if k.ProtocolVersion != ProtocolVersion {
			continue
		}
		pub, err := parseECKey(k.KeyValue)
		if err != nil {
			return nil, fmt.Errorf("google root keys: %w", err)
		}
		rk := RootKey{Key: pub}
		if k.KeyExpiration != "" {
			ms, err := strconv.ParseInt(k.KeyExpiration, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("google root keys: keyExpiration %q", k.KeyExpiration)
			}
			rk.Expires = time.UnixMilli(ms)
		}
		out = append(out, rk)
	}
	if len(out) == 0 {
		return nil, errors.New("google root keys: none for " + ProtocolVersion)
	}
	return out, nil
}

func parseECKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("key is not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("key is not an EC key")
	}
	return ec, nil
}

// CallbackMessage is the signed message of a callback.
type CallbackMessage struct {
	ClassID       string      `json:"classId"`
	ObjectID      string      `json:"objectId"`
	EventType     string      `json:"eventType"` // "save" or "del"
	ExpTimeMillis json.Number `json:"expTimeMillis"`
	Count         json.Number `json:"count"`
	Nonce         string      `json:"nonce"`
}

type envelope struct {
	Signature              string `json:"signature"`
	IntermediateSigningKey struct {
		SignedKey  string   `json:"signedKey"`
		Signatures []string `json:"signatures"`
	} `json:"intermediateSigningKey"`
	ProtocolVersion string `json:"protocolVersion"`
	SignedMessage   string `json:"signedMessage"`
}

// lengthPrefixed joins parts each preceded by its 4-byte little-endian length.
func lengthPrefixed(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

func verifySig(pub *ecdsa.PublicKey, data []byte, sigB64 string) bool {
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return false
	}
	h := sha256.Sum256(data)
	return ecdsa.VerifyASN1(pub, h[:], sig)
}

// Verify checks a callback body and returns its message.
func (v *CallbackVerifier) Verify(body []byte) (*CallbackMessage, time.Time, error) {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.ProtocolVersion != ProtocolVersion {
		return nil, time.Time{}, fmt.Errorf("%w: protocolVersion %q", ErrMalformed, env.ProtocolVersion)
	}
	if env.SignedMessage == "" || env.Signature == "" || env.IntermediateSigningKey.SignedKey == "" {
		return nil, time.Time{}, fmt.Errorf("%w: missing parts", ErrMalformed)
	}
	sender := v.SenderID
	if sender == "" {
		sender = DefaultSenderID
	}
	// 1. The intermediate key is signed by a live root key.
	signedKey := lengthPrefixed(sender, ProtocolVersion, env.IntermediateSigningKey.SignedKey)
	trusted := false
	for _, root := range v.Roots {
		if !root.Expires.IsZero() && !now.Before(root.Expires) {
			continue
		}
		for _, sig := range env.IntermediateSigningKey.Signatures {
			if verifySig(root.Key, signedKey, sig) {
				trusted = true
			}
		}
	}
	if !trusted {
		return nil, time.Time{}, fmt.Errorf("%w: intermediate key", ErrBadSignature)
	}
	// 2. The intermediate key has not expired.
	var ik struct {
		KeyValue      string `json:"keyValue"`
		KeyExpiration string `json:"keyExpiration"`
	}
	if err := json.Unmarshal([]byte(env.IntermediateSigningKey.SignedKey), &ik); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: signedKey", ErrMalformed)
	}
	exp, err := strconv.ParseInt(ik.KeyExpiration, 10, 64)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: keyExpiration", ErrMalformed)
	}
	if !now.Before(time.UnixMilli(exp)) {
		return nil, time.Time{}, fmt.Errorf("%w: intermediate key", ErrExpired)
	}
	key, err := parseECKey(ik.KeyValue)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: intermediate key: %v", ErrMalformed, err)
	}
	// 3. The message is signed by the intermediate key for us.
	if !verifySig(key, lengthPrefixed(sender, v.IssuerID, ProtocolVersion, env.SignedMessage), env.Signature) {
		return nil, time.Time{}, fmt.Errorf("%w: message", ErrBadSignature)
	}
	// 4. The message has not expired.
	var m CallbackMessage
	if err := json.Unmarshal([]byte(env.SignedMessage), &m); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: signedMessage", ErrMalformed)
	}
	mexp, err := m.ExpTimeMillis.Int64()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: expTimeMillis", ErrMalformed)
	}
	if !now.Before(time.UnixMilli(mexp)) {
		return nil, time.Time{}, fmt.Errorf("%w: message", ErrExpired)
	}
	if m.Nonce == "" || len(m.Nonce) > 200 || (m.EventType != "save" && m.EventType != "del") {
		return nil, time.Time{}, fmt.Errorf("%w: nonce or eventType", ErrMalformed)
	}
	return &m, now, nil
}

// ObjectID is the Google Wallet object id of a member's card.
func ObjectID(issuerID, tenantID, memberID string) string {
	return issuerID + "." + Serial(tenantID, memberID)
}

// parseObjectID reverses ObjectID for our issuer.
func parseObjectID(issuerID, id string) (tenantID, memberID string, ok bool) {
	rest, ok := strings.CutPrefix(id, issuerID+".")
	if !ok {
		return "", "", false
	}
	return ParseSerial(rest)
}

// MaxCallbackBody bounds Google's callbacks (they are about 1 KB).
const MaxCallbackBody = 16 << 10

// googleCallback: POST /wallet/google/callback. Verified, then recorded
// once per nonce; a redelivery answers 200 and changes nothing.
func (s *Service) googleCallback(w http.ResponseWriter, r *http.Request) {
	if s.Callbacks == nil || len(s.Callbacks.Roots) == 0 || s.Callbacks.IssuerID == "" {
		problem(w, http.StatusNotFound, "not_found", "Google Wallet callbacks are not configured")
		return
	}
	b, ok := readBody(w, r, MaxCallbackBody)
	if !ok {
		return
	}
	m, now, err := s.Callbacks.Verify(b)
	switch {
	case errors.Is(err, ErrMalformed):
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), "malformed callback")
		return
	case errors.Is(err, ErrExpired):
		problem(w, http.StatusUnauthorized, "callback_expired", "the callback or its signing key expired")
		return
	case err != nil:
		problem(w, http.StatusUnauthorized, "callback_signature_invalid", "the callback's signature does not verify")
		return
	}
	tenantID, memberID, ok := parseObjectID(s.Callbacks.IssuerID, m.ObjectID)
	if !ok {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), "unknown object")
		return
	}
	exp, _ := m.ExpTimeMillis.Int64()
	dup, err := s.Store.RecordGoogle(r.Context(), GoogleEvent{TenantID: tenantID, MemberID: memberID, Nonce: m.Nonce,
		Saved: m.EventType == "save", ExpMillis: exp, At: now})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"received": true, "duplicate": dup})
}
