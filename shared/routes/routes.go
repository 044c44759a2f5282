// Package routes is the table of HTTP operations and the Lambda function serving each,
// with what each function may touch. It imports nothing so the CDK app can use it.
package routes

// Route ties one HTTP operation to the Lambda function that serves it. The table
// is the single source of truth for three consumers: the handlers register only
// the operations of the function they run in, the local server registers all of
// them, and the CDK stack integrates each route with its function.
type Route struct {
	Function    string // directory under functions/
	OperationID string
	Method      string
	Path        string // net/http and API Gateway style: /v1/orders/{orderId}/redeem
}

// Functions that serve HTTP routes. expire-sweep is scheduled and has no route.
const (
	FnEnroll    = "enroll"
	FnVerifyOTP = "verify-otp"
	FnRedeem    = "redeem"
	FnAccrue    = "accrue"
	FnRefund    = "refund"
	FnOrders    = "orders"
	FnPrograms  = "programs"
	FnMembers   = "members"
	FnAdmin     = "admin"
	FnTenancy   = "tenancy"
	// FnWebhooks serves the webhooks API: a function of its own because it
	// alone (with the worker) opens signing secrets, sends test deliveries to
	// the outside and kicks the delivery queue.
	FnWebhooks = "webhooks"
	// FnWeb serves the server-rendered pages (enrollment, card, cashier)
	// and their static assets: HTML, not operations of the JSON API.
	FnWeb = "web"
	// FnWallet serves the wallet passes: the pass and save-link operations
	// of the API and the wallets' own calls (IsWalletService).
	FnWallet = "wallet"

	// FnCampaigns serves the campaigns API and the SMS gateway's replies;
	// it queues campaign kicks for the worker.
	FnCampaigns = "campaigns"

	// FnExpireSweep runs on a schedule (EventBridge Scheduler), not over HTTP.
	FnExpireSweep = "expire-sweep"
	// FnDeliverWebhooks is the delivery worker, driven by its SQS queue
	// (and a schedule that reconciles lost kicks), not over HTTP.
	FnDeliverWebhooks = "deliver-webhooks"
	// FnSendCampaigns is the campaign worker, driven by its SQS queue (and
	// a schedule that runs campaigns whose kick was lost), not over HTTP.
	FnSendCampaigns = "send-campaigns"
	// FnDispatch reads the table's stream (an event source mapping), not
	// over HTTP: the event feed, pay-as-you-go usage counting and the
	// reports' aggregates.
	FnDispatch = "dispatch"
)

