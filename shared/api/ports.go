package api

import (
	"context"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/wallet"
	"github.com/loyalty/cashback/shared/webhooks"
)

// The capabilities the handlers use, each as small as its handlers need, so
// a handler test can stand in a fake where DynamoDB adds nothing. The
// domain's loyalty.Orders, Enrollment, Members, Programs and Tenancy
// implement them.

// Orders is the hot path.
type Orders interface {
	Quote(ctx context.Context, c loyalty.Caller, ref loyalty.MemberRef, req loyalty.QuoteRequest) (loyalty.QuoteResult, error)
	RedeemPoints(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, ref loyalty.MemberRef, req loyalty.RedeemRequest) (loyalty.RedeemResult, bool, error)
	CloseOrder(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, ref loyalty.MemberRef, req loyalty.CloseRequest) (loyalty.CloseResult, bool, error)
	CancelOrder(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, orderID string) (loyalty.CancelResult, bool, error)
	RefundOrder(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, orderID string, req loyalty.RefundRequest) (loyalty.RefundResult, bool, error)
	GetOrder(ctx context.Context, c loyalty.Caller, id string) (*loyalty.Order, error)
	Sweep(ctx context.Context, tenantID string) (loyalty.SweepResult, error)
}

// Enrollment sends codes and verifies them.
type Enrollment interface {
	StartEnrollment(ctx context.Context, tenantID string, idem loyalty.Idem, req loyalty.EnrollRequest, public bool) (loyalty.EnrollResult, bool, error)
	VerifyEnrollment(ctx context.Context, tenantID string, idem loyalty.Idem, challengeID, code string) (loyalty.VerifyResult, bool, error)
}

// Members is the back office on members.
type Members interface {
	GetMember(ctx context.Context, c loyalty.Caller, memberID string) (*loyalty.Account, error)
	FindMember(ctx context.Context, c loyalty.Caller, ref loyalty.MemberRef) (*loyalty.Account, error)
	SearchMembers(ctx context.Context, c loyalty.Caller, q string, limit int) ([]loyalty.MemberSummary, error)
	Identify(ctx context.Context, c loyalty.Caller, ref loyalty.MemberRef, word string) (*loyalty.Account, error)
	Ledger(ctx context.Context, c loyalty.Caller, memberID string, limit int, beforeSeq int64) ([]loyalty.Entry, error)
	AdjustPoints(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, memberID string, req loyalty.AdjustRequest) (loyalty.AdjustResult, bool, error)
	SetBlocked(ctx context.Context, c loyalty.Caller, memberID string, blocked bool) (*loyalty.Account, error)
	ReplaceCard(ctx context.Context, c loyalty.Caller, memberID, number string) (*loyalty.Account, error)
	SetTier(ctx context.Context, c loyalty.Caller, memberID, tier string) (*loyalty.Account, error)
	SetGroups(ctx context.Context, c loyalty.Caller, memberID string, groups []string) (*loyalty.Account, error)
	SetCodeWord(ctx context.Context, c loyalty.Caller, memberID, word string) (*loyalty.Account, error)
	BulkAccrue(ctx context.Context, c loyalty.Caller, req loyalty.BulkRequest) (loyalty.BulkResult, error)
	PreviewBulk(ctx context.Context, c loyalty.Caller, f loyalty.BulkFilter, cursor string, limit int) (loyalty.BulkPreview, error)
}

// Programs manages programs.
type Programs interface {
	CreateProgram(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, p loyalty.Program) (loyalty.Program, bool, error)
	UpdateProgram(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, programID string, rules loyalty.Program) (loyalty.Program, bool, error)
	SetProgramStatus(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, programID string, to loyalty.ProgramStatus) (loyalty.Program, bool, error)
	GetProgram(ctx context.Context, c loyalty.Caller, id string) (*loyalty.Program, error)
	ListPrograms(ctx context.Context, c loyalty.Caller) ([]loyalty.Program, error)
}

// Tenancy authenticates keys and manages the tenant's setup.
type Tenancy interface {
	Authenticate(ctx context.Context, keyHash string) (loyalty.Caller, error)
	TenantBySlug(ctx context.Context, slug string) (*loyalty.Tenant, error)
	CreatePointOfSale(ctx context.Context, c loyalty.Caller, name, address string) (loyalty.PointOfSale, error)
	ListPointsOfSale(ctx context.Context, c loyalty.Caller) ([]loyalty.PointOfSale, error)
	CreateStaff(ctx context.Context, c loyalty.Caller, name string, role loyalty.Role, posID string) (loyalty.NewStaffResult, error)
	ListStaff(ctx context.Context, c loyalty.Caller) ([]loyalty.Staff, error)
	RevokeStaff(ctx context.Context, c loyalty.Caller, staffID string) error
	Usage(ctx context.Context, c loyalty.Caller, month string) (loyalty.UsageReport, error)
	Audit(ctx context.Context, c loyalty.Caller, month string, limit int) ([]loyalty.AuditEntry, error)
	GetEmbed(ctx context.Context, c loyalty.Caller) (loyalty.Embed, error)
	SetEmbed(ctx context.Context, c loyalty.Caller, origins []string) (loyalty.Embed, error)
}

