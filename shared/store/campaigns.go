package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/campaigns"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Campaign items:
//
//	T#t#CAMP#c / CAMPAIGN   the campaign, its counts, cursor and lease; while
//	                        it has work left it is in the index partition
//	                        CAMPDUE, sorted by when it is due next
//	T#t#CAMP#c / R#m        one member's record: claimed, sent, failed, ...
//	T#t#SEGIX#<name>#<v> / M#m  segment index entries (birth month, group)
const (
	skCampaign     = "CAMPAIGN"
	campaignDuePK  = "CAMPDUE"
	recipientSKPre = "R#"
	segIndexSKPre  = "M#"
)

func campaignPK(t, c string) string       { return "T#" + t + "#CAMP#" + c }
func segIndexPK(t, name, v string) string { return "T#" + t + "#SEGIX#" + name + "#" + v }

// campaignItem is a campaign with the worker's progress.
type campaignItem struct {
	campaigns.Campaign
	DueAt      string `json:"dueAt,omitempty"` // stamp; when a worker should take it next
	Cursor     string `json:"cursor,omitempty"`
	LeaseOwner string `json:"leaseOwner,omitempty"`
	LeaseUntil string `json:"leaseUntil,omitempty"` // stamp
}

func dueSK(at time.Time, t, c string) string { return stamp(at) + "#" + t + "#" + c }