// Routes lists every HTTP operation the service serves.
var Routes = []Route{
	{FnEnroll, "start-enrollment", "POST", "/v1/enrollments"},
	{FnEnroll, "start-public-enrollment", "POST", "/v1/public/{tenantSlug}/enrollments"},
	{FnVerifyOTP, "verify-enrollment", "POST", "/v1/enrollments/{challengeId}/verify"},
	{FnRedeem, "redeem-points", "POST", "/v1/orders/{orderId}/redeem"},
	{FnAccrue, "close-order", "POST", "/v1/orders/{orderId}/close"},
	{FnRefund, "refund-order", "POST", "/v1/orders/{orderId}/refunds"},
	{FnOrders, "quote-order", "POST", "/v1/orders/{orderId}/quote"},
	{FnOrders, "cancel-order", "POST", "/v1/orders/{orderId}/cancel"},
	{FnOrders, "get-order", "GET", "/v1/orders/{orderId}"},
	{FnOrders, "issue-gift-card", "POST", "/v1/gift-cards"},
	{FnOrders, "get-gift-card", "GET", "/v1/gift-cards/{number}"},
	{FnPrograms, "create-program", "POST", "/v1/programs"},
	{FnPrograms, "list-programs", "GET", "/v1/programs"},
	{FnPrograms, "get-program", "GET", "/v1/programs/{programId}"},
	{FnPrograms, "activate-program", "POST", "/v1/programs/{programId}/activate"},
	{FnPrograms, "stop-program", "POST", "/v1/programs/{programId}/stop"},
	{FnPrograms, "update-program", "PUT", "/v1/programs/{programId}"},
	{FnPrograms, "delete-program", "DELETE", "/v1/programs/{programId}"},
	{FnMembers, "get-member", "GET", "/v1/members/{memberId}"},
	{FnMembers, "find-member", "GET", "/v1/members"},
	{FnMembers, "search-members", "GET", "/v1/members/search"},
	{FnMembers, "list-member-ledger", "GET", "/v1/members/{memberId}/ledger"},
	{FnMembers, "set-member-groups", "PUT", "/v1/members/{memberId}/groups"},
	{FnMembers, "adjust-member", "POST", "/v1/members/{memberId}/adjustments"},
	{FnMembers, "block-member", "POST", "/v1/members/{memberId}/block"},
	{FnMembers, "unblock-member", "POST", "/v1/members/{memberId}/unblock"},
	{FnMembers, "replace-member-card", "POST", "/v1/members/{memberId}/card"},
	{FnMembers, "bulk-accrue", "POST", "/v1/bulk-accruals"},
	{FnMembers, "preview-bulk-accrual", "POST", "/v1/bulk-accruals/preview"},
	{FnMembers, "set-member-tier", "PUT", "/v1/members/{memberId}/tier"},
	{FnMembers, "set-member-code-word", "PUT", "/v1/members/{memberId}/code-word"},
	{FnMembers, "identify-member", "POST", "/v1/members/identify"},
	{FnPrograms, "put-product", "PUT", "/v1/catalog/products/{sku}"},
	{FnPrograms, "list-products", "GET", "/v1/catalog/products"},
	{FnPrograms, "import-catalog", "POST", "/v1/catalog/import"},
	{FnPrograms, "export-catalog", "GET", "/v1/catalog/export"},
	{FnPrograms, "import-cards", "POST", "/v1/cards/import"},
	{FnPrograms, "export-cards", "GET", "/v1/cards/export"},
	{FnPrograms, "create-coupon", "POST", "/v1/coupons"},
	{FnPrograms, "create-coupon-batch", "POST", "/v1/coupons/batch"},
	{FnPrograms, "import-coupons", "POST", "/v1/coupons/import"},
	{FnPrograms, "list-coupons", "GET", "/v1/coupons"},
	{FnPrograms, "get-coupon", "GET", "/v1/coupons/{code}"},
	{FnPrograms, "create-promotion", "POST", "/v1/promotions"},
	{FnPrograms, "list-promotions", "GET", "/v1/promotions"},
	{FnTenancy, "create-point-of-sale", "POST", "/v1/points-of-sale"},
	{FnTenancy, "list-points-of-sale", "GET", "/v1/points-of-sale"},
	{FnTenancy, "create-staff", "POST", "/v1/staff"},
	{FnTenancy, "list-staff", "GET", "/v1/staff"},
	{FnTenancy, "revoke-staff", "DELETE", "/v1/staff/{staffId}"},
	{FnTenancy, "get-usage", "GET", "/v1/usage"},
	{FnTenancy, "get-liability-report", "GET", "/v1/reports/liability"},
	{FnTenancy, "get-activity-report", "GET", "/v1/reports/activity"},
	{FnTenancy, "list-audit", "GET", "/v1/audit"},
	{FnWebhooks, "create-webhook", "POST", "/v1/webhooks"},
	{FnWebhooks, "list-webhooks", "GET", "/v1/webhooks"},
	{FnWebhooks, "get-webhook", "GET", "/v1/webhooks/{webhookId}"},
	{FnWebhooks, "delete-webhook", "DELETE", "/v1/webhooks/{webhookId}"},
	{FnWebhooks, "rotate-webhook-secret", "POST", "/v1/webhooks/{webhookId}/rotate-secret"},
	{FnWebhooks, "enable-webhook", "POST", "/v1/webhooks/{webhookId}/enable"},
	{FnWebhooks, "test-webhook", "POST", "/v1/webhooks/{webhookId}/test"},
	{FnWebhooks, "list-webhook-deliveries", "GET", "/v1/webhooks/{webhookId}/deliveries"},
	{FnWebhooks, "list-webhook-dead-letters", "GET", "/v1/webhooks/{webhookId}/dead-letters"},
	{FnWebhooks, "replay-webhook-dead-letter", "POST", "/v1/webhooks/{webhookId}/dead-letters/{eventId}/replay"},
	{FnCampaigns, "create-campaign", "POST", "/v1/campaigns"},
	{FnCampaigns, "get-campaign", "GET", "/v1/campaigns/{campaignId}"},
	{FnCampaigns, "receive-sms", "POST", "/v1/public/{tenantSlug}/sms/inbound"},
	{FnCampaigns, "unsubscribe", "POST", "/v1/public/unsubscribe"},
	{FnTenancy, "get-embed", "GET", "/v1/embed"},
	{FnTenancy, "set-embed", "PUT", "/v1/embed"},
	{FnWallet, "get-member-apple-pass", "GET", "/v1/members/{memberId}/pass.pkpass"},
	{FnWallet, "get-member-google-wallet", "GET", "/v1/members/{memberId}/google-wallet"},
	{FnWallet, "get-apple-certificate", "GET", "/v1/wallet/apple-certificate"},
	{FnWallet, "set-apple-certificate", "PUT", "/v1/wallet/apple-certificate"},
	{FnWallet, "delete-apple-certificate", "DELETE", "/v1/wallet/apple-certificate"},
	// Apple's PassKit web service and Google's callback (IsWalletService).
	{FnWallet, "apple-register-device", "POST", "/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}"},
	{FnWallet, "apple-unregister-device", "DELETE", "/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}"},
	{FnWallet, "apple-list-updated", "GET", "/wallet/apple/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}"},
	{FnWallet, "apple-get-pass", "GET", "/wallet/apple/v1/passes/{passTypeIdentifier}/{serialNumber}"},
	{FnWallet, "apple-log", "POST", "/wallet/apple/v1/log"},
	{FnWallet, "google-wallet-callback", "POST", "/wallet/google/callback"},
	{FnAdmin, "run-expiry-sweep", "POST", "/v1/admin/expiry-sweep"},
	{FnAdmin, "healthz", "GET", "/healthz"},
	{FnAdmin, "get-openapi-json", "GET", "/openapi.json"},
	{FnAdmin, "get-openapi-yaml", "GET", "/openapi.yaml"},

	// Pages (see IsPage): HTML for browsers, not in the OpenAPI document.
	{FnWeb, "page-enroll", "GET", "/j/{tenantSlug}"},
	{FnWeb, "page-enroll-post", "POST", "/j/{tenantSlug}"},
	{FnWeb, "page-enroll-qr-png", "GET", "/j/{tenantSlug}/qr.png"},
	{FnWeb, "page-enroll-qr-svg", "GET", "/j/{tenantSlug}/qr.svg"},
	{FnWeb, "page-card", "GET", "/c/{tenantSlug}"},
	{FnWeb, "page-card-post", "POST", "/c/{tenantSlug}"},
	{FnWeb, "page-card-pass", "GET", "/c/{tenantSlug}/pass.pkpass"},
	{FnWeb, "page-cashier", "GET", "/cashier"},
	{FnWeb, "page-cashier-post", "POST", "/cashier"},
	// The owner's back office: a section (programs, staff, members, ...)
	// and an item of it (a program, a member, a CSV download).
	{FnWeb, "page-console", "GET", "/console"},
	{FnWeb, "page-console-post", "POST", "/console"},
	{FnWeb, "page-console-section", "GET", "/console/{section}"},
	{FnWeb, "page-console-section-post", "POST", "/console/{section}"},
	{FnWeb, "page-console-item", "GET", "/console/{section}/{item}"},
	{FnWeb, "page-console-item-post", "POST", "/console/{section}/{item}"},
	{FnWeb, "page-embed-script", "GET", "/embed.js"},
	{FnWeb, "page-static", "GET", "/static/{file}"},
	{FnWeb, "page-unsubscribe", "GET", "/u/{token}"},
	{FnWeb, "page-unsubscribe-post", "POST", "/u/{token}"},
}

