// Package layout holds what the functions, the store and the CDK stack must
// agree on without importing one another: the table's key, index and TTL
// attribute names and the environment variables the functions read. It
// imports nothing, so the store does not depend on the route table and the
// stack does not depend on the store.
package layout

// Table layout shared by the store and the CDK stack.
const (
	HashKey       = "PK"
	RangeKey      = "SK"
	IndexName     = "GSI1"
	IndexHashKey  = "GSI1PK"
	IndexRangeKey = "GSI1SK"
	TTLAttribute  = "ttl"
)

// Environment variables the functions read (see shared/app).
const (
	EnvTable        = "LOYALTY_TABLE"          // table name
	EnvNotifier     = "LOYALTY_NOTIFIER"       // "aws" (SNS + SES), "table" (stored for tests), "outbox" (local file)
	EnvEmailFrom    = "LOYALTY_EMAIL_FROM"     // SES sender address
	EnvOTPSecret    = "LOYALTY_OTP_SECRET"     // HMAC key for OTP codes (local)
	EnvOTPSecretARN = "LOYALTY_OTP_SECRET_ARN" // Secrets Manager secret holding that key (cloud)

	EnvWebhookKey      = "LOYALTY_WEBHOOK_KEY"       // key sealing webhook signing secrets (local)
	EnvWebhookKeyARN   = "LOYALTY_WEBHOOK_KEY_ARN"   // Secrets Manager secret holding that key (cloud)
	EnvWebhookQueueURL = "LOYALTY_WEBHOOK_QUEUE_URL" // SQS queue of delivery kicks (cloud)
	// EnvFeedOneShard, set to 1 by a deployment to an emulator whose event
	// source mappings have no tumbling windows (their events name no
	// shard), keys the dispatcher's usage checkpoint by the stream instead
	// of the shard: right only for a stream of one shard, as an emulator's.
	EnvFeedOneShard = "LOYALTY_FEED_ONE_SHARD"
	// Wallet passes (shared/wallet).
	EnvWalletSecretARN = "LOYALTY_WALLET_SECRET_ARN" // Secrets Manager secret: pass signer, WWDR, token key, Google service account (JSON, wallet.Secret)
	EnvGoogleRootKeys  = "LOYALTY_GOOGLE_ROOT_KEYS"  // file of Google's root signing keys (key-list JSON) for the callbacks
	EnvGoogleIssuerID  = "LOYALTY_GOOGLE_ISSUER_ID"  // Google Wallet issuer id (the callbacks' recipient id)
	EnvGoogleSenderID  = "LOYALTY_GOOGLE_SENDER_ID"  // the callbacks' sender id; default GooglePayPasses
	// EnvWebhookLoopback, set to 1 only by a deployment to an emulator
	// (whose functions run on the host), lets webhook receivers be plain
	// http on the host's loopback, as `make run` does; never set in the
	// cloud, where only https to public addresses is accepted.
	EnvWebhookLoopback = "LOYALTY_WEBHOOK_LOOPBACK"
	// Campaigns (shared/campaigns).
	EnvBaseURL          = "LOYALTY_BASE_URL"           // public base URL of the API and pages (unsubscribe links in messages)
	EnvCampaignQueueURL = "LOYALTY_CAMPAIGN_QUEUE_URL" // SQS queue of campaign kicks (cloud)
	EnvSMSInboundSecret = "LOYALTY_SMS_INBOUND_SECRET" // key of the SMS gateway's inbound webhook signatures
)
