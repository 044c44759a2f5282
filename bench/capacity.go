package main

// Capacity model: what AWS would bill for the DynamoDB requests the store
// actually sends, computed by AWS's published rules. DynamoDB Local's
// ConsumedCapacity is not that figure: it reports 2 units for a 7-item
// transaction of small items, where AWS charges 2 write units per KB of
// every item in a TransactWriteItems (14 for the same transaction). So the
// benchmark wraps the DynamoDB client the store is built on (capture, below),
// sees every request and its response, and prices each one here.
//
// Rules applied (AWS DynamoDB Developer Guide, "DynamoDB item sizes and
// formats" and "DynamoDB read and write operations"; on-demand pricing page):
//
//   - item size: sum over attributes of the UTF-8 length of the name plus the
//     value's size: strings their UTF-8 bytes, binaries their raw bytes,
//     numbers 1 byte per two significant digits + 1, booleans and nulls 1,
//     lists and maps 3 bytes + 1 byte per element + the elements (a map
//     element's name counts), sets the sum of their elements;
//   - a standard write: 1 unit per KB (1024 bytes) of the item, rounded up;
//     PutItem and UpdateItem are sized on the larger of the item before and
//     after, DeleteItem on the deleted item; a write whose condition fails
//     still costs the existing item's size (at least 1 unit);
//   - a transactional write (each Put, Update, Delete and ConditionCheck of a
//     TransactWriteItems): 2 units per KB of that item, rounded up per item;
//   - a read: 1 unit per 4 KB for a strongly consistent read, half that for an
//     eventually consistent one (2 for transactional reads); an absent item
//     still costs the minimum; BatchGetItem rounds each item on its own;
//     Query adds the sizes of the items it evaluated and rounds the sum once;
//   - a global secondary index: every change of an item's index entry is a
//     standard write of the projected entry (the table and index keys for a
//     KEYS_ONLY index): 1 write when an item enters or leaves the index, 2
//     (delete + put) when its index key changes, none otherwise.
//
// Approximations, stated in the report as well: numbers are sized by the
// published rule (the exact encoding may differ by a byte); the item "before"
// and "after" a write are read aside (see capture), not reported by DynamoDB;
// AWS publishes no rule for a cancelled TransactWriteItems, so a cancelled
// one is charged like the attempted writes on the items as they stood.

import (
	"math"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/store"
)

const (
	writeUnitBytes = 1024 // one write unit covers 1 KB of an item
	readUnitBytes  = 4096 // one read unit covers 4 KB, strongly consistent
)

// itemSize is an item's size by AWS's published rules (the store sizes its
// account items by the same function).
func itemSize(item map[string]types.AttributeValue) int { return store.ItemSize(item) }

// units rounds a size up to whole units of unit bytes; an item never costs
// less than one unit (an absent item or a failed condition included).
func units(size, unit int) float64 {
	return math.Max(1, math.Ceil(float64(size)/float64(unit)))
}

// writeUnits of one write of an item sized max(before, after) bytes: 1 per
// KB, doubled inside a transaction.
func writeUnits(before, after int, transactional bool) float64 {
	u := units(max(before, after), writeUnitBytes)
	if transactional {
		u *= 2
	}
	return u
}

// Read consistency of a request, which sets the price of each 4 KB.
type consistency int

const (
	eventual consistency = iota
	strong
	transactional
)

func (c consistency) factor() float64 {
	switch c {
	case strong:
		return 1
	case transactional:
		return 2
	}
	return 0.5
}

// readUnitsItem is a GetItem (or one key of a BatchGetItem) of an item of
// size bytes (0 when absent).
func readUnitsItem(size int, c consistency) float64 {
	return units(size, readUnitBytes) * c.factor()
}

// readUnitsQuery is a Query (or one page of it) that evaluated items of
// these sizes: their sum is rounded up once.
func readUnitsQuery(sizes []int, c consistency) float64 {
	total := 0
	for _, s := range sizes {
		total += s
	}
	return units(total, readUnitBytes) * c.factor()
}

// indexSchema describes a global secondary index as far as its write cost
// depends on it.
type indexSchema struct {
	HashKey, RangeKey string
	// KeysOnly: the entry holds only the table's and the index's keys, so
	// it changes only when the index key does.
	KeysOnly bool
}

// tableSchema names the table's key attributes and its indexes.
type tableSchema struct {
	HashKey, RangeKey string
	Indexes           []indexSchema
}

// key extracts an item's primary key.
func (t tableSchema) key(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{t.HashKey: item[t.HashKey], t.RangeKey: item[t.RangeKey]}
}

// entry is the item's entry in index ix, or nil when it is not indexed.
func (t tableSchema) entry(ix indexSchema, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil || item[ix.HashKey] == nil || item[ix.RangeKey] == nil {
		return nil
	}
	if !ix.KeysOnly {
		return item
	}
	e := t.key(item)
	e[ix.HashKey], e[ix.RangeKey] = item[ix.HashKey], item[ix.RangeKey]
	return e
}

// indexWriteUnits are the standard writes that propagating a change of an
// item from before to after (nil: absent) costs in the table's indexes.
func (t tableSchema) indexWriteUnits(before, after map[string]types.AttributeValue) float64 {
	total := 0.0
	for _, ix := range t.Indexes {
		b, a := t.entry(ix, before), t.entry(ix, after)
		switch {
		case b == nil && a == nil:
		case b == nil:
			total += units(itemSize(a), writeUnitBytes)
		case a == nil:
			total += units(itemSize(b), writeUnitBytes)
		case !sameValue(b[ix.HashKey], a[ix.HashKey]) || !sameValue(b[ix.RangeKey], a[ix.RangeKey]):
			total += units(itemSize(b), writeUnitBytes) + units(itemSize(a), writeUnitBytes)
		case !ix.KeysOnly:
			// An entry projecting other attributes is rewritten when they
			// change; charged on every write of the item (an upper bound).
			total += units(max(itemSize(b), itemSize(a)), writeUnitBytes)
		}
	}
	return total
}

// sameValue compares two scalar key values (index keys are S, N or B).
func sameValue(a, b types.AttributeValue) bool {
	switch a := a.(type) {
	case *types.AttributeValueMemberS:
		b, ok := b.(*types.AttributeValueMemberS)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberN:
		b, ok := b.(*types.AttributeValueMemberN)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberB:
		b, ok := b.(*types.AttributeValueMemberB)
		return ok && string(a.Value) == string(b.Value)
	}
	return false
}
