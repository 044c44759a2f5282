package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The figures below are AWS's published examples and rules (Developer
// Guide: "DynamoDB item sizes and formats", "DynamoDB read and write
// operations"); a model that drifts from them fails here.

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func TestItemSize(t *testing.T) {
	cases := []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string: name + UTF-8 bytes", map[string]types.AttributeValue{"PK": s("abc")}, 2 + 3},
		{"multi-byte string", map[string]types.AttributeValue{"n": s("ёж")}, 1 + 4},
		{"number: 1 byte per 2 significant digits + 1", map[string]types.AttributeValue{"n": n("12345")}, 1 + 3 + 1},
		{"number: leading and trailing zeros trimmed", map[string]types.AttributeValue{"n": n("-000.01500")}, 1 + 1 + 1},
		{"number: 1000 has one significant digit", map[string]types.AttributeValue{"n": n("1000")}, 1 + 1 + 1},
		{"zero", map[string]types.AttributeValue{"n": n("0")}, 1 + 1},
		{"binary: raw bytes", map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: []byte{1, 2, 3, 4}}}, 1 + 4},
		{"bool and null: 1 byte", map[string]types.AttributeValue{"t": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"empty map: 3 bytes", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}, 1 + 3},
		{"map: 3 + per element 1 + name + value", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"ab": s("xyz")}}}, 1 + 3 + 1 + 2 + 3},
		{"list: 3 + per element 1 + value", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("xy"), n("7")}}}, 1 + 3 + (1 + 2) + (1 + 2)},
		{"string set: sum of elements", map[string]types.AttributeValue{"ss": &types.AttributeValueMemberSS{Value: []string{"a", "bcd"}}}, 2 + 4},
	}
	for _, c := range cases {
		if got := itemSize(c.item); got != c.want {
			t.Errorf("%s: size %d, want %d", c.name, got, c.want)
		}
	}
}

