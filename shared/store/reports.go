package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
)

// The reports' aggregates share one partition per tenant, so each report is
// one Query (or one GetItem):
//
//	T#t#RPT / LIAB                  liability: av, pe, he, x<month> (available by expiry month)
//	T#t#RPT / D#<day>               the tenant's activity of a day
//	T#t#RPT / P#<day>#<pos>         a point of sale's activity of a day ("-": none)
//	T#t#RPT / S#<day>#<staff>       a staff member's activity of a day ("-": none)
//	T#t#RPT / PM#<month>#<pos>      a point of sale's activity of a month
//	T#t#RPT / SM#<month>#<staff>    a staff member's activity of a month
//
// Counters are added (ADD) from the stream by AggregateReports; nothing
// else writes them.
func reportPK(t string) string { return "T#" + t + "#RPT" }

const (
	skLiability = "LIAB"
	attrMonth   = "x" // prefix of the liability's expiry month counters
)

func activitySK(k reports.Key) string {
	if k.Scope == reports.ScopeDay {
		return string(k.Scope) + "#" + k.Day
	}
	return string(k.Scope) + "#" + k.Day + "#" + k.ID
}

// ConsumerReports is the report aggregator's checkpoint: what it has added.
const ConsumerReports = "REPORTS"

// reportBatch decodes what one stream record adds to the reports: a new
// ledger entry (liability and activity), a new account (a new member), an
// order's write (closed, refunded). Records of anything else add nothing.
func reportBatch(r StreamRecord) (*reports.Batch, error) {
	if r.EventName != StreamInsert && r.EventName != StreamModify {
		return nil, nil
	}
	keys := r.Keys
	if keys == nil {
		keys = r.NewImage
	}
	pk, sk := keyString(keys, layout.HashKey), keyString(keys, layout.RangeKey)
	if tenant, _, ok := member(pk); ok {
		switch {
		case strings.HasPrefix(sk, "L#") && r.EventName == StreamInsert:
			var e loyalty.Entry
			if err := unmarshal(r.NewImage, &e); err != nil {
				return nil, err
			}
			b := reports.NewBatch()
			b.AddEntry(tenant, &e)
			return b, nil
		case sk == skAccount && r.EventName == StreamInsert:
			var a loyalty.Account
			if err := unmarshal(r.NewImage, &a); err != nil {
				return nil, err
			}
			b := reports.NewBatch()
			b.AddMember(tenant, a.CreatedAt)
			return b, nil
		}
		return nil, nil
	}
	if sk != skOrder {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(pk, "T#")
	if !ok {
		return nil, nil
	}
	tenant, _, ok := strings.Cut(rest, "#ORD#")
	if !ok || tenant == "" {
		return nil, nil
	}
	if r.EventName == StreamModify && r.OldImage == nil {
		return nil, nil // a stream without old images cannot tell what changed
	}
	var now loyalty.Order
	if err := unmarshal(r.NewImage, &now); err != nil {
		return nil, err
	}
	var was *loyalty.Order
	if r.OldImage != nil {
		was = &loyalty.Order{}
		if err := unmarshal(r.OldImage, was); err != nil {
			return nil, err
		}
	}
	b := reports.NewBatch()
	b.AddOrderChange(tenant, was, &now)
	return b, nil
}

// AggregateReports adds what a batch of one stream shard's records (in
// stream order) changes in the reports' aggregates, exactly once however
// often the batch comes again: the counters and the shard's reports
// checkpoint move in one transaction conditioned on the checkpoint being
// what was read, and records at or below the checkpoint are skipped (the
// idea of CountUsage). A batch touching more items than a transaction
// holds is written in several, each moving the checkpoint to its last
// record. A record that does not decode is skipped and reported: one bad
// item must not stall the shard. It returns how many records it counted.
func (s *Store) AggregateReports(ctx context.Context, shardID string, recs []StreamRecord) (int, []error, error) {
	type decoded struct {
		seq string
		b   *reports.Batch
	}
	var todo []decoded
	var bad []error
	for _, r := range recs {
		b, err := reportBatch(r)
		if err != nil {
			bad = append(bad, fmt.Errorf("stream record %s: %w", r.SequenceNumber, err))
			continue
		}
		if b != nil && !b.Empty() {
			todo = append(todo, decoded{r.SequenceNumber, b})
		}
	}
	if len(todo) == 0 {
		return 0, bad, nil // not even the checkpoint is read
	}
	for attempt := 0; ; attempt++ {
		n, err := s.aggregateReports(ctx, shardID, func(yield func(string, *reports.Batch) bool) {
			for _, d := range todo {
				if !yield(d.seq, d.b) {
					return
				}
			}
		})
		if !errors.Is(err, ErrCheckpointMoved) && !errors.Is(err, loyalty.ErrConflict) || attempt >= 8 {
			return n, bad, err
		}
		// Another reader added part of it, or a writer of the same
		// aggregate raced: read the checkpoint again and add the rest.
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
}

func (s *Store) aggregateReports(ctx context.Context, shardID string, records func(func(string, *reports.Batch) bool)) (int, error) {
	cp, err := s.GetCheckpoint(ctx, shardID, ConsumerReports)
	if err != nil {
		return 0, err
	}
	counted, inBatch := 0, 0
	pending, last := reports.NewBatch(), ""
	flush := func() error {
		if last == "" {
			return nil
		}
		t := &txn{table: s.table}
		addReportUpdates(t, pending)
		next := Checkpoint{Seq: last}
		t.update(checkpointUpdate(shardID, ConsumerReports, cp, next), ErrCheckpointMoved)
		if err := s.run(ctx, t); err != nil {
			return err
		}
		cp, counted = next, counted+inBatch
		pending, last, inBatch = reports.NewBatch(), "", 0
		return nil
	}
	var ferr error
	records(func(seq string, b *reports.Batch) bool {
		if !SeqAfter(seq, cp.Seq) || !SeqAfter(seq, last) {
			return true // counted already (or out of order: never counted twice)
		}
		if pending.Items()+b.Items() > maxTransactItems-1 {
			if ferr = flush(); ferr != nil {
				return false
			}
		}
		pending.Merge(b)
		last, inBatch = seq, inBatch+1
		return true
	})
	if ferr != nil {
		return counted, ferr
	}
	return counted, flush()
}

// addReportUpdates adds a batch's deltas to the transaction, one ADD per
// aggregate item, in a fixed order.
func addReportUpdates(t *txn, b *reports.Batch) {
	tenants := make([]string, 0, len(b.Activity)+len(b.Liability))
	seen := map[string]bool{}
	for tn := range b.Activity {
		tenants, seen[tn] = append(tenants, tn), true
	}
	for tn := range b.Liability {
		if !seen[tn] {
			tenants = append(tenants, tn)
		}
	}
	sort.Strings(tenants)
	for _, tn := range tenants {
		if l := b.Liability[tn]; l != nil && !l.Zero() {
			t.update(liabilityAdd(tn, l), nil)
		}
		keys := make([]reports.Key, 0, len(b.Activity[tn]))
		for k := range b.Activity[tn] {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return activitySK(keys[i]) < activitySK(keys[j]) })
		for _, k := range keys {
			t.update(activityAdd(tn, k, b.Activity[tn][k]), nil)
		}
	}
}

// addExpression builds "ADD #a0 :a0, ..." over the non-zero deltas.
func addExpression(deltas [][2]any) (*string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	parts := make([]string, 0, len(deltas))
	for i, d := range deltas {
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		names[n], vals[v] = d[0].(string), num(d[1].(int64))
		parts = append(parts, n+" "+v)
	}
	return strp("ADD " + strings.Join(parts, ", ")), names, vals
}

func activityAdd(tenant string, k reports.Key, c *reports.Counters) *types.Update {
	var deltas [][2]any
	for _, f := range reports.Fields {
		if v := *f.Of(c); v != 0 {
			deltas = append(deltas, [2]any{f.Attr, v})
		}
	}
	expr, names, vals := addExpression(deltas)
	return &types.Update{Key: key(reportPK(tenant), activitySK(k)), UpdateExpression: expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals}
}

func liabilityAdd(tenant string, l *reports.Liability) *types.Update {
	var deltas [][2]any
	for _, d := range []struct {
		attr string
		v    loyalty.Points
	}{{"av", l.Available}, {"pe", l.Pending}, {"he", l.Held}} {
		if d.v != 0 {
			deltas = append(deltas, [2]any{d.attr, int64(d.v)})
		}
	}
	months := make([]string, 0, len(l.ByMonth))
	for m, n := range l.ByMonth {
		if n != 0 {
			months = append(months, m)
		}
	}
	sort.Strings(months)
	for _, m := range months {
		deltas = append(deltas, [2]any{attrMonth + m, int64(l.ByMonth[m])})
	}
	expr, names, vals := addExpression(deltas)
	return &types.Update{Key: key(reportPK(tenant), skLiability), UpdateExpression: expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals}
}

func numAttr(v types.AttributeValue) (int64, bool) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseInt(n.Value, 10, 64)
	return x, err == nil
}

