package store

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// The table's stream carries new and old images. The old image is what
// tells a tier change or a block from any other write of the account (the
// account item is rewritten on every balance change); without it the hot
// path would have to write a marker of its own.
const streamView = types.StreamViewTypeNewAndOldImages

// StreamRecord is one change from the table's stream, in the form both
// readers (the Lambda's event, the local poller's GetRecords) turn theirs
// into.
type StreamRecord struct {
	EventName      string // INSERT, MODIFY or REMOVE
	SequenceNumber string // increasing within a shard
	At             time.Time
	Keys           map[string]types.AttributeValue
	NewImage       map[string]types.AttributeValue
	OldImage       map[string]types.AttributeValue
}

// Stream event names.
const (
	StreamInsert = "INSERT"
	StreamModify = "MODIFY"
)

// StreamARN is the ARN of the table's stream ("" when it has none).
func (s *Store) StreamARN(ctx context.Context) (string, error) {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", s.table, err)
	}
	if out.Table.StreamSpecification == nil || !aws.ToBool(out.Table.StreamSpecification.StreamEnabled) {
		return "", nil
	}
	return aws.ToString(out.Table.LatestStreamArn), nil
}

// enableStream turns the table's stream on where a table made before the
// feed has none.
func (s *Store) enableStream(ctx context.Context, t *types.TableDescription) error {
	if sp := t.StreamSpecification; sp != nil && aws.ToBool(sp.StreamEnabled) {
		return nil
	}
	_, err := s.db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:           &s.table,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: streamView},
	})
	if err != nil {
		return fmt.Errorf("enable the stream of %s: %w", s.table, err)
	}
	return nil
}

// ---- decoding: stream records → feed events ----

// member splits a member partition key T#t#M#m.
func member(pk string) (tenant, member string, ok bool) {
	rest, ok := strings.CutPrefix(pk, "T#")
	if !ok {
		return "", "", false
	}
	tenant, member, ok = strings.Cut(rest, "#M#")
	return tenant, member, ok && tenant != "" && member != ""
}

func keyString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// EventID is an event's id: a hash of what identifies the change, never
// drawn at random, so a record read twice yields the same id. discriminator
// tells apart account changes that keep the seq (a block, a tier set by
// hand): the stream record's sequence number, which a redelivery keeps.
func EventID(tenant, member string, seq int64, typ, discriminator string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%s|%s", tenant, member, seq, typ, discriminator))
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:26])
}

// entryTypes maps each ledger entry kind to its event type.
var entryTypes = map[loyalty.EntryKind]string{
	loyalty.KindWelcome: feed.PointsAccrued, // the welcome bonus is an accrual of kind welcome
	loyalty.KindAccrue:  feed.PointsAccrued,
	loyalty.KindRedeem:  feed.PointsRedeemed,
	loyalty.KindRelease: feed.PointsReleased,
	loyalty.KindCapture: feed.PointsCaptured,
	loyalty.KindRefund:  feed.PointsRefunded,
	loyalty.KindExpire:  feed.PointsExpired,
	loyalty.KindMature:  feed.PointsMatured,
	loyalty.KindAdjust:  feed.PointsAdjusted,
}

// PointsData is the data of a points.* event: one ledger entry.
type PointsData struct {
	Kind loyalty.EntryKind `json:"kind"`
	// Points is the change of available + pending, as the member sees it.
	Points        loyalty.Points   `json:"points"`
	Available     loyalty.Points   `json:"dAvailable"`
	Pending       loyalty.Points   `json:"dPending"`
	Held          loyalty.Points   `json:"dHeld"`
	Balance       *loyalty.Balance `json:"balance,omitempty"` // after the entry
	OrderID       string           `json:"orderId,omitempty"`
	RefundID      string           `json:"refundId,omitempty"`
	PointOfSaleID string           `json:"pointOfSaleId,omitempty"`
	StaffID       string           `json:"staffId,omitempty"`
	Note          string           `json:"note,omitempty"`
}

// MemberData is the data of member.* events: the account as it is after
// the change (the phone is left out: receivers address members by id and
// card).
type MemberData struct {
	CardNumber   string               `json:"cardNumber"`
	ProgramID    string               `json:"programId,omitempty"`
	Status       loyalty.MemberStatus `json:"status"`
	Tier         string               `json:"tier,omitempty"`
	PreviousTier *string              `json:"previousTier,omitempty"` // member.tier_changed
	// Referral of member.referral_qualified: the referrer and the order.
	Referral *loyalty.ReferralState `json:"referral,omitempty"`
	Balance  loyalty.Balance        `json:"balance"`
}

