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

// Codes of a tenant's own Apple certificate.
const (
	// codeAppleCertificateNotFound: the tenant signs with the service's.
	codeAppleCertificateNotFound loyalty.Code = "apple_certificate_not_found"
	// codeInvalidCertificate: an upload refused (detail says why).
	codeInvalidCertificate loyalty.Code = "invalid_certificate"
)

// AppleCertificateOutput describes a tenant's own certificate.
type AppleCertificateOutput struct {
	Body wallet.CertInfo
}

// SetAppleCertificateInput is the upload.
type SetAppleCertificateInput struct {
	Body struct {
		PassTypeID      string `json:"passTypeIdentifier" minLength:"6" maxLength:"128" doc:"The Pass Type ID the certificate is for (pass.com.example.loyalty)"`
		TeamID          string `json:"teamIdentifier" minLength:"10" maxLength:"10" doc:"The Apple team id (10 letters and digits)"`
		Certificate     string `json:"certificate" minLength:"1" maxLength:"16384" doc:"The Pass Type ID certificate, PEM"`
		PrivateKey      string `json:"privateKey" minLength:"1" maxLength:"16384" doc:"Its private key, PEM (PKCS#8, PKCS#1 or SEC 1, unencrypted); stored sealed, never shown again"`
		WWDRCertificate string `json:"wwdrCertificate,omitempty" maxLength:"16384" doc:"The Apple WWDR intermediate that issued the certificate, PEM; default: the service's"`
	}
}

func (s *server) walletOrMissing() error {
	if s.deps.Wallets == nil {
		return newProblem(codeWalletNotConfigured, "wallets are not configured")
	}
	return nil
}

// certProblem maps the certificate operations' errors.
func (s *server) certProblem(ctx context.Context, err error) error {
	var ce *wallet.CertError
	switch {
	case errors.As(err, &ce):
		return newProblem(codeInvalidCertificate, ce.Reason)
	case errors.Is(err, wallet.ErrNoTenantCert):
		return newProblem(codeAppleCertificateNotFound, "the business signs its passes with the service's certificate")
	}
	return s.walletProblem(ctx, err)
}

func (s *server) registerGetAppleCertificate(r routes.Route) {
	o := op(r, "The business's own Apple Pass Type ID certificate", "wallets")
	o.Description = "What the business uploaded (never the key). 404 apple_certificate_not_found: its passes are signed with the service's certificate."
	huma.Register(s.api, o, func(ctx context.Context, _ *struct{}) (*AppleCertificateOutput, error) {
		if err := s.walletOrMissing(); err != nil {
			return nil, err
		}
		info, err := s.deps.Wallets.AppleCertificate(ctx, callerOf(ctx).TenantID)
		if err != nil {
			return nil, s.certProblem(ctx, err)
		}
		return &AppleCertificateOutput{Body: info}, nil
	})
}

func (s *server) registerSetAppleCertificate(r routes.Route) {
	o := op(r, "Sign the business's passes with its own Apple Pass Type ID certificate", "wallets")
	o.Description = "Replaces any earlier one. The certificate must parse, be valid now, be issued by the WWDR intermediate and match the private key " +
		"(422 invalid_certificate otherwise, nothing stored). Passes built from then on carry this pass type id and team id and are signed with it; " +
		"APNs pushes for them authenticate with it. Passes already on phones under another pass type id stop updating: their holders add the card again."
	huma.Register(s.api, o, func(ctx context.Context, in *SetAppleCertificateInput) (*AppleCertificateOutput, error) {
		if err := s.walletOrMissing(); err != nil {
			return nil, err
		}
		b := in.Body
		info, err := s.deps.Wallets.SetAppleCertificate(ctx, callerOf(ctx).TenantID, wallet.CertUpload{PassTypeID: b.PassTypeID, TeamID: b.TeamID,
			Certificate: b.Certificate, PrivateKey: b.PrivateKey, WWDRCertificate: b.WWDRCertificate})
		if err != nil {
			return nil, s.certProblem(ctx, err)
		}
		return &AppleCertificateOutput{Body: info}, nil
	})
}

func (s *server) registerDeleteAppleCertificate(r routes.Route) {
	o := op(r, "Return the business's passes to the service's certificate", "wallets")
	o.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, o, func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		if err := s.walletOrMissing(); err != nil {
			return nil, err
		}
		if err := s.deps.Wallets.DeleteAppleCertificate(ctx, callerOf(ctx).TenantID); err != nil {
			return nil, s.certProblem(ctx, err)
		}
		return nil, nil
	})
}
