package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/store"
)

// capture is the DynamoDB client the benchmark builds its store on: it
// passes every call through to the emulator and, when the call's context
// carries a modelMeter, prices the request by the capacity model
// (capacity.go) from what was sent and what came back.
//
// Write costs depend on the whole item before and after the write, which a
// request does not carry (an Update names only the attributes it sets, a
// Delete or ConditionCheck only a key), so for a metered write capture reads
// the items it touches aside, before and after, with strongly consistent
// reads straight on the emulator. Those reads are not the store's: they are
// neither counted as round trips nor priced, and their time is reported to
// the meter so latency figures can leave it out.
//
// Should the store start using a data call not overridden here, it would
// pass through unpriced; the benchmark compares the calls priced with the
// store's own round-trip count per request (checkModel) and stops.
type capture struct {
	store.API             // the emulator's client; methods not overridden here (the control plane) pass through unpriced
	table     string      // the only table the model knows
	schema    tableSchema // its keys and indexes, read by describe once the table exists
}

// placeholder matches expression attribute names and values.
var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// describe reads the table's keys and indexes from the table itself, so the
// model follows the schema the store created.
func (c *capture) describe(ctx context.Context) error {
	out, err := c.API.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.table})
	if err != nil {
		return fmt.Errorf("capacity model: describe %s: %w", c.table, err)
	}
	var sch tableSchema
	for _, k := range out.Table.KeySchema {
		if k.KeyType == types.KeyTypeHash {
			sch.HashKey = aws.ToString(k.AttributeName)
		} else {
			sch.RangeKey = aws.ToString(k.AttributeName)
		}
	}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		ix := indexSchema{KeysOnly: g.Projection != nil && g.Projection.ProjectionType == types.ProjectionTypeKeysOnly}
		for _, k := range g.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				ix.HashKey = aws.ToString(k.AttributeName)
			} else {
				ix.RangeKey = aws.ToString(k.AttributeName)
			}
		}
		sch.Indexes = append(sch.Indexes, ix)
	}
	if len(out.Table.LocalSecondaryIndexes) > 0 {
		return errors.New("capacity model: local secondary indexes are not modelled")
	}
	c.schema = sch
	return nil
}

// modelMeter accumulates the modelled capacity of the calls made with a
// context carrying it.
type modelMeter struct {
	mu sync.Mutex
	c  modelCounts
}

// modelCounts is what a modelMeter has counted.
type modelCounts struct {
	calls       int           // DynamoDB calls priced (to check against the store's own count)
	read, write float64       // modelled units (write includes index writes)
	indexWrite  float64       // of which index propagation
	maxTxItems  int           // largest TransactWriteItems sent
	maxItem     int           // largest item written or read (bytes)
	failed      int           // writes whose condition failed or transaction was cancelled
	aside       time.Duration // wall time the model's own reads took (overlaps counted once)
	asideSpans  []span
	err         error // a call the model could not price
}

type modelKey struct{}

func withModel(ctx context.Context, m *modelMeter) context.Context {
	return context.WithValue(ctx, modelKey{}, m)
}

func modelOf(ctx context.Context) *modelMeter {
	m, _ := ctx.Value(modelKey{}).(*modelMeter)
	return m
}

func (m *modelMeter) addRead(u float64, sizes ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.calls++
	m.c.read += u
	for _, s := range sizes {
		m.c.maxItem = max(m.c.maxItem, s)
	}
}

func (m *modelMeter) addWrite(u, index float64, txItems int, failed bool, sizes ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.calls++
	m.c.write += u + index
	m.c.indexWrite += index
	m.c.maxTxItems = max(m.c.maxTxItems, txItems)
	if failed {
		m.c.failed++
	}
	for _, s := range sizes {
		m.c.maxItem = max(m.c.maxItem, s)
	}
}

// fail records that a call could not be priced; the benchmark stops on it
// rather than report a guess.
func (m *modelMeter) fail(err error) {
	m.mu.Lock()
	if m.c.err == nil {
		m.c.err = err
	}
	m.mu.Unlock()
}

// span is one read aside, from start to end.
type span struct{ start, end time.Time }

// addAside records a read aside. The store may write several items at once
// (the sending limits, one goroutine each), so reads aside can overlap:
// their wall time is the length of the union of their spans, not the sum,
// which could exceed the request's own time.
func (m *modelMeter) addAside(start, end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.asideSpans = append(m.c.asideSpans, span{start, end})
	m.c.aside = unionLength(m.c.asideSpans)
}

// unionLength is the total time covered by spans.
func unionLength(spans []span) time.Duration {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int { return a.start.Compare(b.start) })
	var total time.Duration
	var cur span
	for i, sp := range sorted {
		switch {
		case i == 0:
			cur = sp
		case !sp.start.After(cur.end):
			if sp.end.After(cur.end) {
				cur.end = sp.end
			}
		default:
			total += cur.end.Sub(cur.start)
			cur = sp
		}
	}
	if len(sorted) > 0 {
		total += cur.end.Sub(cur.start)
	}
	return total
}

// snapshot is a copy of the meter's counts.
func (m *modelMeter) snapshot() modelCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

