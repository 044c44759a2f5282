package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// A tenant's catalog is one item collection, a product per sort key: paged
// in SKU order by a Query, and read by key (BatchGetItem) on the order path,
// never scanned. 100 000 products of ~100 bytes are ~10 MB: no limit of
// DynamoDB's comes near (the table has no local index).
func catalogPK(t string) string   { return "T#" + t + "#CAT" }
func productSK(sku string) string { return productPrefix + sku }

const productPrefix = "P#"

// maxBatchGet and maxBatchWrite are DynamoDB's limits per request.
const (
	maxBatchGet   = 100
	maxBatchWrite = 25
)

// PutProduct creates or replaces one product.
func (s *Store) PutProduct(ctx context.Context, tenantID string, p loyalty.Product) error {
	item, err := marshal(p, catalogPK(tenantID), productSK(p.SKU))
	if err != nil {
		return err
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		track(ctx, writes)
		return fmt.Errorf("put product: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

// PutProducts writes products (distinct SKUs: a batch may not name an item
// twice) with BatchWriteItem, 25 a request, retrying unprocessed items.
func (s *Store) PutProducts(ctx context.Context, tenantID string, ps []loyalty.Product) error {
	for start := 0; start < len(ps); start += maxBatchWrite {
		end := min(start+maxBatchWrite, len(ps))
		reqs := make([]types.WriteRequest, 0, end-start)
		for _, p := range ps[start:end] {
			item, err := marshal(p, catalogPK(tenantID), productSK(p.SKU))
			if err != nil {
				return err
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if attempt > 10 {
					return loyalty.ErrUnavailable
				}
				if err := sleep(ctx, time.Duration(attempt*attempt)*10*time.Millisecond); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				track(ctx, writes)
				return fmt.Errorf("batch write products: %w", err)
			}
			track(ctx, writes, out.ConsumedCapacity...)
			pending = out.UnprocessedItems
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// ListProducts pages through the catalog in SKU order.
func (s *Store) ListProducts(ctx context.Context, tenantID, after string, limit int) ([]loyalty.Product, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(catalogPK(tenantID)), ":p": str(productPrefix)},
		Limit:                     aws.Int32(int32(limit)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(catalogPK(tenantID), productSK(after))
	}
	return queryPage[loyalty.Product](ctx, s, in)
}

// batchGetAll reads any number of keys: 100 a request, the requests in
// parallel, so an order's context and its first 96 SKUs take one round trip
// and a 500-line order of distinct SKUs still takes one round trip's time.
func (s *Store) batchGetAll(ctx context.Context, keys []map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	if len(keys) <= maxBatchGet {
		return s.batchGet(ctx, keys)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = map[string]map[string]types.AttributeValue{}
		fail error
	)
	for start := 0; start < len(keys); start += maxBatchGet {
		chunk := keys[start:min(start+maxBatchGet, len(keys))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.batchGet(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if fail == nil {
					fail = err
				}
				return
			}
			for k, v := range got {
				out[k] = v
			}
		}()
	}
	wg.Wait()
	return out, fail
}
