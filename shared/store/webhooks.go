package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/webhooks"
)

// Webhook items (see shared/webhooks):
//
//	T#t#WH / EP#<id>                       endpoint (secrets sealed)
//	T#t#WH / COUNT                         number of endpoints (the limit)
//	T#t#WHQ#<ep>#<member> / <seq 19>#<occurredAt>#<event>
//	                                       a delivery waiting in its lane; in the
//	                                       index (WHDUE#<shard>, nextAt#PK) for
//	                                       reconciliation
//	T#t#WHE#<ep>#<event> / EV              an (endpoint, event) ever queued: what
//	                                       makes queueing idempotent (TTL 35 days)
//	T#t#WHL#<ep> / <at>#<event>#<attempt>  delivery log (TTL 30 days)
//	T#t#WHD#<ep> / <event>                 dead letter
var _ webhooks.Store = (*Store)(nil)

const (
	skEndpointPrefix = "EP#"
	skWebhookCount   = "COUNT"
	skEventMark      = "EV"
	dueShards        = 4
	// markTTL outlives any stream redelivery (a stream keeps records 24 h).
	markTTL = 35 * 24 * time.Hour
	logTTL  = 30 * 24 * time.Hour
)

func webhooksPK(t string) string { return "T#" + t + "#WH" }
func lanePK(l webhooks.Lane) string {
	return "T#" + l.TenantID + "#WHQ#" + l.EndpointID + "#" + l.Member
}
func markPK(t, ep, event string) string { return "T#" + t + "#WHE#" + ep + "#" + event }
func attemptLogPK(t, ep string) string  { return "T#" + t + "#WHL#" + ep }
func deadLetterPK(t, ep string) string  { return "T#" + t + "#WHD#" + ep }
func endpointSK(id string) string       { return skEndpointPrefix + id }
func laneSK(seq int64, at time.Time, event string) string {
	return fmt.Sprintf("%019d#%s#%s", seq, stamp(at), event)
}

// laneOfPK reads a lane back from its partition key.
func laneOfPK(pk string) (webhooks.Lane, bool) {
	rest, ok := strings.CutPrefix(pk, "T#")
	if !ok {
		return webhooks.Lane{}, false
	}
	t, rest, ok := strings.Cut(rest, "#WHQ#")
	if !ok {
		return webhooks.Lane{}, false
	}
	ep, member, ok := strings.Cut(rest, "#")
	return webhooks.Lane{TenantID: t, EndpointID: ep, Member: member}, ok
}

func dueKeys(pk string, next time.Time) map[string]types.AttributeValue {
	h := fnv.New32a()
	h.Write([]byte(pk))
	return map[string]types.AttributeValue{
		layout.IndexHashKey:  str(fmt.Sprintf("WHDUE#%d", h.Sum32()%dueShards)),
		layout.IndexRangeKey: str(stamp(next) + "#" + pk),
	}
}

// ---- endpoints ----

// CreateEndpoint adds ep within max endpoints of its tenant.
func (s *Store) CreateEndpoint(ctx context.Context, ep *webhooks.Endpoint, max int, idem *loyalty.IdemRecord) error {
	t := &txn{table: s.table}
	t.update(&types.Update{
		Key:                       key(webhooksPK(ep.TenantID), skWebhookCount),
		UpdateExpression:          strp("ADD n :one"),
		ConditionExpression:       strp("attribute_not_exists(n) OR n < :max"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(int64(max))},
	}, webhooks.ErrTooMany)
	item, err := marshal(ep, webhooksPK(ep.TenantID), endpointSK(ep.ID))
	if err != nil {
		return err
	}
	t.put(putNew(item), loyalty.ErrConflict)
	if idem != nil {
		p, err := idemPut(ep.TenantID, idem, nil)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrIdempotencyRace)
	}
	return s.run(ctx, t)
}