func consistencyOf(consistent *bool) consistency {
	if aws.ToBool(consistent) {
		return strong
	}
	return eventual
}

// ---- reads ----

func (c *capture) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := c.API.GetItem(ctx, in, opts...)
	if m := modelOf(ctx); m != nil && err != nil {
		m.addRead(0) // a failed read is not billed; the call still counts
	} else if m != nil {
		item := out.Item
		if in.ProjectionExpression != nil {
			// A projection does not reduce what is billed: size the whole item.
			item = c.aside(ctx, m, []map[string]types.AttributeValue{in.Key})[0]
		}
		size := itemSize(item)
		m.addRead(readUnitsItem(size, consistencyOf(in.ConsistentRead)), size)
	}
	return out, err
}

func (c *capture) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := c.API.BatchGetItem(ctx, in, opts...)
	if m := modelOf(ctx); m != nil && err != nil {
		m.addRead(0)
	} else if m != nil {
		total := 0.0
		var sizes []int
		for table, ka := range in.RequestItems {
			c.mustKnow(m, table)
			unprocessed := 0
			if u, ok := out.UnprocessedKeys[table]; ok {
				unprocessed = len(u.Keys)
			}
			got := out.Responses[table]
			if ka.ProjectionExpression != nil {
				got = nil
				for _, it := range c.aside(ctx, m, ka.Keys) {
					if it != nil {
						got = append(got, it)
					}
				}
			}
			cons := consistencyOf(ka.ConsistentRead)
			for _, it := range got {
				s := itemSize(it)
				sizes = append(sizes, s)
				total += readUnitsItem(s, cons)
			}
			// Each requested key is a read, found or not (unprocessed ones are not read).
			if absent := len(ka.Keys) - unprocessed - len(got); absent > 0 {
				total += float64(absent) * readUnitsItem(0, cons)
			}
		}
		m.addRead(total, sizes...)
	}
	return out, err
}

func (c *capture) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.API.Query(ctx, in, opts...)
	if m := modelOf(ctx); m != nil && err != nil {
		m.addRead(0)
	} else if m != nil {
		evaluated := out.Items
		if in.FilterExpression != nil || in.ProjectionExpression != nil || in.Select == types.SelectCount {
			// Billed on every item the key condition read, whole, before any
			// filter or projection: run the same page without them aside.
			evaluated = c.queryAside(ctx, m, in)
		}
		sizes := make([]int, len(evaluated))
		for i, it := range evaluated {
			sizes[i] = itemSize(it)
		}
		m.addRead(readUnitsQuery(sizes, consistencyOf(in.ConsistentRead)), sizes...)
	}
	return out, err
}

// queryAside re-runs a query page with only its key condition.
func (c *capture) queryAside(ctx context.Context, m *modelMeter, in *dynamodb.QueryInput) []map[string]types.AttributeValue {
	start := time.Now()
	defer func() { m.addAside(start, time.Now()) }()
	used := map[string]bool{}
	for _, p := range placeholder.FindAllString(aws.ToString(in.KeyConditionExpression), -1) {
		used[p] = true
	}
	q := *in
	q.FilterExpression, q.ProjectionExpression, q.Select = nil, nil, ""
	q.ExpressionAttributeNames, q.ExpressionAttributeValues = nil, nil
	for k, v := range in.ExpressionAttributeNames {
		if used[k] {
			if q.ExpressionAttributeNames == nil {
				q.ExpressionAttributeNames = map[string]string{}
			}
			q.ExpressionAttributeNames[k] = v
		}
	}
	for k, v := range in.ExpressionAttributeValues {
		if used[k] {
			if q.ExpressionAttributeValues == nil {
				q.ExpressionAttributeValues = map[string]types.AttributeValue{}
			}
			q.ExpressionAttributeValues[k] = v
		}
	}
	q.ReturnConsumedCapacity = ""
	out, err := c.API.Query(context.WithoutCancel(ctx), &q)
	if err != nil {
		m.fail(fmt.Errorf("capacity model: query aside: %w", err))
		return nil
	}
	return out.Items
}

// ---- writes ----

func (c *capture) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m := modelOf(ctx)
	if m == nil {
		return c.API.PutItem(ctx, in, opts...)
	}
	c.mustKnow(m, aws.ToString(in.TableName))
	before := c.aside(ctx, m, []map[string]types.AttributeValue{c.schema.key(in.Item)})[0]
	out, err := c.API.PutItem(ctx, in, opts...)
	failed := isConditionFailed(err)
	if err != nil && !failed {
		m.addWrite(0, 0, 0, false)
	} else {
		b, a := itemSize(before), itemSize(in.Item)
		var index float64
		if failed {
			a = 0 // a failed condition costs the existing item's size
		} else {
			index = c.schema.indexWriteUnits(before, in.Item)
		}
		m.addWrite(writeUnits(b, a, false), index, 0, failed, b, a)
	}
	return out, err
}

