package api

import (
	"sync"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// operation is everything the API knows about one operation id, in one
// place: adding an operation is one entry in its function's table below,
// one handler and one domain function (and a route in shared/routes). A
// test checks the tables against the route table and the generated
// document.
type operation struct {
	// register adds the operation's huma handler for its route.
	register func(s *server, r routes.Route)
	// codes are the problem codes its own logic can answer with. The codes
	// every operation of a kind shares (authentication, validation,
	// idempotency, plan limits) are added by commonCodes. The document
	// publishes the union per operation, as an `x-error-codes` list and as
	// an enum of `code` in each error status's schema, so a response with an
	// unlisted code breaks the contract: the HTTP tests validate every
	// response against the document and the schema fuzzer does the same.
	codes []loyalty.Code
	// minRole refuses callers below it (403) before anything else, the
	// service checking again; "" lets any key in.
	minRole loyalty.Role
	// public operations take no key.
	public bool
	// idempotent operations change a balance: they require an
	// Idempotency-Key and answer a retry with the first response.
	idempotent bool
}

const admin = loyalty.RoleAdmin

// Function is the share of the API one Lambda function serves: the
// operations of its routes (shared/routes names each operation's function),
// each table below holding exactly those. A function's main passes only its
// own Function (app.ServeHTTP(api.OrdersFunction)), so its binary links its
// own handlers and what they call, not the forty others (DESIGN.md: every
// Lambda ≤ 12 MiB). The local server, the tests and the OpenAPI document
// take them all (Functions).
//
// Adding an operation: its route in shared/routes, its entry in the table
// of the same function here, its handler. A new function: a table and a
// Function here, listed in Functions, and its main under functions/.
type Function struct {
	// Name is the function's name in shared/routes (routes.Fn…).
	Name string
	// operations builds the function's table. A func, not a map, so that
	// the table and its handlers are linked only into a binary naming this
	// Function.
	operations func() map[string]operation
}

// The functions serving operations of the API.
var (
	EnrollFunction    = Function{routes.FnEnroll, enrollOperations}
	VerifyOTPFunction = Function{routes.FnVerifyOTP, verifyOTPOperations}
	RedeemFunction    = Function{routes.FnRedeem, redeemOperations}
	AccrueFunction    = Function{routes.FnAccrue, accrueOperations}
	RefundFunction    = Function{routes.FnRefund, refundOperations}
	OrdersFunction    = Function{routes.FnOrders, ordersOperations}
	ProgramsFunction  = Function{routes.FnPrograms, programsOperations}
	MembersFunction   = Function{routes.FnMembers, membersOperations}
	AdminFunction     = Function{routes.FnAdmin, adminOperations}
	TenancyFunction   = Function{routes.FnTenancy, tenancyOperations}
	WebhooksFunction  = Function{routes.FnWebhooks, webhooksOperations}
	WalletFunction    = Function{routes.FnWallet, walletOperations}
	CampaignsFunction = Function{routes.FnCampaigns, campaignsOperations}
)

// Functions are every function serving operations of the API: the local
// server, the tests and the OpenAPI document serve them all.
func Functions() []Function {
	return []Function{EnrollFunction, VerifyOTPFunction, RedeemFunction, AccrueFunction, RefundFunction, OrdersFunction, ProgramsFunction, MembersFunction, AdminFunction, TenancyFunction, WebhooksFunction, WalletFunction, CampaignsFunction}
}

// FunctionNamed finds a function by its name in shared/routes. It links
// every function: for the local server and the tests, not a Lambda's main.
func FunctionNamed(name string) (Function, bool) {
	for _, f := range Functions() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// known are the entries of the tables of every Function an API was built
// with (NewAPI adds them): what op, CodesOf and the document read of an
// operation. An entry never changes, so servers built concurrently with
// different functions agree on it.
var known sync.Map // operation id → operation

// specOf is the table entry of an operation some API was built with.
func specOf(id string) (operation, bool) {
	o, ok := known.Load(id)
	if !ok {
		return operation{}, false
	}
	return o.(operation), true
}

// enrollOperations are the operations of the enroll function.
func enrollOperations() map[string]operation {
	return map[string]operation{
		"start-enrollment":        {register: (*server).registerEnroll, codes: []loyalty.Code{loyalty.CodeInvalidPhone, loyalty.CodeConsentRequired, loyalty.CodeAlreadyEnrolled, loyalty.CodeTooManyRequests, loyalty.CodeNoActiveProgram, loyalty.CodeEnrollmentClosed, loyalty.CodePhoneNotAllowed, loyalty.CodeCountryNotAllowed, loyalty.CodeReferralCodeUnknown, loyalty.CodeReferralSelf, loyalty.CodeReferralPhoneUsed, loyalty.CodeCardNotInPool, loyalty.CodeCardTaken}},
		"start-public-enrollment": {register: (*server).registerPublicEnroll, codes: []loyalty.Code{loyalty.CodeInvalidPhone, loyalty.CodeConsentRequired, loyalty.CodeTooManyRequests, loyalty.CodeNoActiveProgram, loyalty.CodeEnrollmentClosed, loyalty.CodeTenantNotFound, loyalty.CodePhoneNotAllowed, loyalty.CodeCountryNotAllowed, loyalty.CodeReferralCodeUnknown}, public: true},
	}
}

// verifyOTPOperations are the operations of the verify-otp function.
func verifyOTPOperations() map[string]operation {
	return map[string]operation{
		"verify-enrollment": {register: (*server).registerVerify, codes: []loyalty.Code{loyalty.CodeChallengeNotFound, loyalty.CodeOTPInvalid, loyalty.CodeOTPLocked, loyalty.CodeOTPExpired, loyalty.CodeOTPUsed, loyalty.CodeAlreadyEnrolled, loyalty.CodeTooManyRequests, loyalty.CodeNoActiveProgram, loyalty.CodeEnrollmentClosed, loyalty.CodeCardNotInPool, loyalty.CodeCardTaken}, public: true},
	}
}

// redeemOperations are the operations of the redeem function.
func redeemOperations() map[string]operation {
	return map[string]operation{
		"redeem-points": {register: (*server).registerRedeem, codes: []loyalty.Code{loyalty.CodeInvalidPhone, loyalty.CodeMemberNotFound, loyalty.CodeMemberBlocked, loyalty.CodeOrderClosed, loyalty.CodeOrderMemberMismatch, loyalty.CodeInsufficientPoints, loyalty.CodeRedeemLimitExceeded, loyalty.CodeNoActiveProgram, loyalty.CodeNotBonusProgram}, idempotent: true},
	}
}

// accrueOperations are the operations of the accrue function.
func accrueOperations() map[string]operation {
	return map[string]operation{
		"close-order": {register: (*server).registerClose, codes: []loyalty.Code{loyalty.CodeGiftCardNotFound, loyalty.CodeGiftCardExpired, loyalty.CodeGiftCardInsufficient, loyalty.CodeGiftCardExceedsOrder, loyalty.CodeCouponNotFound, loyalty.CodeCouponExpired, loyalty.CodeCouponNotYetValid, loyalty.CodeCouponExhausted, loyalty.CodeCouponGroupConflict, loyalty.CodeCouponNotApplicable, loyalty.CodeInvalidPhone, loyalty.CodeMemberNotFound, loyalty.CodeMemberBlocked, loyalty.CodeOrderClosed, loyalty.CodeOrderMemberMismatch, loyalty.CodeNoActiveProgram, loyalty.CodeRedeemLimitExceeded}, idempotent: true}, // the hold exceeds the share of a lower closing total
	}
}

// refundOperations are the operations of the refund function.
func refundOperations() map[string]operation {
	return map[string]operation{
		"refund-order": {register: (*server).registerRefund, codes: []loyalty.Code{loyalty.CodeOrderNotFound, loyalty.CodeOrderNotClosed, loyalty.CodeRefundExceedsOrder, loyalty.CodeRefundIDReused}, idempotent: true},
	}
}

// ordersOperations are the operations of the orders function.
func ordersOperations() map[string]operation {
	return map[string]operation{
		"quote-order":     {register: (*server).registerQuote, codes: []loyalty.Code{loyalty.CodeInvalidPhone, loyalty.CodeMemberNotFound, loyalty.CodeMemberBlocked, loyalty.CodeOrderClosed, loyalty.CodeOrderMemberMismatch, loyalty.CodeNoActiveProgram}},
		"cancel-order":    {register: (*server).registerCancel, codes: []loyalty.Code{loyalty.CodeOrderNotFound, loyalty.CodeOrderClosed}, idempotent: true},
		"get-order":       {register: (*server).registerGetOrder, codes: []loyalty.Code{loyalty.CodeOrderNotFound}},
		"issue-gift-card": {register: (*server).registerIssueGiftCard, idempotent: true},
		"get-gift-card":   {register: (*server).registerGetGiftCard, codes: []loyalty.Code{loyalty.CodeGiftCardNotFound}},
	}
}

// programsOperations are the operations of the programs function.
func programsOperations() map[string]operation {
	return map[string]operation{
		"create-program":      {register: (*server).registerCreateProgram, codes: []loyalty.Code{loyalty.CodeTemplateUnknownVariable, loyalty.CodeTemplateInvalid}, minRole: admin},
		"list-programs":       {register: (*server).registerListPrograms},
		"get-program":         {register: (*server).registerGetProgram, codes: []loyalty.Code{loyalty.CodeProgramNotFound}},
		"activate-program":    {register: func(s *server, r routes.Route) { s.registerProgramStatus(loyalty.ProgramActive)(r) }, codes: []loyalty.Code{loyalty.CodeProgramNotFound, loyalty.CodeProgramStatus, loyalty.CodeActiveProgramExists, loyalty.CodeProgramTypeLocked}, minRole: admin},
		"stop-program":        {register: func(s *server, r routes.Route) { s.registerProgramStatus(loyalty.ProgramStopped)(r) }, codes: []loyalty.Code{loyalty.CodeProgramNotFound, loyalty.CodeProgramStatus}, minRole: admin},
		"update-program":      {register: (*server).registerUpdateProgram, codes: []loyalty.Code{loyalty.CodeTemplateUnknownVariable, loyalty.CodeTemplateInvalid, loyalty.CodeProgramNotFound, loyalty.CodeProgramStatus, loyalty.CodeProgramTypeLocked}, minRole: admin},
		"delete-program":      {register: func(s *server, r routes.Route) { s.registerProgramStatus(loyalty.ProgramDeleted)(r) }, codes: []loyalty.Code{loyalty.CodeProgramNotFound, loyalty.CodeProgramStatus}, minRole: admin},
		"put-product":         {register: (*server).registerPutProduct, minRole: admin},
		"list-products":       {register: (*server).registerListProducts},
		"import-catalog":      {register: (*server).registerImportCatalog, minRole: admin},
		"export-catalog":      {register: (*server).registerExportCatalog},
		"import-cards":        {register: (*server).registerImportCards, minRole: admin},
		"export-cards":        {register: (*server).registerExportCards, minRole: admin},
		"create-coupon":       {register: (*server).registerCreateCoupon, codes: []loyalty.Code{loyalty.CodeCouponCodeTaken}, minRole: admin},
		"create-coupon-batch": {register: (*server).registerCreateCouponBatch, minRole: admin},
		"import-coupons":      {register: (*server).registerImportCoupons, minRole: admin},
		"list-coupons":        {register: (*server).registerListCoupons, minRole: admin},
		"get-coupon":          {register: (*server).registerGetCoupon, codes: []loyalty.Code{loyalty.CodeCouponNotFound}},
		"create-promotion":    {register: (*server).registerCreatePromotion, minRole: admin},
		"list-promotions":     {register: (*server).registerListPromotions},
	}
}

// membersOperations are the operations of the members function.
func membersOperations() map[string]operation {
	return map[string]operation{
		"set-member-groups":    {register: (*server).registerSetGroups, codes: []loyalty.Code{loyalty.CodeMemberNotFound}, minRole: admin},
		"adjust-member":        {register: (*server).registerAdjust, codes: []loyalty.Code{loyalty.CodeMemberNotFound, loyalty.CodeInsufficientPoints, loyalty.CodeNoActiveProgram, loyalty.CodeNotBonusProgram}, minRole: admin, idempotent: true},
		"block-member":         {register: func(s *server, r routes.Route) { s.registerBlock(true)(r) }, codes: []loyalty.Code{loyalty.CodeMemberNotFound}, minRole: admin},
		"unblock-member":       {register: func(s *server, r routes.Route) { s.registerBlock(false)(r) }, codes: []loyalty.Code{loyalty.CodeMemberNotFound}, minRole: admin},
		"replace-member-card":  {register: (*server).registerReplaceCard, codes: []loyalty.Code{loyalty.CodeMemberNotFound, loyalty.CodeMemberBlocked, loyalty.CodeCardNotInPool, loyalty.CodeCardTaken}, minRole: admin},
		"bulk-accrue":          {register: (*server).registerBulkAccrue, codes: []loyalty.Code{loyalty.CodeNoActiveProgram, loyalty.CodeNotBonusProgram}, minRole: admin},
		"preview-bulk-accrual": {register: (*server).registerBulkPreview, minRole: admin},
		"set-member-tier":      {register: (*server).registerSetTier, codes: []loyalty.Code{loyalty.CodeMemberNotFound, loyalty.CodeNoActiveProgram}, minRole: admin},
		"search-members":       {register: (*server).registerSearch},
		"set-member-code-word": {register: (*server).registerSetCodeWord, codes: []loyalty.Code{loyalty.CodeMemberNotFound}},
		"identify-member":      {register: (*server).registerIdentify, codes: []loyalty.Code{loyalty.CodeInvalidPhone, loyalty.CodeMemberNotFound, loyalty.CodeCodeWordMismatch}},
		"get-member":           {register: (*server).registerGetMember, codes: []loyalty.Code{loyalty.CodeMemberNotFound}},
		"find-member":          {register: (*server).registerFindMember, codes: []loyalty.Code{loyalty.CodeInvalidPhone, loyalty.CodeMemberNotFound}},
		"list-member-ledger":   {register: (*server).registerLedger, codes: []loyalty.Code{loyalty.CodeMemberNotFound}},
	}
}

// adminOperations are the operations of the admin function.
func adminOperations() map[string]operation {
	return map[string]operation{
		"get-openapi-json": {register: (*server).registerDocument, public: true},
		"get-openapi-yaml": {register: (*server).registerDocument, public: true},
		"run-expiry-sweep": {register: (*server).registerSweep, minRole: admin},
		"healthz":          {register: (*server).registerHealth, codes: []loyalty.Code{loyalty.CodeUnavailable}, public: true},
	}
}

// tenancyOperations are the operations of the tenancy function.
func tenancyOperations() map[string]operation {
	return map[string]operation{
		"create-point-of-sale": {register: (*server).registerCreatePOS, minRole: admin},
		"list-points-of-sale":  {register: (*server).registerListPOS},
		"create-staff":         {register: (*server).registerCreateStaff, codes: []loyalty.Code{loyalty.CodePointOfSaleNotFound}, minRole: admin},
		"list-staff":           {register: (*server).registerListStaff, minRole: admin},
		"revoke-staff":         {register: (*server).registerRevokeStaff, codes: []loyalty.Code{loyalty.CodeStaffNotFound}, minRole: admin},
		"get-usage":            {register: (*server).registerUsage},
		"list-audit":           {register: (*server).registerAudit, minRole: admin},
		"get-embed":            {register: (*server).registerGetEmbed, minRole: loyalty.RoleOwner},
		"set-embed":            {register: (*server).registerSetEmbed, minRole: loyalty.RoleOwner},
		"get-liability-report": {register: (*server).registerLiability, minRole: admin},
		"get-activity-report":  {register: (*server).registerActivity, codes: []loyalty.Code{loyalty.CodeReportRangeInvalid}, minRole: admin},
	}
}

// webhooksOperations are the operations of the webhooks function.
func webhooksOperations() map[string]operation {
	return map[string]operation{
		"create-webhook":             {register: (*server).registerCreateWebhook, codes: []loyalty.Code{loyalty.CodeWebhookLimit}, minRole: admin},
		"list-webhooks":              {register: (*server).registerListWebhooks, minRole: admin},
		"get-webhook":                {register: (*server).registerGetWebhook, codes: []loyalty.Code{loyalty.CodeWebhookNotFound}, minRole: admin},
		"delete-webhook":             {register: (*server).registerDeleteWebhook, codes: []loyalty.Code{loyalty.CodeWebhookNotFound}, minRole: admin},
		"rotate-webhook-secret":      {register: (*server).registerRotateWebhook, codes: []loyalty.Code{loyalty.CodeWebhookNotFound}, minRole: admin},
		"enable-webhook":             {register: (*server).registerEnableWebhook, codes: []loyalty.Code{loyalty.CodeWebhookNotFound}, minRole: admin},
		"test-webhook":               {register: (*server).registerTestWebhook, codes: []loyalty.Code{loyalty.CodeWebhookNotFound, loyalty.CodeWebhookDisabled}, minRole: admin},
		"list-webhook-deliveries":    {register: (*server).registerWebhookDeliveries, codes: []loyalty.Code{loyalty.CodeWebhookNotFound}, minRole: admin},
		"list-webhook-dead-letters":  {register: (*server).registerWebhookDeadLetters, codes: []loyalty.Code{loyalty.CodeWebhookNotFound}, minRole: admin},
		"replay-webhook-dead-letter": {register: (*server).registerReplayWebhook, codes: []loyalty.Code{loyalty.CodeWebhookNotFound, loyalty.CodeDeadLetterNotFound, loyalty.CodeWebhookDisabled}, minRole: admin},
	}
}

// walletOperations are the operations of the wallet function.
func walletOperations() map[string]operation {
	return map[string]operation{
		"get-member-apple-pass":    {register: (*server).registerApplePass, codes: []loyalty.Code{loyalty.CodeMemberNotFound, codeWalletNotConfigured}},
		"get-member-google-wallet": {register: (*server).registerGoogleWallet, codes: []loyalty.Code{loyalty.CodeMemberNotFound, codeWalletNotConfigured}},
		"get-apple-certificate":    {register: (*server).registerGetAppleCertificate, codes: []loyalty.Code{codeWalletNotConfigured, codeAppleCertificateNotFound}, minRole: loyalty.RoleOwner},
		"set-apple-certificate":    {register: (*server).registerSetAppleCertificate, codes: []loyalty.Code{codeWalletNotConfigured, codeInvalidCertificate}, minRole: loyalty.RoleOwner},
		"delete-apple-certificate": {register: (*server).registerDeleteAppleCertificate, codes: []loyalty.Code{codeWalletNotConfigured}, minRole: loyalty.RoleOwner},
	}
}

// campaignsOperations are the campaigns function's: campaigns, unsubscribing, inbound SMS replies.
func campaignsOperations() map[string]operation {
	return map[string]operation{
		"create-campaign": {register: (*server).registerCreateCampaign, codes: []loyalty.Code{loyalty.CodeSegmentEmpty, loyalty.CodeTemplateUnknownVariable, loyalty.CodeTemplateInvalid, loyalty.CodeSendTimeInPast}, minRole: admin},
		"get-campaign":    {register: (*server).registerGetCampaign, codes: []loyalty.Code{loyalty.CodeCampaignNotFound}, minRole: admin},
		"unsubscribe":     {register: (*server).registerUnsubscribe, codes: []loyalty.Code{loyalty.CodeUnsubscribeTokenInvalid}, public: true},
		"receive-sms":     {register: (*server).registerInboundSMS, codes: []loyalty.Code{loyalty.CodeInboundSignatureInvalid, loyalty.CodeTenantNotFound, loyalty.CodeInvalidPhone}, public: true},
	}
}