// IsPage reports whether a route serves a web page or its assets rather
// than an operation of the JSON API: the web function serves it, and it is
// not in the API's operation table or OpenAPI document.
func IsPage(r Route) bool { return r.Function == FnWeb }

// IsWalletService reports whether a route is one of the calls Apple's and
// Google's wallets make (their paths, statuses and authentication, not the
// API's): the wallet package serves them, and they are not operations of
// the API's table or its OpenAPI document.
func IsWalletService(r Route) bool {
	const prefix = "/wallet/"
	return len(r.Path) >= len(prefix) && r.Path[:len(prefix)] == prefix
}

// AllFunctions lists every function directory, HTTP-served and scheduled.
func AllFunctions() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range Routes {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return append(out, FnExpireSweep, FnDeliverWebhooks, FnDispatch, FnSendCampaigns)
}

// ServedOverHTTP reports whether a function answers routes of the HTTP API
// (the sweep, the webhook worker and the dispatcher do not).
func ServedOverHTTP(fn string) bool {
	return fn != FnExpireSweep && fn != FnDeliverWebhooks && fn != FnDispatch && fn != FnSendCampaigns
}

// RouteByOperation finds a route by its operation id.
func RouteByOperation(id string) (Route, bool) {
	for _, r := range Routes {
		if r.OperationID == id {
			return r, true
		}
	}
	return Route{}, false
}