// GetEndpoint reads one endpoint; nil when absent.
func (s *Store) GetEndpoint(ctx context.Context, tenantID, id string) (*webhooks.Endpoint, error) {
	var ep webhooks.Endpoint
	if err := s.getInto(ctx, webhooksPK(tenantID), endpointSK(id), &ep, errNoItem); err != nil {
		if errors.Is(err, errNoItem) {
			return nil, nil
		}
		return nil, err
	}
	return &ep, nil
}

var errNoItem = errors.New("no item")

// ListEndpoints reads a tenant's endpoints.
func (s *Store) ListEndpoints(ctx context.Context, tenantID string) ([]webhooks.Endpoint, error) {
	items, err := s.queryPrefix(ctx, webhooksPK(tenantID), skEndpointPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]webhooks.Endpoint, 0, len(items))
	for _, it := range items {
		var ep webhooks.Endpoint
		if err := unmarshal(it, &ep); err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	return out, nil
}

// DeleteEndpoint removes an endpoint and frees its place in the limit.
func (s *Store) DeleteEndpoint(ctx context.Context, tenantID, id string) error {
	t := &txn{table: s.table}
	t.del(&types.Delete{Key: key(webhooksPK(tenantID), endpointSK(id)), ConditionExpression: strp("attribute_exists(PK)")}, webhooks.ErrNotFound)
	t.update(&types.Update{
		Key:                       key(webhooksPK(tenantID), skWebhookCount),
		UpdateExpression:          strp("ADD n :minus"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1)},
	}, loyalty.ErrConflict)
	return s.run(ctx, t)
}

// SaveSecrets writes ep (its new secrets) over the version read.
func (s *Store) SaveSecrets(ctx context.Context, ep *webhooks.Endpoint, prevVersion int64, idem *loyalty.IdemRecord) error {
	t := &txn{table: s.table}
	item, err := marshal(ep, webhooksPK(ep.TenantID), endpointSK(ep.ID))
	if err != nil {
		return err
	}
	t.put(putIf(item, "version", prevVersion), loyalty.ErrConflict)
	if idem != nil {
		p, err := idemPut(ep.TenantID, idem, nil)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrIdempotencyRace)
	}
	return s.run(ctx, t)
}

func (s *Store) updateEndpoint(ctx context.Context, tenantID, id string, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	in.TableName = &s.table
	in.Key = key(webhooksPK(tenantID), endpointSK(id))
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		track(ctx, writes)
		return nil, err
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return out, nil
}

