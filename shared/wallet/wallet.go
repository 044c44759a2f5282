// Package wallet puts a member's loyalty card into the phone's wallet and
// keeps it current: Apple Wallet passes (the .pkpass file, the PassKit web
// service the devices call, APNs pushes when the balance changes) and Google
// Wallet (the "Save to Google Wallet" link and Google's signed save/delete
// callbacks). It reads members through small interfaces and keeps its own
// state (passes, device registrations, Google saves) through Store, so it
// imports no AWS package; pushes go through Pusher, faked locally.
package wallet

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// ApplePass is the record of a member's Apple pass, created with its first
// download. Serial and the token (kept only as a hash) never change for the
// life of the pass; Tag moves forward whenever the card's content changes.
type ApplePass struct {
	TenantID  string `json:"tenantId"`
	MemberID  string `json:"memberId"`
	Serial    string `json:"serial"`
	TokenHash string `json:"tokenHash"` // hex SHA-256 of the authentication token
	// Nonce is drawn once at creation; the token is derived from it with
	// the token key, so a rebuilt pass carries the same token.
	Nonce string `json:"nonce"`
	// Tag is the update tag in Unix seconds, strictly increasing per pass:
	// Apple's lastUpdated (as a string) and the pass's Last-Modified.
	Tag       int64     `json:"tag"`
	LastSeq   int64     `json:"lastSeq,omitempty"` // highest ledger seq already reflected in Tag
	CreatedAt time.Time `json:"createdAt"`
}

// Registration is one device's registration of a pass for updates.
type Registration struct {
	DeviceID   string    `json:"deviceId"`
	PassTypeID string    `json:"passTypeId"`
	Serial     string    `json:"serial"`
	TenantID   string    `json:"tenantId"`
	MemberID   string    `json:"memberId"`
	PushToken  string    `json:"pushToken"`
	CreatedAt  time.Time `json:"createdAt"`
}

// GoogleState is what Google's callbacks said last about a member's object.
type GoogleState struct {
	Saved bool `json:"saved"`
	// ExpMillis of the message that set Saved: callbacks arrive out of
	// order, and a later message always expires later.
	ExpMillis int64     `json:"expMillis"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Updates counts the object updates sent (the condition of the next);
	// NotifiedAt are the Unix times of the notifying ones in the last day
	// (Google allows 3 per pass per 24 h); LastSeq as in ApplePass.
	Updates    int64   `json:"updates,omitempty"`
	NotifiedAt []int64 `json:"notifiedAt,omitempty"`
	LastSeq    int64   `json:"lastSeq,omitempty"`
}

// State is a member's wallets as one query reads them.
type State struct {
	Apple   *ApplePass
	Devices []Registration
	Google  *GoogleState
}

// GoogleEvent is one verified callback.
type GoogleEvent struct {
	TenantID  string
	MemberID  string
	Nonce     string
	Saved     bool // eventType "save"; false for "del"
	ExpMillis int64
	At        time.Time
}

// Store keeps the wallet state (shared/store implements it on the table).
type Store interface {
	// WalletState reads a member's pass, registrations and Google state.
	WalletState(ctx context.Context, tenantID, memberID string) (State, error)
	// CreateApplePass stores p unless the member has a pass already, and
	// returns the member's pass either way.
	CreateApplePass(ctx context.Context, p ApplePass) (ApplePass, error)
	// TouchApplePass moves the pass's tag from prevTag to tag and its seq
	// to seq; false when the pass changed meanwhile (the caller rereads).
	TouchApplePass(ctx context.Context, tenantID, memberID string, prevTag, tag, seq int64) (bool, error)
	// Register stores a registration; created is false when the device had
	// registered the pass already (its push token is updated).
	Register(ctx context.Context, r Registration) (created bool, err error)
	// Unregister removes a registration (no error when there is none).
	Unregister(ctx context.Context, r Registration) error
	// DeviceRegistrations lists a device's registrations for a pass type.
	DeviceRegistrations(ctx context.Context, deviceID, passTypeID string) ([]Registration, error)
	// RecordGoogle records a callback once per nonce; duplicate is true for
	// a nonce seen before (nothing changes), and a message older than the
	// recorded state changes nothing either.
	RecordGoogle(ctx context.Context, e GoogleEvent) (duplicate bool, err error)
	// RecordGoogleUpdate notes an object update sent: the update count
	// moves from prev to prev+1 (false when it moved meanwhile).
	RecordGoogleUpdate(ctx context.Context, tenantID, memberID string, prev int64, notifiedAt []int64, seq int64) (bool, error)
	// TenantCert reads a tenant's own pass certificate (nil: none).
	TenantCert(ctx context.Context, tenantID string) (*TenantCert, error)
	// PutTenantCert stores (or replaces) a tenant's pass certificate.
	PutTenantCert(ctx context.Context, c TenantCert) error
	// DeleteTenantCert removes it (no error when there is none).
	DeleteTenantCert(ctx context.Context, tenantID string) error
}

// Members reads what a card shows.
type Members interface {
	LoadMember(ctx context.Context, tenantID, memberID string) (*loyalty.MemberState, error)
	GetTenant(ctx context.Context, tenantID string) (*loyalty.Tenant, error)
}

// Serial is a pass's serial number: the member and tenant ids, like a
// challenge id, so a device's request names its member without a lookup.
// It is not a secret: every request about a pass carries its token.
func Serial(tenantID, memberID string) string { return memberID + "." + tenantID }

// ParseSerial splits a serial into tenant and member ids.
func ParseSerial(serial string) (tenantID, memberID string, ok bool) {
	m, t, found := strings.Cut(serial, ".")
	if !found || !validID(m, "m_") || !validID(t, "t_") {
		return "", "", false
	}
	return t, m, true
}

// validID checks an id drawn by loyalty.NewID with prefix.
func validID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) == 0 || len(rest) > 64 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Errors of the service; the HTTP edges map them to statuses.
var (
	ErrNotConfigured = errors.New("wallet: not configured")
	ErrUnknownPass   = errors.New("wallet: no such pass")
)