// Access says what a function does with the outside world; the CDK stack grants
// exactly this and nothing more.
type Access struct {
	ReadTable  bool // GetItem, BatchGetItem, Query on the table
	WriteTable bool // PutItem, UpdateItem, DeleteItem (emptied lots only), ConditionCheckItem, BatchWriteItem (catalog imports); TransactWriteItems is authorised per item
	QueryIndex bool // Query on the expiry index
	SendSMS    bool // sns:Publish
	SendEmail  bool // ses:SendEmail
	ReadSecret bool // secretsmanager:GetSecretValue on the OTP secret
	// WebhookKey: secretsmanager:GetSecretValue on the key sealing webhook secrets.
	WebhookKey bool
	// KickWebhooks: sqs:SendMessage on the webhook delivery queue.
	KickWebhooks bool
	// KickCampaigns: sqs:SendMessage on the campaign queue.
	KickCampaigns bool
	ReadStream    bool // DescribeStream, GetRecords, GetShardIterator, ListStreams on the table's stream
	// ReadWalletSecret: secretsmanager:GetSecretValue on the wallet keys
	// (pass signer, token key, Google service account).
	ReadWalletSecret bool
}

// Permissions per function. Every function reads the table (API-key check).
var Permissions = map[string]Access{
	FnEnroll:    {ReadTable: true, WriteTable: true, SendSMS: true, SendEmail: true, ReadSecret: true},
	FnVerifyOTP: {ReadTable: true, WriteTable: true, ReadSecret: true},
	FnRedeem:    {ReadTable: true, WriteTable: true},
	FnAccrue:    {ReadTable: true, WriteTable: true},
	FnRefund:    {ReadTable: true, WriteTable: true},
	FnOrders:    {ReadTable: true, WriteTable: true},
	FnPrograms:  {ReadTable: true, WriteTable: true},
	FnMembers:   {ReadTable: true, WriteTable: true}, // groups, adjustments, block, card
	FnAdmin:     {ReadTable: true, WriteTable: true, QueryIndex: true},
	FnTenancy:   {ReadTable: true, WriteTable: true},
	// The enrollment and card pages send codes and sign sessions with a key
	// derived from the OTP secret, and serve the card's wallet passes (the
	// pass signer and Google's service account).
	FnWeb:         {ReadTable: true, WriteTable: true, SendSMS: true, SendEmail: true, ReadSecret: true, ReadWalletSecret: true},
	FnExpireSweep: {ReadTable: true, WriteTable: true, QueryIndex: true},
	FnWebhooks:    {ReadTable: true, WriteTable: true, WebhookKey: true, KickWebhooks: true},
	// The worker also emails an endpoint's contact when it disables it.
	FnDeliverWebhooks: {ReadTable: true, WriteTable: true, QueryIndex: true, SendEmail: true, WebhookKey: true, KickWebhooks: true},
	// The dispatcher counts usage and the reports' aggregates (counters
	// and checkpoints), queues
	// webhook deliveries (their items, and a kick to the worker) and syncs
	// wallet passes (the pass signer and Google's service account).
	FnDispatch: {ReadTable: true, WriteTable: true, ReadStream: true, KickWebhooks: true, ReadWalletSecret: true},
	FnWallet:   {ReadTable: true, WriteTable: true, ReadWalletSecret: true},
	// Campaigns: created (and the worker kicked) over HTTP; the worker
	// reads segments and the due index and sends SMS, email and pushes.
	FnCampaigns:     {ReadTable: true, WriteTable: true, ReadSecret: true, KickCampaigns: true}, // the OTP secret keys unsubscribe tokens
	FnSendCampaigns: {ReadTable: true, WriteTable: true, QueryIndex: true, SendSMS: true, SendEmail: true, ReadSecret: true, KickCampaigns: true},
}