func (c *capture) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	m := modelOf(ctx)
	if m == nil {
		return c.API.UpdateItem(ctx, in, opts...)
	}
	c.mustKnow(m, aws.ToString(in.TableName))
	keys := []map[string]types.AttributeValue{in.Key}
	before := c.aside(ctx, m, keys)[0]
	out, err := c.API.UpdateItem(ctx, in, opts...)
	failed := isConditionFailed(err)
	if err != nil && !failed {
		m.addWrite(0, 0, 0, false)
	} else {
		after := before
		if !failed {
			after = c.aside(ctx, m, keys)[0]
		}
		b, a := itemSize(before), itemSize(after)
		m.addWrite(writeUnits(b, a, false), c.schema.indexWriteUnits(before, after), 0, failed, b, a)
	}
	return out, err
}

func (c *capture) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m := modelOf(ctx)
	if m == nil {
		return c.API.TransactWriteItems(ctx, in, opts...)
	}
	keys := make([]map[string]types.AttributeValue, len(in.TransactItems))
	for i, ti := range in.TransactItems {
		switch {
		case ti.Put != nil:
			c.mustKnow(m, aws.ToString(ti.Put.TableName))
			keys[i] = c.schema.key(ti.Put.Item)
		case ti.Update != nil:
			c.mustKnow(m, aws.ToString(ti.Update.TableName))
			keys[i] = ti.Update.Key
		case ti.Delete != nil:
			c.mustKnow(m, aws.ToString(ti.Delete.TableName))
			keys[i] = ti.Delete.Key
		case ti.ConditionCheck != nil:
			c.mustKnow(m, aws.ToString(ti.ConditionCheck.TableName))
			keys[i] = ti.ConditionCheck.Key
		}
	}
	before := c.aside(ctx, m, keys)
	out, err := c.API.TransactWriteItems(ctx, in, opts...)
	var tc *types.TransactionCanceledException
	cancelled := errors.As(err, &tc)
	if err != nil && !cancelled {
		m.addWrite(0, 0, len(in.TransactItems), false)
		return out, err
	}
	// Updates are sized on the item they leave behind.
	after := make([]map[string]types.AttributeValue, len(keys))
	if !cancelled {
		var updated []map[string]types.AttributeValue
		for i, ti := range in.TransactItems {
			if ti.Update != nil {
				updated = append(updated, keys[i])
			}
		}
		got := c.aside(ctx, m, updated)
		for i, ti := range in.TransactItems {
			switch {
			case ti.Put != nil:
				after[i] = ti.Put.Item
			case ti.Update != nil:
				after[i], got = got[0], got[1:]
			case ti.ConditionCheck != nil:
				after[i] = before[i]
			}
		}
	}
	var wcu, index float64
	var sizes []int
	for i, ti := range in.TransactItems {
		b := itemSize(before[i])
		a := 0
		switch {
		case cancelled:
			// Nothing was written; see the package comment of capacity.go.
			if ti.Put != nil {
				a = itemSize(ti.Put.Item)
			}
		case ti.Delete == nil && ti.ConditionCheck == nil:
			a = itemSize(after[i])
			index += c.schema.indexWriteUnits(before[i], after[i])
		case ti.Delete != nil:
			index += c.schema.indexWriteUnits(before[i], nil)
		}
		sizes = append(sizes, b, a)
		wcu += writeUnits(b, a, true)
	}
	m.addWrite(wcu, index, len(in.TransactItems), cancelled, sizes...)
	return out, err
}

// aside reads items by key straight from the emulator, strongly consistent,
// outside the store and its meters; nil for an absent item. Its time goes to
// the meter, so latency can be reported without it.
func (c *capture) aside(ctx context.Context, m *modelMeter, keys []map[string]types.AttributeValue) []map[string]types.AttributeValue {
	found := make([]map[string]types.AttributeValue, len(keys))
	if len(keys) == 0 {
		return found
	}
	start := time.Now()
	defer func() { m.addAside(start, time.Now()) }()
	index := map[string]int{}
	for i, k := range keys {
		index[c.keyString(k)] = i
	}
	pending := keys
	for len(pending) > 0 {
		out, err := c.API.BatchGetItem(context.WithoutCancel(ctx), &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{c.table: {Keys: pending, ConsistentRead: aws.Bool(true)}},
		})
		if err != nil {
			m.fail(fmt.Errorf("capacity model: read aside: %w", err))
			return found
		}
		for _, it := range out.Responses[c.table] {
			found[index[c.keyString(c.schema.key(it))]] = it
		}
		pending = out.UnprocessedKeys[c.table].Keys
	}
	return found
}

func (c *capture) keyString(k map[string]types.AttributeValue) string {
	s := func(v types.AttributeValue) string {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			return "S" + v.Value
		case *types.AttributeValueMemberN:
			return "N" + v.Value
		case *types.AttributeValueMemberB:
			return "B" + string(v.Value)
		}
		return fmt.Sprintf("%T", v)
	}
	return s(k[c.schema.HashKey]) + "\x00" + s(k[c.schema.RangeKey])
}

// mustKnow stops the benchmark when a request names a table whose keys the
// model does not know (it would price that table's items wrongly).
func (c *capture) mustKnow(m *modelMeter, table string) {
	if table != c.table {
		m.fail(fmt.Errorf("capacity model: request on table %q, schema known only for %q", table, c.table))
	}
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}
