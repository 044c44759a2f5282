package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

const (
	sweepPK = "SWEEP"
	sweepSK = "STATE"
	// sweepOverlap is how many finished days the sweep reads again on every
	// run: an item written just before midnight may land in the index after
	// the sweep read its day.
	sweepOverlap = 2
	// sweepCatchUp bounds the days one run reads when the sweep has not run
	// for a while; later runs continue from the cursor.
	sweepCatchUp = 31
)

type sweepState struct {
	DoneThrough string `json:"doneThrough"` // last day whose buckets need no more reading
}

// DueWork lists what is due at now: lots to mature or expire and orders
// whose hold timed out. It reads the index partitions of each kind and shard
// for the days from the sweep's cursor to today, each up to now, so its cost
// follows the number of due items, not the number of members. With a
// tenantID it keeps only that tenant's items.
func (s *Store) DueWork(ctx context.Context, now time.Time, tenantID string) (*loyalty.DueWork, error) {
	var st sweepState
	if err := s.getInto(ctx, sweepPK, sweepSK, &st, nil); err != nil {
		return nil, err
	}
	today := now.UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -sweepOverlap), today
	if d, err := time.Parse(dayLayout, st.DoneThrough); err == nil && d.Before(from) {
		from = d.AddDate(0, 0, 1)
		if last := from.AddDate(0, 0, sweepCatchUp); last.Before(today) {
			to = last
		}
	}
	work := &loyalty.DueWork{Through: to}
	seenMember := map[loyalty.MemberKey]bool{}
	seenOrder := map[loyalty.OrderKey]bool{}
	seenCard := map[loyalty.GiftCardKey]bool{}
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		for _, kind := range []string{dueHold, dueMature, dueExpire} {
			for shard := 0; shard < s.shards(); shard++ {
				in := &dynamodb.QueryInput{
					TableName:              &s.table,
					IndexName:              aws.String(layout.IndexName),
					KeyConditionExpression: strp("#pk = :pk AND #sk <= :now"),
					ExpressionAttributeNames: map[string]string{
						"#pk": layout.IndexHashKey, "#sk": layout.IndexRangeKey,
					},
					ExpressionAttributeValues: map[string]types.AttributeValue{
						":pk":  str(fmt.Sprintf("%s#%s#%d", kind, day.Format(dayLayout), shard)),
						":now": str(stamp(now) + "#~"),
					},
				}
				if tenantID != "" {
					in.FilterExpression = strp("begins_with(PK, :t)")
					in.ExpressionAttributeValues[":t"] = str(tenantPK(tenantID) + "#")
				}
				items, err := s.queryAll(ctx, in)
				if err != nil {
					return nil, err
				}
				for _, it := range items {
					pk := it[layout.HashKey].(*types.AttributeValueMemberS).Value
					t, rest, ok := strings.Cut(strings.TrimPrefix(pk, "T#"), "#")
					if !ok {
						continue
					}
					switch {
					case strings.HasPrefix(rest, "M#"):
						k := loyalty.MemberKey{TenantID: t, MemberID: strings.TrimPrefix(rest, "M#")}
						if !seenMember[k] {
							seenMember[k] = true
							work.Members = append(work.Members, k)
						}
					case strings.HasPrefix(rest, "GC#"):
						k := loyalty.GiftCardKey{TenantID: t, Number: strings.TrimPrefix(rest, "GC#")}
						if !seenCard[k] {
							seenCard[k] = true
							work.GiftCards = append(work.GiftCards, k)
						}
					case strings.HasPrefix(rest, "ORD#"):
						k := loyalty.OrderKey{TenantID: t, OrderID: strings.TrimPrefix(rest, "ORD#")}
						if !seenOrder[k] {
							seenOrder[k] = true
							work.Orders = append(work.Orders, k)
						}
					}
				}
			}
		}
	}
	return work, nil
}

// AdvanceSweep moves the cursor so later runs skip days that are done. It
// only ever moves forward, whatever order concurrent sweeps finish in.
func (s *Store) AdvanceSweep(ctx context.Context, now, through time.Time) error {
	done := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -sweepOverlap)
	if through.Before(done) {
		done = through // catching up: the days up to through are complete
	}
	return s.setSweepCursor(ctx, done)
}

// setSweepCursor moves the cursor forward to done.
func (s *Store) setSweepCursor(ctx context.Context, day time.Time) error {
	done := day.UTC().Format(dayLayout)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(sweepPK, sweepSK),
		UpdateExpression:          strp("SET doneThrough = :d"),
		ConditionExpression:       strp("attribute_not_exists(doneThrough) OR doneThrough < :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(done)},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return nil // already there
		}
		return fmt.Errorf("advance sweep: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}
