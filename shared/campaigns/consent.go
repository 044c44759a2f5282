package campaigns

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Tokens sign unsubscribe links: the link names the tenant and member and
// carries an HMAC of both under a key derived for this purpose only, so it
// works without signing in and cannot be made for another member. A link
// does not expire: a message read months later must still unsubscribe.
type Tokens struct{ key []byte }

// NewTokens derives the unsubscribe key from the service's secret.
func NewTokens(secret []byte) (*Tokens, error) {
	if len(secret) < 16 {
		return nil, errors.New("campaigns: the unsubscribe key needs a secret of at least 16 bytes")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("loyalty unsubscribe v1"))
	return &Tokens{key: m.Sum(nil)}, nil
}

var b64 = base64.RawURLEncoding

func (t *Tokens) mac(tenantID, memberID string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(tenantID + "\x00" + memberID))
	return m.Sum(nil)[:18]
}

// Sign makes the token of a member's unsubscribe link.
func (t *Tokens) Sign(tenantID, memberID string) string {
	return b64.EncodeToString([]byte(tenantID)) + "." + b64.EncodeToString([]byte(memberID)) + "." + b64.EncodeToString(t.mac(tenantID, memberID))
}

// Open checks a token and answers whom it names.
func (t *Tokens) Open(token string) (tenantID, memberID string, err error) {
	bad := &loyalty.Error{Code: loyalty.CodeUnsubscribeTokenInvalid, Message: "this unsubscribe link is not valid"}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 400 {
		return "", "", bad
	}
	tb, err1 := b64.DecodeString(parts[0])
	mb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || !hmac.Equal(sig, t.mac(string(tb), string(mb))) {
		return "", "", bad
	}
	return string(tb), string(mb), nil
}

// Unsubscribe withdraws the marketing consent of the member a link names.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	if s.Tokens == nil {
		return errors.New("campaigns: no unsubscribe key wired")
	}
	tenantID, memberID, err := s.Tokens.Open(token)
	if err != nil {
		return err
	}
	err = s.SetConsent(ctx, tenantID, memberID, false)
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return &loyalty.Error{Code: loyalty.CodeUnsubscribeTokenInvalid, Message: "this unsubscribe link is not valid"}
	}
	return err
}

// Inbound SMS replies (the gateway's webhook). A reply whose first word is
// one of these withdraws consent.
var stopWords = map[string]bool{"STOP": true, "СТОП": true, "UNSUBSCRIBE": true, "ОТПИСАТЬСЯ": true, "STOPALL": true, "CANCEL": true, "END": true, "QUIT": true}

// IsStop reports whether an SMS reply asks to stop messages.
func IsStop(text string) bool {
	f := strings.Fields(strings.ToUpper(strings.TrimSpace(text)))
	return len(f) > 0 && stopWords[strings.Trim(f[0], ".!")]
}

// InboundSMS handles a reply from phone (E.164) to a tenant's messages: a
// STOP withdraws the consent of the tenant's member with that phone. It
// answers whether consent changed; a phone that is no member changes
// nothing and is no error (the gateway must not retry it).
func (s *Service) InboundSMS(ctx context.Context, tenantID, phone, text string) (bool, error) {
	if !IsStop(text) {
		return false, nil
	}
	id, err := s.Store.ResolveMember(ctx, tenantID, loyalty.MemberRef{Phone: phone})
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.SetConsent(ctx, tenantID, id, false); err != nil {
		if errors.Is(err, loyalty.ErrMemberNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// InboundSignature is the hex HMAC-SHA256 over the raw body the gateway
// sends in X-Signature, keyed by the inbound secret.
func InboundSignature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hexString(m.Sum(nil))
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, len(b)*2)
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// CheckInbound verifies a gateway signature in constant time.
func CheckInbound(secret, body []byte, sig string) bool {
	return len(secret) > 0 && hmac.Equal([]byte(strings.ToLower(sig)), []byte(InboundSignature(secret, body)))
}
