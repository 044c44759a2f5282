// Package store is the single-table DynamoDB store of the loyalty domain and
// the only package that imports the DynamoDB SDK. Every key starts with the
// tenant id (T#<tenant>), so no query can cross tenants; the only global
// items are lookups by API-key hash and tenant slug, and the sweep cursor.
//
// Item layout (PK / SK):
//
//	T#t / TENANT                 tenant with a copy of its current program
//	T#t / PROG#p                 program
//	T#t#M#m / A                  account: balances, seq, last hash
//	T#t#M#m / A#LOT#<lot>        lot; in the expiry index while it has points
//	T#t#M#m / A#STATS            rolling activity counters for tiers, groups
//	T#t#M#m / L#<seq 12 digits>  ledger entry (append-only, hash-chained)
//	T#t#PHONE#<e164> / UNIQ      phone → member (uniqueness)
//	T#t#CARD#<n> / UNIQ          card → member (uniqueness)
//	T#t#ORD#o / ORDER            order; in the index while a hold is open
//	T#t#OTP#c / OTP              one-time-code challenge (TTL)
//	T#t#IDEM#<sha256(key)> / IDEM  idempotency record (TTL)
//	T#t#RATE#<sha256(scope)>#<window s> / RATE  rate limit: counts of the window's buckets (TTL)
//	T#t / POS#p, T#t / STAFF#s   points of sale, staff (key hash, role, revoked)
//	T#t / APPLECERT              the tenant's own Pass Type ID certificate, key sealed (wallet.go)
//	T#t / MEMBER#m               member directory: id, card, phone, name (lists, export, search)
//	T#t#USAGE#<month>#<shard> / USAGE  metered operations per kind (sharded counters:
//	                             a capped tenant's in shard 0, in the operation's own
//	                             transaction; an uncapped one's counted from the stream,
//	                             usage.go, off the meter its idempotency record carries)
//	T#t#AUDIT#<month> / <time>#<rand>  administrative actions
//	T#t#RPT / LIAB, D#<day>, P#…, S#…, PM#…, SM#…  the reports' aggregates, added
//	                             from the stream (reports.go)
//	T#t#WALLET#m / APPLE|GOOGLE|REG#<device>  wallet passes (wallet.go)
//	T#t#GNONCE#<sha256(nonce)> / NONCE  Google Wallet callback seen (TTL)
//	T#t#TILL#<pos> / RECENT      a point of sale's last operations (recentops.go, from the feed)
//	WDEV#<device> / REG#<type>#<serial>  Apple device registration (the device is global)
//	KEY#<sha256(key)> / KEY      API key → tenant, role, staff, point of sale
//	SLUG#<slug> / UNIQ           tenant slug → tenant
//	TENANTS / T#t                tenant directory (billing export)
//	SWEEP / STATE                the sweep's cursor
//	STREAM#<shard> / <consumer>  a stream consumer's checkpoint in one shard
//
// Account and lots share a partition and sort together ("A", "A#LOT#…") so one
// strongly consistent Query reads a member's whole balance state.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTable(context.Context, *dynamodb.UpdateTableInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// Store implements loyalty.Store over one table.
type Store struct {
	db    API
	table string
	// Shards spreads the expiry index over this many partitions per day.
	Shards int
}

var _ loyalty.Store = (*Store)(nil)

// DefaultShards for the expiry index.
const DefaultShards = 4

// New returns a store over table.
func New(db API, table string) *Store {
	return &Store{db: db, table: table, Shards: DefaultShards}
}

// Table is the table name.
func (s *Store) Table() string { return s.table }

// ---- keys ----

func tenantPK(t string) string       { return "T#" + t }
func memberPK(t, m string) string    { return "T#" + t + "#M#" + m }
func orderPK(t, o string) string     { return "T#" + t + "#ORD#" + o }
func phonePK(t, phone string) string { return "T#" + t + "#PHONE#" + phone }
func cardPK(t, card string) string   { return "T#" + t + "#CARD#" + card }
func challengePK(t, c string) string { return "T#" + t + "#OTP#" + c }
func idemPK(t, scope, key string) string {
	if scope != "" { // the service's own keys: a namespace no client key reaches
		return "T#" + t + "#IDEM#" + scope + "#" + sha(key)
	}
	return "T#" + t + "#IDEM#" + sha(key)
}
func keyPK(hash string) string       { return "KEY#" + hash }
func slugPK(slug string) string      { return "SLUG#" + slug }
func lotSK(id string) string         { return skAccount + "#LOT#" + id }
func entrySK(seq int64) string       { return fmt.Sprintf("L#%012d", seq) }
func programSK(p string) string      { return "PROG#" + p }
func rateKey(t, scope string) string { return "T#" + t + "#RATE#" + sha(scope) }
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{layout.HashKey: str(pk), layout.RangeKey: str(sk)}
}