func TestWriteAndReadUnits(t *testing.T) {
	kb15 := 1536
	for _, c := range []struct {
		name          string
		before, after int
		txn           bool
		want          float64
	}{
		{"1.5 KB item, PutItem", 0, kb15, false, 2},
		{"1.5 KB item in a transaction", 0, kb15, true, 4},
		{"exactly 1 KB", 0, 1024, false, 1},
		{"one byte over 1 KB", 0, 1025, false, 2},
		{"small item in a transaction", 0, 100, true, 2},
		{"update: the larger of before and after", 2500, 900, false, 3},
		{"absent item still costs 1", 0, 0, false, 1},
	} {
		if got := writeUnits(c.before, c.after, c.txn); got != c.want {
			t.Errorf("%s: %v write units, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"3.5 KB item, strongly consistent GetItem", readUnitsItem(3584, strong), 1},
		{"10 KB item, strongly consistent (rounded to 12 KB)", readUnitsItem(10240, strong), 3},
		{"8 KB item, eventually consistent", readUnitsItem(8192, eventual), 1},
		{"8 KB item, transactional", readUnitsItem(8192, transactional), 4},
		{"absent item, strongly consistent", readUnitsItem(0, strong), 1},
		{"absent item, eventually consistent", readUnitsItem(0, eventual), 0.5},
		{"Query of 1.5 KB + 1.5 KB: the sum is rounded once", readUnitsQuery([]int{1536, 1536}, strong), 1},
		{"Query of nothing still costs the minimum", readUnitsQuery(nil, strong), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v read units, want %v", c.name, c.got, c.want)
		}
	}
}

// fakeDB is a table in memory with just what capture calls. Updates are not
// evaluated: the test says what an updated item becomes (next).
type fakeDB struct {
	items map[string]map[string]types.AttributeValue
	next  map[string]map[string]types.AttributeValue // key → item after an update
	fail  bool                                       // conditions fail, transactions are cancelled
}

var schema = tableSchema{HashKey: "PK", RangeKey: "SK", Indexes: []indexSchema{{HashKey: "GSI1PK", RangeKey: "GSI1SK", KeysOnly: true}}}

func fk(k map[string]types.AttributeValue) string {
	return k["PK"].(*types.AttributeValueMemberS).Value + "|" + k["SK"].(*types.AttributeValueMemberS).Value
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.items[fk(in.Key)]}, nil
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if f.fail {
		return nil, &types.ConditionalCheckFailedException{}
	}
	f.items[fk(in.Item)] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.fail {
		return nil, &types.ConditionalCheckFailedException{}
	}
	f.items[fk(in.Key)] = f.next[fk(in.Key)]
	return &dynamodb.UpdateItemOutput{}, nil
}

func (f *fakeDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	pk := in.ExpressionAttributeValues[":pk"].(*types.AttributeValueMemberS).Value
	out := &dynamodb.QueryOutput{}
	for k, it := range f.items {
		if strings.HasPrefix(k, pk+"|") {
			out.ScannedCount++
			if in.FilterExpression == nil || it["keep"] != nil {
				out.Items = append(out.Items, it)
				out.Count++
			}
		}
	}
	return out, nil
}

func (f *fakeDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, ka := range in.RequestItems {
		for _, k := range ka.Keys {
			if it := f.items[fk(k)]; it != nil {
				out.Responses[table] = append(out.Responses[table], it)
			}
		}
	}
	return out, nil
}

func (f *fakeDB) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	for _, reqs := range in.RequestItems {
		for _, r := range reqs {
			if r.PutRequest != nil {
				f.items[fk(r.PutRequest.Item)] = r.PutRequest.Item
			}
		}
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func (f *fakeDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.fail {
		return nil, &types.TransactionCanceledException{}
	}
	for _, ti := range in.TransactItems {
		switch {
		case ti.Put != nil:
			f.items[fk(ti.Put.Item)] = ti.Put.Item
		case ti.Update != nil:
			f.items[fk(ti.Update.Key)] = f.next[fk(ti.Update.Key)]
		case ti.Delete != nil:
			delete(f.items, fk(ti.Delete.Key))
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (f *fakeDB) CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	return &dynamodb.CreateTableOutput{}, nil
}

func (f *fakeDB) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("SK"), KeyType: types.KeyTypeRange}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndexDescription{{
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("GSI1PK"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("GSI1SK"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	}}, nil
}

func (f *fakeDB) UpdateTable(context.Context, *dynamodb.UpdateTableInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error) {
	return &dynamodb.UpdateTableOutput{}, nil
}

func (f *fakeDB) UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}

// sized is an item of exactly size bytes by the model's rules.
func sized(t *testing.T, pk, sk string, size int, extra map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	it := map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk)}
	for k, v := range extra {
		it[k] = v
	}
	pad := size - itemSize(it) - len("d")
	if pad < 0 {
		t.Fatalf("item %s|%s cannot be %d bytes", pk, sk, size)
	}
	it["d"] = s(strings.Repeat("x", pad))
	if itemSize(it) != size {
		t.Fatalf("sized: %d, want %d", itemSize(it), size)
	}
	return it
}

func newFake(t *testing.T) (*fakeDB, *capture, *modelMeter, context.Context) {
	t.Helper()
	f := &fakeDB{items: map[string]map[string]types.AttributeValue{}, next: map[string]map[string]types.AttributeValue{}}
	c := &capture{API: f, table: "t"}
	if err := c.describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.schema.Indexes) != 1 || !c.schema.Indexes[0].KeysOnly || c.schema.HashKey != "PK" {
		t.Fatalf("schema from DescribeTable: %+v", c.schema)
	}
	m := &modelMeter{}
	return f, c, m, withModel(context.Background(), m)
}

func put(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: item}}
}

func TestTransactionOfSevenSmallItemsIs14WriteUnits(t *testing.T) {
	_, c, m, ctx := newFake(t)
	var items []types.TransactWriteItem
	for i := range 7 {
		items = append(items, put(sized(t, "T#1", "L#"+string(rune('a'+i)), 200, nil)))
	}
	if _, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		t.Fatal(err)
	}
	got := m.snapshot()
	if got.write != 14 || got.maxTxItems != 7 || got.calls != 1 || got.indexWrite != 0 {
		t.Errorf("7 small puts in a transaction: %+v, want 14 WCU, 7 items, 1 call", got)
	}
}