// DecodeEvents turns stream records into feed events: a new ledger entry
// into points.*, a new account into member.enrolled, an account whose
// status or tier changed into member.blocked/unblocked/tier_changed.
// Anything else (orders, lots, counters, items this package does not know)
// is no event. A record that does not decode is skipped and reported in
// errs: one bad item must not stall the stream.
func DecodeEvents(recs []StreamRecord) (events []feed.Event, errs []error) {
	for _, r := range recs {
		evs, err := decodeRecord(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream record %s: %w", r.SequenceNumber, err))
			continue
		}
		events = append(events, evs...)
	}
	OrderByMember(events)
	return events, errs
}

func decodeRecord(r StreamRecord) ([]feed.Event, error) {
	if r.EventName != StreamInsert && r.EventName != StreamModify {
		return nil, nil
	}
	keys := r.Keys
	if keys == nil {
		keys = r.NewImage
	}
	tenant, memberID, ok := member(keyString(keys, layout.HashKey))
	if !ok {
		return nil, nil
	}
	sk := keyString(keys, layout.RangeKey)
	switch {
	case strings.HasPrefix(sk, "L#") && r.EventName == StreamInsert:
		var e loyalty.Entry
		if err := unmarshal(r.NewImage, &e); err != nil {
			return nil, err
		}
		typ, known := entryTypes[e.Kind]
		if !known {
			return nil, nil
		}
		data, err := json.Marshal(PointsData{Kind: e.Kind, Points: e.Amount, Available: e.Available, Pending: e.Pending, Held: e.Held,
			Balance: e.After, OrderID: e.OrderID, RefundID: e.RefundID, PointOfSaleID: e.PointOfSale, StaffID: e.StaffID, Note: e.Note})
		if err != nil {
			return nil, err
		}
		return []feed.Event{{ID: EventID(tenant, memberID, e.Seq, typ, ""), Type: typ, TenantID: tenant, MemberID: memberID,
			Seq: e.Seq, OccurredAt: e.At.UTC(), Data: data}}, nil
	case sk == skAccount:
		return decodeAccount(r, tenant, memberID)
	}
	return nil, nil
}

