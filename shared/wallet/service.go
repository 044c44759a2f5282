package wallet

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Service builds passes and save links and answers the wallets' calls.
type Service struct {
	Keys    *Keys // nil: no wallet is configured
	Store   Store
	Members Members
	Pusher  Pusher // APNs; nil sends nothing
	// Google updates saved Google Wallet objects; nil updates nothing.
	Google GoogleObjects
	// Google callback verification (nil Roots: callbacks are refused).
	Callbacks *CallbackVerifier
	Logger    *slog.Logger
	Now       func() time.Time
	// TenantPusher makes the APNs client of a tenant's own certificate
	// (APNs authenticates the pass type's certificate); nil pushes every
	// tenant's passes through Pusher (the local outbox).
	TenantPusher func(k *Keys) Pusher
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// AppleConfigured tells whether ApplePass can build passes: the pages show
// their "Add to Apple Wallet" button only then, without building a pass on
// every view.
func (s *Service) AppleConfigured() bool { return s != nil && s.Keys.Apple() }

// WebServiceURL is the PassKit web service's address under a base URL.
func WebServiceURL(baseURL string) string { return baseURL + "/wallet/apple" }

// ApplePass builds the member's current .pkpass, creating the pass record
// (serial, token) with its first download. baseURL is the service's public
// address (webServiceURL = baseURL/wallet/apple). The web pages call this to
// serve the "Add to Apple Wallet" button; the API serves it to staff.
func (s *Service) ApplePass(ctx context.Context, baseURL, tenantID, memberID string) ([]byte, *ApplePass, error) {
	if !s.Keys.Apple() {
		return nil, nil, ErrNotConfigured
	}
	st, err := s.Members.LoadMember(ctx, tenantID, memberID)
	if err != nil {
		return nil, nil, err
	}
	ws, err := s.Store.WalletState(ctx, tenantID, memberID)
	if err != nil {
		return nil, nil, err
	}
	p := ws.Apple
	if p == nil {
		serial, nonce := Serial(tenantID, memberID), newNonce()
		created, err := s.Store.CreateApplePass(ctx, ApplePass{
			TenantID: tenantID, MemberID: memberID, Serial: serial, Nonce: nonce,
			TokenHash: HashToken(s.Keys.Token(serial, nonce)), Tag: s.now().Unix(), LastSeq: st.Account.Seq, CreatedAt: s.now(),
		})
		if err != nil {
			return nil, nil, err
		}
		p = &created
	}
	return s.build(ctx, baseURL, p)
}

// build makes the pkpass of a pass record from the member's current state.
func (s *Service) build(ctx context.Context, baseURL string, p *ApplePass) ([]byte, *ApplePass, error) {
	st, err := s.Members.LoadMember(ctx, p.TenantID, p.MemberID)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Members.GetTenant(ctx, p.TenantID)
	if err != nil {
		return nil, nil, err
	}
	k, err := s.KeysFor(ctx, p.TenantID)
	if err != nil {
		return nil, nil, err
	}
	b, err := k.Build(CardOf(t.Name, st, s.now()), p.Serial, k.Token(p.Serial, p.Nonce), WebServiceURL(baseURL))
	if err != nil {
		return nil, nil, fmt.Errorf("build pass: %w", err)
	}
	return b, p, nil
}

// Wallets is what GET /v1/members/{id} shows of a member's wallets.
type Wallets struct {
	Apple  AppleWallet  `json:"apple"`
	Google GoogleWallet `json:"google"`
}

// AppleWallet counts the devices the pass is registered on.
type AppleWallet struct {
	Devices int `json:"devices" minimum:"0" doc:"Devices registered for updates of the member's Apple pass"`
}

// GoogleWallet says whether the card is saved in Google Wallet.
type GoogleWallet struct {
	Saved bool `json:"saved" doc:"Google's last callback said the card was saved (not deleted)"`
}

// WalletsOf reads a member's wallets.
func (s *Service) WalletsOf(ctx context.Context, tenantID, memberID string) (Wallets, error) {
	return States{s.Store}.WalletsOf(ctx, tenantID, memberID)
}

// StateReader reads a member's wallet state (the store).
type StateReader interface {
	WalletState(ctx context.Context, tenantID, memberID string) (State, error)
}

// States reads members' wallets from the store alone, without the keys or
// the pass builder: what the members function shows in GET
// /v1/members/{id}, linking nothing else of the wallets.
type States struct{ Store StateReader }

// WalletsOf reads a member's wallets.
func (s States) WalletsOf(ctx context.Context, tenantID, memberID string) (Wallets, error) {
	st, err := s.Store.WalletState(ctx, tenantID, memberID)
	if err != nil {
		return Wallets{}, err
	}
	w := Wallets{Apple: AppleWallet{Devices: len(st.Devices)}}
	if st.Google != nil {
		w.Google.Saved = st.Google.Saved
	}
	return w, nil
}