func TestWritesFollowItemSizesBeforeAndAfter(t *testing.T) {
	f, c, m, ctx := newFake(t)
	// A plain PutItem of a new 1.5 KB item: 2 units.
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(t, "A", "1", 1536, nil)}); err != nil {
		t.Fatal(err)
	}
	if w := m.snapshot().write; w != 2 {
		t.Errorf("PutItem of 1.5 KB: %v WCU, want 2", w)
	}
	// Replacing a 3 KB item with a small one is sized on the old one: 3.
	f.items["A|2"] = sized(t, "A", "2", 3072, nil)
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(t, "A", "2", 100, nil)}); err != nil {
		t.Fatal(err)
	}
	if w := m.snapshot().write; w != 2+3 {
		t.Errorf("PutItem replacing 3 KB: total %v WCU, want 5", w)
	}
	// An update sets one attribute, but is billed on the whole item after it: 2.6 KB → 3.
	f.items["A|3"] = sized(t, "A", "3", 500, nil)
	f.next["A|3"] = sized(t, "A", "3", 2600, nil)
	if _, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": s("A"), "SK": s("3")},
		UpdateExpression: aws.String("SET x = :x")}); err != nil {
		t.Fatal(err)
	}
	if w := m.snapshot().write; w != 5+3 {
		t.Errorf("UpdateItem to 2.6 KB: total %v WCU, want 8", w)
	}

	// In a transaction, each item is 2 per KB, rounded up per item:
	// put 1.5 KB (4), update 500 B → 1.1 KB (4), delete 1.5 KB (4),
	// condition check on a small item (2).
	f.items["B|u"] = sized(t, "B", "u", 500, nil)
	f.next["B|u"] = sized(t, "B", "u", 1126, nil)
	f.items["B|d"] = sized(t, "B", "d", 1536, nil)
	f.items["B|c"] = sized(t, "B", "c", 50, nil)
	before := m.snapshot().write
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		put(sized(t, "B", "p", 1536, nil)),
		{Update: &types.Update{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": s("B"), "SK": s("u")}, UpdateExpression: aws.String("SET x = :x")}},
		{Delete: &types.Delete{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": s("B"), "SK": s("d")}}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": s("B"), "SK": s("c")}, ConditionExpression: aws.String("seq = :s")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := m.snapshot()
	if d := got.write - before; d != 4+4+4+2 {
		t.Errorf("mixed transaction: %v WCU, want 14", d)
	}
	if got.calls != 4 || got.maxTxItems != 4 || got.maxItem != 3072 {
		t.Errorf("counts %+v: want 4 calls, 4 items, largest 3072 bytes", got)
	}
}

func TestIndexWrites(t *testing.T) {
	f, c, m, ctx := newFake(t)
	ix := func(day string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"GSI1PK": s("EXP#" + day), "GSI1SK": s("t#x")}
	}
	// A new item carrying the index keys enters the index: 1 standard write.
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(t, "L", "1", 300, ix("d1"))}); err != nil {
		t.Fatal(err)
	}
	if got := m.snapshot(); got.indexWrite != 1 || got.write != 1+1 {
		t.Errorf("put into the index: %+v, want 1 index write of 2 in all", got)
	}
	// Rewriting it with the same index key and other attributes changed: a
	// KEYS_ONLY entry does not change.
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(t, "L", "1", 320, ix("d1"))}); err != nil {
		t.Fatal(err)
	}
	if got := m.snapshot(); got.indexWrite != 1 {
		t.Errorf("same index key: %v index writes in all, want 1", got.indexWrite)
	}
	// Moving it in the index: delete + put, in a transaction still standard writes.
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put(sized(t, "L", "1", 320, ix("d2")))}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.snapshot(); got.indexWrite != 1+2 || got.write != 2+1+(2+2) {
		t.Errorf("index key changed: %+v, want 3 index writes, 7 WCU in all", got)
	}
	// Deleting it takes it out of the index.
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": s("L"), "SK": s("1")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.snapshot(); got.indexWrite != 4 {
		t.Errorf("delete from the index: %v index writes in all, want 4", got.indexWrite)
	}
	if len(f.items) != 0 {
		t.Errorf("fake left %d items", len(f.items))
	}
}

