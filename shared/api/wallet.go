package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/wallet"
)

// codeWalletNotConfigured: the service has no keys for that wallet.
const codeWalletNotConfigured loyalty.Code = "wallet_not_configured"

// walletProblem maps the wallet's errors to problems.
func (s *server) walletProblem(ctx context.Context, err error) error {
	if errors.Is(err, wallet.ErrNotConfigured) {
		return newProblem(codeWalletNotConfigured, "this wallet is not configured for the service")
	}
	return s.problem(ctx, err)
}

// PassOutput is a .pkpass file.
type PassOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	LastModified       string `header:"Last-Modified"`
	Body               []byte
}

func (s *server) registerApplePass(r routes.Route) {
	o := op(r, "Download the member's Apple Wallet pass (.pkpass)", "wallets")
	o.Description = "A signed pass (application/vnd.apple.pkpass) with the member's balance, tier, card number and soonest expiry. Its serial number and authentication token never change; the device then keeps it current through the PassKit web service under /wallet/apple."
	o.Responses = map[string]*huma.Response{"200": {
		Description: "The pass",
		Content:     map[string]*huma.MediaType{wallet.ContentType: {Schema: &huma.Schema{Type: "string", Format: "binary"}}},
	}}
	huma.Register(s.api, o, func(ctx context.Context, in *MemberPath) (*PassOutput, error) {
		if s.deps.Wallets == nil {
			return nil, newProblem(codeWalletNotConfigured, "wallets are not configured")
		}
		c := callerOf(ctx)
		if _, err := s.deps.Members.GetMember(ctx, c, in.MemberID); err != nil {
			return nil, s.problem(ctx, err)
		}
		b, p, err := s.deps.Wallets.ApplePass(ctx, walletBaseURL(ctx), c.TenantID, in.MemberID)
		if err != nil {
			return nil, s.walletProblem(ctx, err)
		}
		return &PassOutput{ContentType: wallet.ContentType, ContentDisposition: `attachment; filename="card.pkpass"`,
			LastModified: time.Unix(p.Tag, 0).UTC().Format(http.TimeFormat), Body: b}, nil
	})
}

// GoogleWalletOutput is a "Save to Google Wallet" link.
type GoogleWalletOutput struct {
	Body struct {
		SaveURL string `json:"saveUrl" doc:"Save to Google Wallet link: a signed JWT (RS256, typ savetowallet) carrying the member's loyalty object"`
	}
}

func (s *server) registerGoogleWallet(r routes.Route) {
	o := op(r, "A Save to Google Wallet link for the member", "wallets")
	huma.Register(s.api, o, func(ctx context.Context, in *MemberPath) (*GoogleWalletOutput, error) {
		if s.deps.Wallets == nil {
			return nil, newProblem(codeWalletNotConfigured, "wallets are not configured")
		}
		c := callerOf(ctx)
		if _, err := s.deps.Members.GetMember(ctx, c, in.MemberID); err != nil {
			return nil, s.problem(ctx, err)
		}
		u, err := s.deps.Wallets.GoogleSaveURL(ctx, walletBaseURL(ctx), c.TenantID, in.MemberID, nil)
		if err != nil {
			return nil, s.walletProblem(ctx, err)
		}
		out := &GoogleWalletOutput{}
		out.Body.SaveURL = u
		return out, nil
	})
}

type walletHostKey struct{}

// walletBaseURL is the service's address as the request reached it (the
// pass's webServiceURL and the Google class's callback are under it).
func walletBaseURL(ctx context.Context) string {
	r, _ := ctx.Value(walletHostKey{}).(*http.Request)
	if r == nil {
		return "http://localhost"
	}
	return wallet.BaseURLOf(r)
}

// withRequest keeps the request in the context for walletBaseURL.
func withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), walletHostKey{}, r)))
	})
}
