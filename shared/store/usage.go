package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// usageDelta is what one stream batch adds to one usage item.
type usageDelta struct {
	tenant, month string
	kinds         map[string]int64
}

// meteredOp reads the meter an uncapped operation left on its idempotency
// record (see meterWrites); ok is false for any other record.
func meteredOp(r StreamRecord) (tenant, month, kind string, ok bool) {
	if r.EventName != StreamInsert || keyString(r.NewImage, layout.RangeKey) != skIdem {
		return "", "", "", false
	}
	pk := keyString(r.NewImage, layout.HashKey)
	rest, ok := strings.CutPrefix(pk, "T#")
	if !ok {
		return "", "", "", false
	}
	tenant, _, ok = strings.Cut(rest, "#IDEM#")
	kind, month = keyString(r.NewImage, "meterKind"), keyString(r.NewImage, "meterMonth")
	return tenant, month, kind, ok && tenant != "" && kind != "" && month != ""
}

// usageShardOf spreads the counting of stream shards over the usage items,
// so two shards counting at once rarely write the same item.
func usageShardOf(streamShard string) int {
	h := fnv.New32a()
	h.Write([]byte(streamShard))
	return int(h.Sum32() % loyalty.UsageShards)
}

// maxCountersPerWrite leaves room for the checkpoint in a transaction.
const maxCountersPerWrite = maxTransactItems - 1

// CountUsage counts the uncapped tenants' metered operations found in a
// batch of one stream shard's records (in stream order) into the usage
// items GetUsage reads, exactly once however often the batch comes again:
// the counters and the shard's usage checkpoint move in one transaction
// conditioned on the checkpoint being what was read, and records at or
// below the checkpoint are skipped. It returns how many operations it
// counted.
func (s *Store) CountUsage(ctx context.Context, shardID string, recs []StreamRecord) (int, error) {
	metered := false
	for _, r := range recs {
		if _, _, _, ok := meteredOp(r); ok {
			metered = true
			break
		}
	}
	if !metered {
		return 0, nil // most batches: not even the checkpoint is read
	}
	for attempt := 0; ; attempt++ {
		n, err := s.countUsage(ctx, shardID, recs)
		if !errors.Is(err, ErrCheckpointMoved) && !errors.Is(err, loyalty.ErrConflict) || attempt >= 5 {
			return n, err
		}
		// Another reader counted part of it, or a writer of the same
		// usage item raced: read the checkpoint again and count the rest.
	}
}

func (s *Store) countUsage(ctx context.Context, shardID string, recs []StreamRecord) (int, error) {
	cp, err := s.GetCheckpoint(ctx, shardID, ConsumerUsage)
	if err != nil {
		return 0, err
	}
	shard := usageShardOf(shardID)
	counted := 0
	var pending []*usageDelta
	byItem := map[string]*usageDelta{}
	ops, last := 0, ""
	flush := func() error {
		if last == "" {
			return nil
		}
		t := &txn{table: s.table}
		for _, d := range pending {
			t.update(usageAdd(d, shard), nil)
		}
		next := Checkpoint{Seq: last}
		t.update(checkpointUpdate(shardID, ConsumerUsage, cp, next), ErrCheckpointMoved)
		if err := s.run(ctx, t); err != nil {
			return err
		}
		cp, counted = next, counted+ops
		pending, byItem, ops, last = nil, map[string]*usageDelta{}, 0, ""
		return nil
	}
	for _, r := range recs {
		if !SeqAfter(r.SequenceNumber, cp.Seq) || !SeqAfter(r.SequenceNumber, last) {
			continue // counted already (or out of order: never counted twice)
		}
		tenant, month, kind, ok := meteredOp(r)
		if !ok {
			continue
		}
		k := tenant + "|" + month
		d := byItem[k]
		if d == nil {
			if len(pending) == maxCountersPerWrite {
				if err := flush(); err != nil {
					return counted, err
				}
			}
			d = &usageDelta{tenant: tenant, month: month, kinds: map[string]int64{}}
			byItem[k] = d
			pending = append(pending, d)
		}
		d.kinds[kind]++
		ops++
		last = r.SequenceNumber
	}
	return counted, flush()
}

// usageAdd adds a batch's counts to a tenant's usage item.
func usageAdd(d *usageDelta, shard int) *types.Update {
	kinds := make([]string, 0, len(d.kinds))
	for k := range d.kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	names := map[string]string{"#total": "total"}
	vals := map[string]types.AttributeValue{}
	parts := make([]string, 0, len(kinds)+1)
	var total int64
	for i, k := range kinds {
		n, v := fmt.Sprintf("#k%d", i), fmt.Sprintf(":k%d", i)
		names[n], vals[v] = k, num(d.kinds[k])
		parts = append(parts, n+" "+v)
		total += d.kinds[k]
	}
	vals[":total"] = num(total)
	parts = append(parts, "#total :total")
	return &types.Update{
		Key:                       key(usagePK(d.tenant, d.month, shard), skUsage),
		UpdateExpression:          strp("ADD " + strings.Join(parts, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}
}