func TestFailedWritesStillCost(t *testing.T) {
	f, c, m, ctx := newFake(t)
	f.items["A|1"] = sized(t, "A", "1", 2048, nil)
	f.fail = true
	// A failed condition costs the existing item (2 KB → 2), not the new one.
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: sized(t, "A", "1", 4000, nil), ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if !isConditionFailed(err) {
		t.Fatalf("fake did not fail the condition: %v", err)
	}
	if got := m.snapshot(); got.write != 2 || got.failed != 1 || got.indexWrite != 0 {
		t.Errorf("failed conditional put: %+v, want 2 WCU, 1 failed", got)
	}
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put(sized(t, "A", "2", 100, nil)), put(sized(t, "A", "3", 100, nil))}})
	if err == nil {
		t.Fatal("fake did not cancel the transaction")
	}
	if got := m.snapshot(); got.write != 2+4 || got.failed != 2 || got.calls != 2 {
		t.Errorf("cancelled transaction: %+v, want 6 WCU in all, 2 failed, 2 calls", got)
	}
}

func TestReadsFollowReturnedItems(t *testing.T) {
	f, c, m, ctx := newFake(t)
	f.items["M|A"] = sized(t, "M", "A", 5000, nil)
	f.items["M|B"] = sized(t, "M", "B", 1536, map[string]types.AttributeValue{"keep": s("y")})
	f.items["N|1"] = sized(t, "N", "1", 6656, nil)
	key := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk)}
	}
	step := func(what string, want float64, call func() error) {
		t.Helper()
		before := m.snapshot().read
		if err := call(); err != nil {
			t.Fatal(err)
		}
		if got := m.snapshot().read - before; got != want {
			t.Errorf("%s: %v RCU, want %v", what, got, want)
		}
	}
	step("strongly consistent GetItem of 5000 bytes", 2, func() error {
		_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key("M", "A"), ConsistentRead: aws.Bool(true)})
		return err
	})
	step("eventually consistent GetItem of 5000 bytes", 1, func() error {
		_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key("M", "A")})
		return err
	})
	step("GetItem of an absent item", 1, func() error {
		_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key("M", "Z"), ConsistentRead: aws.Bool(true)})
		return err
	})
	// AWS's example: 1.5 KB and 6.5 KB in one BatchGetItem are 4 KB + 8 KB;
	// plus one absent key at the minimum.
	step("BatchGetItem of 1.5 KB, 6.5 KB and an absent key", 1+2+1, func() error {
		_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			"t": {Keys: []map[string]types.AttributeValue{key("M", "B"), key("N", "1"), key("Q", "0")}, ConsistentRead: aws.Bool(true)}}})
		return err
	})
	// A Query sums what it read (5000 + 1536 → 2 units), filter or not.
	step("strongly consistent Query", 2, func() error {
		_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("t"), KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("M")}, ConsistentRead: aws.Bool(true)})
		return err
	})
	step("filtered Query is billed on what it evaluated", 2, func() error {
		out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("t"), KeyConditionExpression: aws.String("PK = :pk"),
			FilterExpression: aws.String("attribute_exists(keep) AND #k = :v"), ExpressionAttributeNames: map[string]string{"#k": "keep"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("M"), ":v": s("y")}, ConsistentRead: aws.Bool(true)})
		if err == nil && len(out.Items) != 1 {
			t.Errorf("fake filter returned %d items", len(out.Items))
		}
		return err
	})
	if got := m.snapshot(); got.calls != 6 || got.err != nil {
		t.Errorf("reads: %+v, want 6 calls and no error", got)
	}
}

func TestUnknownTableIsAnError(t *testing.T) {
	_, c, m, ctx := newFake(t)
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("other"), Item: sized(t, "A", "1", 10, nil)}); err != nil {
		t.Fatal(err)
	}
	if m.snapshot().err == nil {
		t.Error("a write to a table the model does not know was priced silently")
	}
	if err := checkModel(modelCounts{calls: 2}, 3); err == nil {
		t.Error("a call that bypassed the model went unnoticed")
	}
}

// Reads aside that overlap (the store writes its sending limits at once)
// count once: the time subtracted from a request never exceeds its own.
func TestAsideTimeIsTheUnionOfSpans(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	got := unionLength([]span{{at(10), at(20)}, {at(0), at(5)}, {at(12), at(30)}, {at(30), at(31)}, {at(40), at(41)}})
	if want := (5 + 21 + 1) * time.Millisecond; got != want {
		t.Fatalf("union of spans: %v, want %v", got, want)
	}
}