// CreateCampaign writes a new campaign into the due index at its send time.
func (s *Store) CreateCampaign(ctx context.Context, c *campaigns.Campaign) error {
	item, err := marshal(campaignItem{Campaign: *c, DueAt: stamp(c.SendAt)}, campaignPK(c.TenantID, c.ID), skCampaign)
	if err != nil {
		return err
	}
	item[layout.IndexHashKey] = str(campaignDuePK)
	item[layout.IndexRangeKey] = str(dueSK(c.SendAt, c.TenantID, c.ID))
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: strp("attribute_not_exists(PK)"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		track(ctx, writes)
		return fmt.Errorf("create campaign: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

func (s *Store) getCampaign(ctx context.Context, tenantID, id string) (*campaignItem, error) {
	var it campaignItem
	if err := s.getInto(ctx, campaignPK(tenantID, id), skCampaign, &it, &loyalty.Error{Code: loyalty.CodeCampaignNotFound, Message: "campaign not found"}); err != nil {
		return nil, err
	}
	it.TenantID = tenantID
	return &it, nil
}

// GetCampaign reads a campaign and its counts.
func (s *Store) GetCampaign(ctx context.Context, tenantID, id string) (*campaigns.Campaign, error) {
	it, err := s.getCampaign(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return &it.Campaign, nil
}

// LeaseCampaign takes a due campaign for owner until `until`. While leased
// the campaign's index entry sorts at the lease's end, so a worker that dies
// leaves it due again then.
func (s *Store) LeaseCampaign(ctx context.Context, tenantID, id, owner string, now, until time.Time) (*campaigns.Campaign, string, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              key(campaignPK(tenantID, id), skCampaign),
		UpdateExpression: strp("SET leaseOwner = :o, leaseUntil = :u, #st = :sending, #gsk = :gsk"),
		ConditionExpression: strp("attribute_exists(PK) AND (#st = :sched OR #st = :sending) AND dueAt <= :now AND " +
			"(attribute_not_exists(leaseUntil) OR leaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#st": "status", "#gsk": layout.IndexRangeKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":o": str(owner), ":u": str(stamp(until)), ":now": str(stamp(now)), ":gsk": str(dueSK(until, tenantID, id)),
			":sched": str(campaigns.StatusScheduled), ":sending": str(campaigns.StatusSending),
		},
		ReturnValues:           types.ReturnValueAllNew,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return nil, "", campaigns.ErrNotLeased
		}
		return nil, "", fmt.Errorf("lease campaign: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	var it campaignItem
	if err := unmarshal(out.Attributes, &it); err != nil {
		return nil, "", err
	}
	it.TenantID = tenantID
	return &it.Campaign, it.Cursor, nil
}

// SaveCursor records progress and extends owner's lease.
func (s *Store) SaveCursor(ctx context.Context, tenantID, id, owner, cursor string, until time.Time) error {
	return s.updateLeased(ctx, tenantID, id, owner, "SET #cur = :c, leaseUntil = :u, #gsk = :gsk",
		map[string]string{"#cur": "cursor", "#gsk": layout.IndexRangeKey},
		map[string]types.AttributeValue{":c": str(cursor), ":u": str(stamp(until)), ":gsk": str(dueSK(until, tenantID, id))})
}

// ReleaseCampaign ends owner's lease: done or halted leave the due index;
// sending stays in it, due at resumeAt.
func (s *Store) ReleaseCampaign(ctx context.Context, tenantID, id, owner, status, reason string, resumeAt, now time.Time) error {
	names := map[string]string{"#st": "status", "#gpk": layout.IndexHashKey, "#gsk": layout.IndexRangeKey}
	vals := map[string]types.AttributeValue{":st": str(status)}
	var expr string
	if status == campaigns.StatusSending {
		expr = "SET #st = :st, dueAt = :due, #gsk = :gsk REMOVE leaseOwner, leaseUntil"
		delete(names, "#gpk")
		vals[":due"], vals[":gsk"] = str(stamp(resumeAt)), str(dueSK(resumeAt, tenantID, id))
	} else {
		expr = "SET #st = :st, finishedAt = :fin, haltReason = :r REMOVE leaseOwner, leaseUntil, #gpk, #gsk"
		vals[":fin"], vals[":r"] = str(now.UTC().Format(time.RFC3339Nano)), str(reason)
	}
	return s.updateLeased(ctx, tenantID, id, owner, expr, names, vals)
}

func (s *Store) updateLeased(ctx context.Context, tenantID, id, owner, expr string, names map[string]string, vals map[string]types.AttributeValue) error {
	vals[":owner"] = str(owner)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(campaignPK(tenantID, id), skCampaign),
		UpdateExpression: &expr, ConditionExpression: strp("leaseOwner = :owner"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return fmt.Errorf("campaign %s: lease lost: %w", id, campaigns.ErrNotLeased)
		}
		return fmt.Errorf("update campaign: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

// errRecordExists marks the failed condition of a recipient record.
var errRecordExists = errors.New("recipient record exists")

type recipientItem struct {
	MemberID string    `json:"memberId"`
	State    string    `json:"state"`
	At       time.Time `json:"at"`
}

// ClaimRecipient writes a member's record (absent before) with the campaign's counts
// and the message's meter in one transaction, conditioned on the lease.
func (s *Store) ClaimRecipient(ctx context.Context, tenantID, id, owner, memberID, state string, meter *loyalty.Meter, at time.Time) (bool, string, error) {
	t := &txn{table: s.table}
	pk := campaignPK(tenantID, id)
	rec, err := marshal(recipientItem{MemberID: memberID, State: state, At: at.UTC()}, pk, recipientSKPre+memberID)
	if err != nil {
		return false, "", err
	}
	t.put(putNew(rec), errRecordExists)
	expr := "ADD #c.targeted :one"
	names := map[string]string{"#c": "counts"}
	if state != campaigns.RecClaimed {
		expr += ", #c.#s :one"
		names["#s"] = state
	}
	t.update(&types.Update{
		Key: key(pk, skCampaign), UpdateExpression: &expr, ConditionExpression: strp("leaseOwner = :o"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":o": str(owner)},
	}, fmt.Errorf("campaign %s: lease lost: %w", id, campaigns.ErrNotLeased))
	if meter != nil {
		if err := meterWrites(t, tenantID, meter, nil, at); err != nil {
			return false, "", err
		}
	}
	err = s.run(ctx, t)
	if errors.Is(err, errRecordExists) {
		var r recipientItem
		if err := s.getInto(ctx, pk, recipientSKPre+memberID, &r, nil); err != nil {
			return false, "", err
		}
		return false, r.State, nil
	}
	if err != nil {
		return false, "", err
	}
	return true, "", nil
}

// SettleRecipient moves a claimed record to its outcome and counts it; a record
// already settled changes nothing.
func (s *Store) SettleRecipient(ctx context.Context, tenantID, id, memberID, state string, at time.Time) error {
	t := &txn{table: s.table}
	pk := campaignPK(tenantID, id)
	t.update(&types.Update{
		Key: key(pk, recipientSKPre+memberID), UpdateExpression: strp("SET #s = :s, #at = :at"),
		ConditionExpression:       strp("#s = :claimed"),
		ExpressionAttributeNames:  map[string]string{"#s": "state", "#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(state), ":claimed": str(campaigns.RecClaimed), ":at": str(at.UTC().Format(time.RFC3339Nano))},
	}, errRecordExists)
	t.update(&types.Update{
		Key: key(pk, skCampaign), UpdateExpression: strp("ADD #c.#s :one"),
		ExpressionAttributeNames:  map[string]string{"#c": "counts", "#s": state},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
	}, nil)
	if err := s.run(ctx, t); err != nil && !errors.Is(err, errRecordExists) {
		return err
	}
	return nil
}

// DueCampaigns reads the due index up to now: its cost follows the
// campaigns with work left, not the tenants or members.
func (s *Store) DueCampaigns(ctx context.Context, now time.Time, limit int) ([]campaigns.Ref, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(layout.IndexName),
		KeyConditionExpression:   strp("#pk = :pk AND #sk <= :now"),
		ExpressionAttributeNames: map[string]string{"#pk": layout.IndexHashKey, "#sk": layout.IndexRangeKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(campaignDuePK), ":now": str(stamp(now) + "#~"),
		},
		Limit:                  aws.Int32(int32(limit)),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, reads)
		return nil, fmt.Errorf("due campaigns: %w", err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	refs := make([]campaigns.Ref, 0, len(out.Items))
	for _, it := range out.Items {
		sk, ok := it[layout.IndexRangeKey].(*types.AttributeValueMemberS)
		if !ok {
			continue
		}
		parts := strings.Split(sk.Value, "#")
		if len(parts) != 3 {
			continue
		}
		refs = append(refs, campaigns.Ref{TenantID: parts[1], CampaignID: parts[2]})
	}
	return refs, nil
}

// Candidates pages the member ids of a segment source after `after`.
func (s *Store) Candidates(ctx context.Context, tenantID, source, value, after string, limit int) ([]string, error) {
	if source == campaigns.SourceDirectory {
		page, err := s.ListMembers(ctx, tenantID, after, limit)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page))
		for i, m := range page {
			ids[i] = m.MemberID
		}
		return ids, nil
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND SK > :after"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(segIndexPK(tenantID, source, value)), ":after": str(segIndexSKPre + after)},
		ProjectionExpression:      strp("SK"),
		Limit:                     aws.Int32(int32(limit)),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, reads)
		return nil, fmt.Errorf("segment index: %w", err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	ids := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		if sk, ok := it[layout.RangeKey].(*types.AttributeValueMemberS); ok {
			ids = append(ids, strings.TrimPrefix(sk.Value, segIndexSKPre))
		}
	}
	return ids, nil
}

// LastPointOfSale reads the member's newest ledger entries for the point of
// sale of the latest order: one query of at most 20 entries.
func (s *Store) LastPointOfSale(ctx context.Context, tenantID, memberID string) (string, error) {
	entries, err := s.ListLedger(ctx, tenantID, memberID, 20, 0)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.OrderID != "" && e.PointOfSale != "" {
			return e.PointOfSale, nil
		}
	}
	return "", nil
}

// SetMarketingConsent changes a member's consent in the account item. The
// revision moves on, so a balance change decided on the account as it was
// before fails its condition and is decided again, instead of writing the
// old consent back.
func (s *Store) SetMarketingConsent(ctx context.Context, tenantID, memberID string, consent bool, at time.Time) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(memberPK(tenantID, memberID), skAccount),
		UpdateExpression:         strp("SET marketingConsent = :v, consentChangedAt = :at ADD #rev :one"),
		ConditionExpression:      strp("attribute_exists(PK)"),
		ExpressionAttributeNames: map[string]string{"#rev": attrRev},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberBOOL{Value: consent}, ":at": str(at.UTC().Format(time.RFC3339Nano)), ":one": num(1),
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return loyalty.ErrMemberNotFound
		}
		return fmt.Errorf("set consent: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

// segIndexWrites adds or removes a member's segment index entries with the
// commit that changes the attribute.
func segIndexWrites(t *txn, tenantID, memberID string, changes []loyalty.SegmentIndexChange) error {
	for _, ch := range changes {
		pk, sk := segIndexPK(tenantID, ch.Name, ch.Value), segIndexSKPre+memberID
		if ch.Remove {
			t.del(&types.Delete{Key: key(pk, sk)}, nil)
			continue
		}
		item, err := marshal(struct{}{}, pk, sk)
		if err != nil {
			return err
		}
		t.put(&types.Put{Item: item}, nil)
	}
	return nil
}

var _ campaigns.Store = (*Store)(nil)

// Expiry reminders.

const (
	remindersPK = "REMINDERS"
	remindersSK = "STATE"
)

func reminderPK(t, m string) string { return "T#" + t + "#REMIND#" + m }

// ExpiringMembers reads the expiry index partitions of day, every shard:
// the members with points expiring that day.
func (s *Store) ExpiringMembers(ctx context.Context, day time.Time) ([]loyalty.MemberKey, error) {
	seen := map[loyalty.MemberKey]bool{}
	var out []loyalty.MemberKey
	for shard := 0; shard < s.shards(); shard++ {
		items, err := s.queryAll(ctx, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String(layout.IndexName),
			KeyConditionExpression:    strp("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": layout.IndexHashKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(fmt.Sprintf("%s#%s#%d", dueExpire, day.UTC().Format(dayLayout), shard))},
			ProjectionExpression:      strp("PK"),
		})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			pk, ok := it[layout.HashKey].(*types.AttributeValueMemberS)
			if !ok {
				continue
			}
			t, rest, ok := strings.Cut(strings.TrimPrefix(pk.Value, "T#"), "#M#")
			if !ok {
				continue
			}
			k := loyalty.MemberKey{TenantID: t, MemberID: rest}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out, nil
}

// ClaimReminder writes the member's reminder record of day (absent before)
// with the message's meter.
func (s *Store) ClaimReminder(ctx context.Context, tenantID, memberID string, day time.Time, meter *loyalty.Meter, at time.Time) (bool, error) {
	t := &txn{table: s.table}
	item, err := marshal(recipientItem{MemberID: memberID, State: "sent", At: at.UTC()}, reminderPK(tenantID, memberID), day.UTC().Format(dayLayout))
	if err != nil {
		return false, err
	}
	withTTL(item, day.AddDate(0, 0, 30))
	t.put(putNew(item), errRecordExists)
	if meter != nil {
		if err := meterWrites(t, tenantID, meter, nil, at); err != nil {
			return false, err
		}
	}
	err = s.run(ctx, t)
	if errors.Is(err, errRecordExists) {
		return false, nil
	}
	return err == nil, err
}

type remindersState struct {
	DoneThrough string `json:"doneThrough"`
}

// RemindersDoneThrough is the last day whose reminders ran (zero: never).
func (s *Store) RemindersDoneThrough(ctx context.Context) (time.Time, error) {
	var st remindersState
	if err := s.getInto(ctx, remindersPK, remindersSK, &st, nil); err != nil {
		return time.Time{}, err
	}
	if st.DoneThrough == "" {
		return time.Time{}, nil
	}
	return time.Parse(dayLayout, st.DoneThrough)
}

// SetRemindersDone moves the reminders' day forward (never back).
func (s *Store) SetRemindersDone(ctx context.Context, day time.Time) error {
	d := day.UTC().Format(dayLayout)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(remindersPK, remindersSK),
		UpdateExpression:          strp("SET doneThrough = :d"),
		ConditionExpression:       strp("attribute_not_exists(doneThrough) OR doneThrough < :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(d)},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return nil
		}
		return fmt.Errorf("reminders state: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}