// GetLiability reads a tenant's liability as the aggregator has it: one
// strongly consistent GetItem.
func (s *Store) GetLiability(ctx context.Context, tenantID string) (reports.Liability, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(reportPK(tenantID), skLiability),
		ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		track(ctx, reads)
		return reports.Liability{}, fmt.Errorf("read liability: %w", err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	l := reports.Liability{ByMonth: map[string]loyalty.Points{}}
	for name, v := range out.Item {
		n, ok := numAttr(v)
		if !ok {
			continue
		}
		switch {
		case name == "av":
			l.Available = loyalty.Points(n)
		case name == "pe":
			l.Pending = loyalty.Points(n)
		case name == "he":
			l.Held = loyalty.Points(n)
		case strings.HasPrefix(name, attrMonth):
			l.ByMonth[strings.TrimPrefix(name, attrMonth)] = loyalty.Points(n)
		}
	}
	return l, nil
}

// ListActivity reads a tenant's activity aggregates of one scope for the
// days (months, in a month scope) from..to, inclusive: one Query (more pages only past
// 1 MB, about 5 000 items).
func (s *Store) ListActivity(ctx context.Context, tenantID string, scope reports.Scope, from, to string) ([]reports.Row, error) {
	lo, hi := string(scope)+"#"+from, string(scope)+"#"+to
	if scope != reports.ScopeDay {
		hi += "~" // after every id of the last day ('~' sorts after '#' and the ids' characters)
	}
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND SK BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(reportPK(tenantID)), ":lo": str(lo), ":hi": str(hi)},
	})
	if err != nil {
		return nil, err
	}
	rows := make([]reports.Row, 0, len(items))
	for _, it := range items {
		sk := keyString(it, layout.RangeKey)
		parts := strings.SplitN(sk, "#", 3)
		if len(parts) < 2 {
			continue
		}
		row := reports.Row{Key: reports.Key{Scope: reports.Scope(parts[0]), Day: parts[1]}}
		if len(parts) == 3 {
			row.Key.ID = parts[2]
		}
		for _, f := range reports.Fields {
			if v, ok := numAttr(it[f.Attr]); ok {
				*f.Of(&row.Counters) = v
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// PutReportAggregates writes a batch's aggregates as they are, replacing
// the items (BatchWriteItem, 25 a request): for benchmarks and for
// rebuilding the reports from the ledger, never while the stream's
// aggregator adds to the same items.
func (s *Store) PutReportAggregates(ctx context.Context, b *reports.Batch) error {
	var reqs []types.WriteRequest
	for tn, l := range b.Liability {
		item := key(reportPK(tn), skLiability)
		item["av"], item["pe"], item["he"] = num(int64(l.Available)), num(int64(l.Pending)), num(int64(l.Held))
		for m, n := range l.ByMonth {
			item[attrMonth+m] = num(int64(n))
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for tn, a := range b.Activity {
		for k, c := range a {
			item := key(reportPK(tn), activitySK(k))
			for _, f := range reports.Fields {
				if v := *f.Of(c); v != 0 {
					item[f.Attr] = num(v)
				}
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
	}
	for start := 0; start < len(reqs); start += maxBatchWrite {
		pending := map[string][]types.WriteRequest{s.table: reqs[start:min(start+maxBatchWrite, len(reqs))]}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 10 {
				return loyalty.ErrUnavailable
			}
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(attempt*attempt)*10*time.Millisecond); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				track(ctx, writes)
				return fmt.Errorf("batch write report aggregates: %w", err)
			}
			track(ctx, writes, out.ConsumedCapacity...)
			pending = out.UnprocessedItems
		}
	}
	return nil
}