// Webhooks manages a tenant's webhook endpoints (webhooks.Service).
type Webhooks interface {
	Create(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, req webhooks.CreateRequest) (webhooks.Created, bool, error)
	List(ctx context.Context, c loyalty.Caller) ([]webhooks.Endpoint, error)
	Get(ctx context.Context, c loyalty.Caller, id string) (*webhooks.Endpoint, error)
	Delete(ctx context.Context, c loyalty.Caller, id string) error
	Enable(ctx context.Context, c loyalty.Caller, id string) (*webhooks.Endpoint, error)
	Rotate(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, id string) (webhooks.Created, bool, error)
	Test(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, id string) (webhooks.TestResult, bool, error)
	Attempts(ctx context.Context, c loyalty.Caller, id string, limit int, cursor string) ([]webhooks.Attempt, string, error)
	DeadLetters(ctx context.Context, c loyalty.Caller, id string, limit int, cursor string) ([]webhooks.DeadLetter, string, error)
	Replay(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, id, eventID string) (webhooks.Replayed, bool, error)
}

// Wallets builds wallet passes and reads a member's wallets
// (wallet.Service implements it).
type Wallets interface {
	ApplePass(ctx context.Context, baseURL, tenantID, memberID string) ([]byte, *wallet.ApplePass, error)
	GoogleSaveURL(ctx context.Context, baseURL, tenantID, memberID string, origins []string) (string, error)
	WalletStates
	// A tenant's own Apple Pass Type ID certificate.
	SetAppleCertificate(ctx context.Context, tenantID string, up wallet.CertUpload) (wallet.CertInfo, error)
	AppleCertificate(ctx context.Context, tenantID string) (wallet.CertInfo, error)
	DeleteAppleCertificate(ctx context.Context, tenantID string) error
}

// WalletStates reads a member's wallets (wallet.States, from the store
// alone), for GET /v1/members/{memberId}.
type WalletStates interface {
	WalletsOf(ctx context.Context, tenantID, memberID string) (wallet.Wallets, error)
}

// Capabilities are the domain services the handlers call.
type Capabilities struct {
	Orders     Orders
	Enrollment Enrollment
	Members    Members
	Programs   Programs
	Tenancy    Tenancy
	// Webhooks is nil where the app has no webhooks service: its
	// operations then answer 500 (a wiring bug, not a client's fault).
	Webhooks   Webhooks
	Catalog    Catalog
	Coupons    Coupons
	Promotions Promotions
	// Reports is nil where the app wires none: its operations then answer
	// 500 (a wiring bug, not a client's fault).
	Reports   Reports
	GiftCards GiftCards
	Cards     Cards
	// Campaigns is nil where the app wires none (their operations answer 500).
	Campaigns Campaigns
}

// CapabilitiesOf is every capability of the domain's service.
func CapabilitiesOf(svc *loyalty.Service) Capabilities {
	return Capabilities{Orders: svc.Orders, Enrollment: svc.Enrollment, Members: svc.Members, Programs: svc.Programs, Tenancy: svc.Tenancy, Catalog: svc.Catalog, Coupons: svc.Coupons, Promotions: svc.Promotions, GiftCards: svc.GiftCards, Cards: svc.Cards}
}

// Cards manages the tenant's pool of imported card numbers.
type Cards interface {
	ImportPoolCards(ctx context.Context, c loyalty.Caller, numbers []string) ([]error, error)
	ListPoolCards(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.PoolCard, error)
}

// Catalog manages the tenant's products.
type Catalog interface {
	PutProduct(ctx context.Context, c loyalty.Caller, p loyalty.Product) (loyalty.Product, error)
	ImportProducts(ctx context.Context, c loyalty.Caller, ps []loyalty.Product) error
	ListProducts(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.Product, error)
}

// Coupons manages the tenant's coupons.
type Coupons interface {
	CreateCoupon(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, cp loyalty.Coupon) (loyalty.NewCouponResult, bool, error)
	CreateCouponBatch(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, req loyalty.BatchRequest) (loyalty.BatchResult, bool, error)
	ImportCoupons(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, codes []string, tpl loyalty.Coupon) (loyalty.CouponImportReport, bool, error)
	GetCoupon(ctx context.Context, c loyalty.Caller, code string) (*loyalty.Coupon, error)
	ListCoupons(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.Coupon, error)
}

// GiftCards sells and reads gift cards (closes and refunds spend and
// return them through Orders).
type GiftCards interface {
	IssueGiftCard(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, req loyalty.IssueRequest) (loyalty.IssuedGiftCard, bool, error)
	GetGiftCard(ctx context.Context, c loyalty.Caller, number string) (loyalty.GiftCardView, error)
}

// Promotions manages the tenant's gift promotions.
type Promotions interface {
	CreatePromotion(ctx context.Context, c loyalty.Caller, p loyalty.Promotion) (loyalty.Promotion, error)
	ListPromotions(ctx context.Context, c loyalty.Caller) ([]loyalty.Promotion, error)
}