const (
	skAccount   = "A"
	skTenant    = "TENANT"
	skOrder     = "ORDER"
	skUniq      = "UNIQ"
	skChallenge = "OTP"
	skIdem      = "IDEM"
	skKey       = "KEY"
	lotPrefix   = "A#LOT#"
	skStats     = "A#STATS" // activity counters and groups, read with the account
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue  { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }

// ---- index (expiry sweep) ----

// Kinds of work the sweep finds in the index.
const (
	dueExpire = "EXP"  // lot with points, by expiresAt
	dueMature = "MAT"  // pending lot, by availableFrom
	dueHold   = "HOLD" // open order with a hold, by holdExpiresAt
)

const dayLayout = "2006-01-02"

// stamp is a fixed-width UTC timestamp that sorts as text.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// indexKeys places an item in the sweep index: partition kind#day#shard for
// the day it becomes due (today at the earliest, so a lot refilled after its
// expiry is still found), sort key due-time#PK.
func (s *Store) indexKeys(kind string, due, now time.Time, pk, sk string) map[string]types.AttributeValue {
	day := due
	if day.Before(now) {
		day = now
	}
	h := fnv.New32a()
	h.Write([]byte(pk + "|" + sk))
	shard := int(h.Sum32() % uint32(s.shards()))
	return map[string]types.AttributeValue{
		layout.IndexHashKey:  str(fmt.Sprintf("%s#%s#%d", kind, day.UTC().Format(dayLayout), shard)),
		layout.IndexRangeKey: str(stamp(due) + "#" + pk),
	}
}

func (s *Store) shards() int {
	if s.Shards <= 0 {
		return DefaultShards
	}
	return s.Shards
}

// ---- capacity metering (benchmarks) ----

type meterKey struct{}

// Meter counts DynamoDB round trips and consumed capacity of the calls made
// with a context carrying it.
type Meter struct {
	mu         sync.Mutex
	RoundTrips int
	Read       float64
	Write      float64
}

// MeterOf returns the meter a context carries, if any.
func MeterOf(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// WithMeter returns a context whose store calls are counted in m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func track(ctx context.Context, kind capacityKind, ccs ...types.ConsumedCapacity) {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.RoundTrips++
	for _, cc := range ccs {
		// With ReturnConsumedCapacity TOTAL only the total is reported; the
		// call's kind says whether it was read or write capacity.
		units := aws.ToFloat64(cc.CapacityUnits)
		if kind == reads {
			m.Read += units
		} else {
			m.Write += units
		}
	}
}

type capacityKind int

const (
	reads capacityKind = iota
	writes
)

// Snapshot returns the meter's counts.
func (m *Meter) Snapshot() (roundTrips int, read, write float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.RoundTrips, m.Read, m.Write
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

// ---- errors ----

// isConditionFailed reports a failed condition on a single-item write.
func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// ---- table ----

// CreateTable creates the table, its index and its stream (the event feed
// reads it) if they do not exist, and turns on TTL (which only cleans
// challenges, idempotency records and counters).
func (s *Store) CreateTable(ctx context.Context) error {
	if out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table}); err == nil {
		return s.enableStream(ctx, out.Table)
	}
	attr := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	_, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:           &s.table,
		BillingMode:         types.BillingModePayPerRequest,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: streamView},
		AttributeDefinitions: []types.AttributeDefinition{
			attr(layout.HashKey), attr(layout.RangeKey), attr(layout.IndexHashKey), attr(layout.IndexRangeKey),
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(layout.HashKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(layout.RangeKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(layout.IndexName),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(layout.IndexHashKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(layout.IndexRangeKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", s.table, err)
	}
	for i := 0; i < 100; i++ {
		out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The sweep starts from the table's first day: no lot can be due before.
	if err := s.setSweepCursor(ctx, time.Now().UTC().AddDate(0, 0, -sweepOverlap-1)); err != nil {
		return err
	}
	_, err = s.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &s.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(layout.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		// TTL is housekeeping only; some emulators refuse it.
		return nil
	}
	return nil
}