func decodeAccount(r StreamRecord, tenant, memberID string) ([]feed.Event, error) {
	var now loyalty.Account
	if err := unmarshal(r.NewImage, &now); err != nil {
		return nil, err
	}
	d := MemberData{CardNumber: now.Card, ProgramID: now.ProgramID, Status: now.Status, Tier: heldTier(&now), Balance: now.Balance()}
	ev := func(typ string, seq int64, at time.Time, disc string, data MemberData) (feed.Event, error) {
		b, err := json.Marshal(data)
		return feed.Event{ID: EventID(tenant, memberID, seq, typ, disc), Type: typ, TenantID: tenant, MemberID: memberID,
			Seq: seq, OccurredAt: at.UTC(), Data: b}, err
	}
	if r.EventName == StreamInsert {
		// Enrolled before any entry: seq 0, so it sorts before the
		// welcome bonus of the same commit.
		e, err := ev(feed.MemberEnrolled, 0, now.CreatedAt, "", d)
		return []feed.Event{e}, err
	}
	if r.OldImage == nil {
		return nil, nil // a stream without old images cannot tell changes
	}
	var was loyalty.Account
	if err := unmarshal(r.OldImage, &was); err != nil {
		return nil, err
	}
	var out []feed.Event
	if was.Status != now.Status {
		typ := feed.MemberUnblocked
		if now.Status == loyalty.MemberBlocked {
			typ = feed.MemberBlocked
		}
		e, err := ev(typ, now.Seq, r.At, r.SequenceNumber, d)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if qualified(&now) && !qualified(&was) {
		rd := d
		rd.Referral = now.Referral
		e, err := ev(feed.MemberReferralQualified, now.Seq, r.At, r.SequenceNumber, rd)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if heldTier(&was) != heldTier(&now) {
		td := d
		prev := heldTier(&was)
		td.PreviousTier = &prev
		e, err := ev(feed.MemberTierChanged, now.Seq, r.At, r.SequenceNumber, td)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// qualified: the account's referral waits for its reward.
func qualified(a *loyalty.Account) bool {
	return a.Referral != nil && a.Referral.Status == loyalty.ReferralQualified
}

// heldTier is the tier an account item says the member holds: one set by
// hand, else the one activity earned as of the item's write. A demotion by
// inactivity writes nothing (reads compute it), so it becomes an event with
// the member's next write.
func heldTier(a *loyalty.Account) string {
	if a.TierOverride != "" {
		return a.TierOverride
	}
	return a.Tier
}

// OrderByMember sorts events so that each member's come in seq order, the
// ledger's events of a seq before the account changes of the same commit,
// while members keep the order in which they first appear.
func OrderByMember(events []feed.Event) {
	first := map[string]int{}
	for i, e := range events {
		k := e.TenantID + "|" + e.MemberID
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	rank := func(e feed.Event) int {
		if strings.HasPrefix(e.Type, "points.") {
			return 0
		}
		return 1
	}
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		fa, fb := first[a.TenantID+"|"+a.MemberID], first[b.TenantID+"|"+b.MemberID]
		if fa != fb {
			return fa < fb
		}
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return rank(a) < rank(b)
	})
}

// ---- checkpoints ----

// A stream consumer's position in one shard: STREAM#<shard> / <consumer>.
func checkpointKey(shardID, consumer string) map[string]types.AttributeValue {
	return key(checkpointPrefix+shardID, consumer)
}

const checkpointPrefix = "STREAM#"

// IsCheckpoint reports whether a record is the write of a stream checkpoint.
func IsCheckpoint(r StreamRecord) bool {
	keys := r.Keys
	if keys == nil {
		keys = r.NewImage
	}
	return strings.HasPrefix(keyString(keys, layout.HashKey), checkpointPrefix)
}

// Consumers keeping a checkpoint per shard.
const (
	ConsumerReader = "READER" // the local poller: where to resume
	ConsumerUsage  = "USAGE"  // the usage counter: what it has counted
)

// Checkpoint is a consumer's position in a shard.
type Checkpoint struct {
	Seq  string `json:"seq,omitempty"`  // last sequence number done; "" none
	Done bool   `json:"done,omitempty"` // the shard is closed and read to its end
}

// GetCheckpoint reads a consumer's position in a shard (strongly consistent).
func (s *Store) GetCheckpoint(ctx context.Context, shardID, consumer string) (Checkpoint, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: checkpointKey(shardID, consumer), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint %s/%s: %w", shardID, consumer, err)
	}
	var c Checkpoint
	if out.Item != nil {
		if err := unmarshal(out.Item, &c); err != nil {
			return Checkpoint{}, err
		}
	}
	return c, nil
}

// ErrCheckpointMoved: another reader moved the checkpoint since it was read.
var ErrCheckpointMoved = errors.New("the stream checkpoint moved")

// checkpointUpdate moves a checkpoint from prev to next, conditioned on it
// still being prev, so two readers of a shard never both count a record.
func checkpointUpdate(shardID, consumer string, prev, next Checkpoint) *types.Update {
	u := &types.Update{
		Key:                       checkpointKey(shardID, consumer),
		UpdateExpression:          strp("SET seq = :next, done = :done"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":next": str(next.Seq), ":done": &types.AttributeValueMemberBOOL{Value: next.Done}},
	}
	if prev.Seq == "" && !prev.Done {
		u.ConditionExpression = strp("attribute_not_exists(seq) OR seq = :empty")
		u.ExpressionAttributeValues[":empty"] = str("")
	} else {
		u.ConditionExpression = strp("seq = :prev")
		u.ExpressionAttributeValues[":prev"] = str(prev.Seq)
	}
	return u
}

// SetCheckpoint moves a consumer's checkpoint from prev to next; a reader
// that lost the race gets ErrCheckpointMoved.
func (s *Store) SetCheckpoint(ctx context.Context, shardID, consumer string, prev, next Checkpoint) error {
	t := &txn{table: s.table}
	t.update(checkpointUpdate(shardID, consumer, prev, next), ErrCheckpointMoved)
	return s.run(ctx, t)
}

// SeqAfter reports whether stream sequence number a comes after b. They are
// decimal strings of up to 40 digits, compared as numbers ("" is before all).
func SeqAfter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