// MarkFailing records the start of a run of failures (kept when set).
func (s *Store) MarkFailing(ctx context.Context, tenantID, id string, now time.Time) (time.Time, error) {
	out, err := s.updateEndpoint(ctx, tenantID, id, &dynamodb.UpdateItemInput{
		UpdateExpression:          strp("SET failingSince = if_not_exists(failingSince, :now)"),
		ConditionExpression:       strp("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(now.UTC().Format(time.RFC3339Nano))},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return now, nil // deleted meanwhile
	}
	if err != nil {
		return now, err
	}
	v, ok := out.Attributes["failingSince"].(*types.AttributeValueMemberS)
	if !ok {
		return now, nil
	}
	since, err := time.Parse(time.RFC3339Nano, v.Value)
	if err != nil {
		return now, nil
	}
	return since, nil
}

// ClearFailing ends a run of failures.
func (s *Store) ClearFailing(ctx context.Context, tenantID, id string) error {
	_, err := s.updateEndpoint(ctx, tenantID, id, &dynamodb.UpdateItemInput{
		UpdateExpression:    strp("REMOVE failingSince"),
		ConditionExpression: strp("attribute_exists(PK)"),
	})
	if isConditionFailed(err) {
		return nil
	}
	return err
}

// Disable turns an endpoint off; false when it already was (or is gone).
func (s *Store) Disable(ctx context.Context, tenantID, id, reason string, at time.Time) (bool, error) {
	_, err := s.updateEndpoint(ctx, tenantID, id, &dynamodb.UpdateItemInput{
		UpdateExpression:          strp("SET disabled = :t, disabledReason = :r, disabledAt = :at ADD version :one"),
		ConditionExpression:       strp("attribute_exists(PK) AND disabled = :f"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":f": &types.AttributeValueMemberBOOL{Value: false}, ":r": str(reason), ":at": str(at.UTC().Format(time.RFC3339Nano)), ":one": num(1)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// Enable switches an endpoint on again.
func (s *Store) Enable(ctx context.Context, tenantID, id string) error {
	_, err := s.updateEndpoint(ctx, tenantID, id, &dynamodb.UpdateItemInput{
		UpdateExpression:          strp("SET disabled = :f ADD version :one REMOVE disabledReason, disabledAt, failingSince"),
		ConditionExpression:       strp("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}, ":one": num(1)},
	})
	if isConditionFailed(err) {
		return webhooks.ErrNotFound
	}
	return err
}

// PutIdem stores an idempotency record on its own (a request whose effect
// is outside the table: a test send).
func (s *Store) PutIdem(ctx context.Context, tenantID string, rec *loyalty.IdemRecord) error {
	p, err := idemPut(tenantID, rec, nil)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: p.Item, ConditionExpression: p.ConditionExpression})
	if isConditionFailed(err) {
		return loyalty.ErrIdempotencyRace
	}
	return err
}

// ---- deliveries ----

// laneItem is a delivery as stored, with numeric copies of its times for
// conditions (RFC 3339 text does not compare in time order).
func laneItem(d *webhooks.Delivery) (map[string]types.AttributeValue, error) {
	pk := lanePK(d.Lane)
	item, err := marshal(d, pk, laneSK(d.Seq, d.OccurredAt, d.EventID))
	if err != nil {
		return nil, err
	}
	merge(item, dueKeys(pk, d.NextAt))
	return item, nil
}

var errAlreadyQueued = errors.New("already queued")

// Enqueue puts d in its lane unless (endpoint, event) was ever queued.
func (s *Store) Enqueue(ctx context.Context, d *webhooks.Delivery) (bool, error) {
	t := &txn{table: s.table}
	mark := map[string]types.AttributeValue{layout.HashKey: str(markPK(d.TenantID, d.EndpointID, d.EventID)), layout.RangeKey: str(skEventMark), "state": str("queued")}
	withTTL(mark, d.CreatedAt.Add(markTTL))
	t.put(putNew(mark), errAlreadyQueued)
	item, err := laneItem(d)
	if err != nil {
		return false, err
	}
	t.put(putNew(item), errAlreadyQueued)
	err = s.run(ctx, t)
	if errors.Is(err, errAlreadyQueued) {
		return false, nil
	}
	return err == nil, err
}

// LaneHead reads the first delivery of a lane.
func (s *Store) LaneHead(ctx context.Context, l webhooks.Lane) (*webhooks.Delivery, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(lanePK(l))},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(1),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, reads)
		return nil, fmt.Errorf("query lane: %w", err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	if len(out.Items) == 0 {
		return nil, nil
	}
	var d webhooks.Delivery
	if err := unmarshal(out.Items[0], &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func laneKey(d *webhooks.Delivery) map[string]types.AttributeValue {
	return key(lanePK(d.Lane), laneSK(d.Seq, d.OccurredAt, d.EventID))
}

// Claim takes d's next attempt for owner.
func (s *Store) Claim(ctx context.Context, d *webhooks.Delivery, owner string, now, leaseUntil time.Time) (bool, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 laneKey(d),
		UpdateExpression:    strp("SET attempts = :next, leaseOwner = :o, leaseUntil = :lu, leaseMs = :lms"),
		ConditionExpression: strp("attribute_exists(PK) AND attempts = :n AND (attribute_not_exists(leaseMs) OR leaseMs < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": num(int64(d.Attempts)), ":next": num(int64(d.Attempts + 1)), ":o": str(owner),
			":lu": str(leaseUntil.UTC().Format(time.RFC3339Nano)), ":lms": num(leaseUntil.UnixMilli()), ":now": num(now.UnixMilli()),
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return false, nil
		}
		return false, fmt.Errorf("claim delivery: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return true, nil
}

func attemptPut(t, ep string, a *webhooks.Attempt) (*types.Put, error) {
	item, err := marshal(a, attemptLogPK(t, ep), fmt.Sprintf("%s#%s#%02d", stamp(a.At), a.EventID, a.Attempt))
	if err != nil {
		return nil, err
	}
	withTTL(item, a.At.Add(logTTL))
	return &types.Put{Item: item}, nil
}

// deadItem is a dead letter as stored: with its body and lane, to requeue it.
type deadItem struct {
	webhooks.DeadLetter
	Member  string `json:"member"`
	Payload []byte `json:"payload"`
}

// Finish writes the outcome of owner's claimed attempt of d.
func (s *Store) Finish(ctx context.Context, d *webhooks.Delivery, owner string, o webhooks.Outcome) error {
	t := &txn{table: s.table}
	cond := strp("leaseOwner = :o AND attempts = :n")
	vals := map[string]types.AttributeValue{":o": str(owner), ":n": num(int64(d.Attempts))}
	setMark := func(state string) {
		t.update(&types.Update{
			Key:                       key(markPK(d.TenantID, d.EndpointID, d.EventID), skEventMark),
			UpdateExpression:          strp("SET #s = :s"),
			ExpressionAttributeNames:  map[string]string{"#s": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(state)},
		}, loyalty.ErrConflict)
	}
	switch {
	case o.Dropped:
		t.del(&types.Delete{Key: laneKey(d), ConditionExpression: cond, ExpressionAttributeValues: vals}, loyalty.ErrConflict)
		setMark("dropped")
	case o.Delivered || o.Dead != "":
		t.del(&types.Delete{Key: laneKey(d), ConditionExpression: cond, ExpressionAttributeValues: vals}, loyalty.ErrConflict)
		if o.Delivered {
			setMark(webhooks.StatusDelivered)
		} else {
			setMark(webhooks.StatusDead)
			member := d.Member
			dl := deadItem{DeadLetter: webhooks.DeadLetter{EventID: d.EventID, Type: d.Type, Seq: d.Seq, OccurredAt: d.OccurredAt,
				Attempts: d.Attempts, Reason: o.Dead, DeadAt: time.Now().UTC()}, Member: member, Payload: d.Body}
			if o.Attempt != nil {
				dl.DeadAt = o.Attempt.At
			} else {
				dl.Attempts-- // claimed, but no request was made
			}
			if member != "-" {
				dl.MemberID = member
			}
			item, err := marshal(dl, deadLetterPK(d.TenantID, d.EndpointID), d.EventID)
			if err != nil {
				return err
			}
			t.put(&types.Put{Item: item}, loyalty.ErrConflict)
		}
	default:
		pk := lanePK(d.Lane)
		due := dueKeys(pk, o.NextAt)
		vals[":next"] = str(o.NextAt.UTC().Format(time.RFC3339Nano))
		vals[":g"] = due[layout.IndexRangeKey]
		vals[":err"] = str("")
		if o.Attempt != nil {
			vals[":err"] = str(o.Attempt.Error)
		}
		t.update(&types.Update{
			Key:                       laneKey(d),
			UpdateExpression:          strp("SET nextAt = :next, GSI1SK = :g, lastError = :err REMOVE leaseOwner, leaseUntil, leaseMs"),
			ConditionExpression:       cond,
			ExpressionAttributeValues: vals,
		}, loyalty.ErrConflict)
	}
	if o.Attempt != nil {
		p, err := attemptPut(d.TenantID, d.EndpointID, o.Attempt)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrConflict)
	}
	return s.run(ctx, t)
}

// LogAttempt adds a line to an endpoint's delivery log.
func (s *Store) LogAttempt(ctx context.Context, tenantID, endpointID string, a webhooks.Attempt) error {
	p, err := attemptPut(tenantID, endpointID, &a)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: p.Item})
	return err
}

// DueLanes lists the lanes with a delivery due before t.
func (s *Store) DueLanes(ctx context.Context, before time.Time, limit int) ([]webhooks.Lane, error) {
	seen := map[webhooks.Lane]bool{}
	var out []webhooks.Lane
	for shard := 0; shard < dueShards; shard++ {
		items, err := s.queryAll(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(layout.IndexName),
			KeyConditionExpression:    strp("#h = :h AND #r < :b"),
			ExpressionAttributeNames:  map[string]string{"#h": layout.IndexHashKey, "#r": layout.IndexRangeKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(fmt.Sprintf("WHDUE#%d", shard)), ":b": str(stamp(before))},
		})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			pk, _ := it[layout.HashKey].(*types.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			if l, ok := laneOfPK(pk.Value); ok && !seen[l] {
				seen[l] = true
				out = append(out, l)
				if len(out) >= limit {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

// page reads one page of a partition; cursor is the last sort key read.
func (s *Store) page(ctx context.Context, pk string, forward bool, limit int, cursor string) ([]map[string]types.AttributeValue, string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ScanIndexForward:          aws.Bool(forward),
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	}
	if cursor != "" {
		sk, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(sk) == 0 || !utf8.Valid(sk) {
			return nil, "", loyalty.Invalid("cursor", "not a cursor this API gave")
		}
		in.ExclusiveStartKey = key(pk, string(sk))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		track(ctx, reads)
		return nil, "", fmt.Errorf("query: %w", err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	next := ""
	if sk, ok := out.LastEvaluatedKey[layout.RangeKey].(*types.AttributeValueMemberS); ok {
		next = base64.RawURLEncoding.EncodeToString([]byte(sk.Value))
	}
	return out.Items, next, nil
}

// Attempts pages through the delivery log, newest first.
func (s *Store) Attempts(ctx context.Context, tenantID, endpointID string, limit int, cursor string) ([]webhooks.Attempt, string, error) {
	items, next, err := s.page(ctx, attemptLogPK(tenantID, endpointID), false, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out := make([]webhooks.Attempt, 0, len(items))
	for _, it := range items {
		var a webhooks.Attempt
		if err := unmarshal(it, &a); err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	return out, next, nil
}

// DeadLetters pages through an endpoint's dead letters.
func (s *Store) DeadLetters(ctx context.Context, tenantID, endpointID string, limit int, cursor string) ([]webhooks.DeadLetter, string, error) {
	items, next, err := s.page(ctx, deadLetterPK(tenantID, endpointID), true, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out := make([]webhooks.DeadLetter, 0, len(items))
	for _, it := range items {
		var d deadItem
		if err := unmarshal(it, &d); err != nil {
			return nil, "", err
		}
		out = append(out, d.DeadLetter)
	}
	return out, next, nil
}

// Requeue moves a dead letter back into its lane.
func (s *Store) Requeue(ctx context.Context, d *webhooks.Delivery, idem *loyalty.IdemRecord) error {
	var dl deadItem
	if err := s.getInto(ctx, deadLetterPK(d.TenantID, d.EndpointID), d.EventID, &dl, webhooks.ErrDeadLetterNotFound); err != nil {
		return err
	}
	d.Member, d.Type, d.Seq, d.OccurredAt, d.Body, d.Attempts = dl.Member, dl.Type, dl.Seq, dl.OccurredAt, dl.Payload, 0
	t := &txn{table: s.table}
	t.del(&types.Delete{Key: key(deadLetterPK(d.TenantID, d.EndpointID), d.EventID), ConditionExpression: strp("attribute_exists(PK)")}, webhooks.ErrDeadLetterNotFound)
	item, err := laneItem(d)
	if err != nil {
		return err
	}
	t.put(putNew(item), loyalty.ErrConflict)
	t.update(&types.Update{
		Key:                       key(markPK(d.TenantID, d.EndpointID, d.EventID), skEventMark),
		UpdateExpression:          strp("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str("queued")},
	}, loyalty.ErrConflict)
	if idem != nil {
		p, err := idemPut(d.TenantID, idem, nil)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrIdempotencyRace)
	}
	return s.run(ctx, t)
}
