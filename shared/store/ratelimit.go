package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Rate limits over sliding windows, kept as a sliding window of buckets.
//
// A limit of L events per window W splits time into buckets of W/12. One item
// per limit and scope holds the count of each recent bucket (attributes
// b<bucket number>). An event at time t is admitted when the buckets from the
// one W before t up to t's own hold fewer than L: those buckets cover at least
// the W before t, so no W-long interval ever holds more than L events, however
// they fall (fixed windows let a burst at the end of one window and another at
// the start of the next pass: twice the limit in a moment). The price is a
// window up to one bucket (W/12) longer than W when refusing.
//
// Why not the sliding-window-counter approximation (previous window's count
// weighted by overlap): it assumes the previous window's events were spread
// evenly, so events bunched at its end let almost twice the limit through
// within W. Why not a sliding log: exact, but one item holding up to L
// timestamps is written whole on every send (2000 a day: tens of KB, as many
// write units per send), and dropping old entries needs to know them.
//
// One conditioned write per limit. A past bucket no longer changes, so the
// item is read first (every limit's in one BatchGetItem) and the past
// buckets' sum gives the room left, cap = L − past; the write then adds one to
// the current bucket on the condition that it holds fewer than cap. DynamoDB
// checks that atomically against the live count, so concurrent requests are
// admitted exactly up to the limit, however many race. (A request whose
// clock was still in the previous bucket when this one read can add to it
// after the read: at most the requests in flight across a bucket boundary.)
// The same write removes buckets that have left the window, and sets the
// item's TTL to when its newest bucket leaves.
//
// A request counts against all its limits or none: a limit already reached
// by the counts read refuses before anything is written; when a conditioned
// write refuses, the writes of the other limits are taken back (ADD −1), so a
// refused request does not use up the room of the limits it passed. (Until
// taken back, a count may refuse a concurrent request a moment early; it
// never admits one past a limit.)

// rateBuckets is the number of buckets a window is split into.
const rateBuckets = 12

const skRate = "RATE"

// ratePK is the counter item of a limit: its scope (hashed: it may hold a
// phone number) and window length.
func ratePK(tenantID string, l loyalty.RateLimit) string {
	return fmt.Sprintf("%s#%d", rateKey(tenantID, l.Scope), int64(l.Window/time.Second))
}

// rateWindow is one limit seen at one instant (times in milliseconds).
type rateWindow struct {
	limit  loyalty.RateLimit
	pk     string
	bucket int64           // bucket length
	span   int64           // buckets before the current one the window reaches into
	now    int64           // the instant
	cur    int64           // the current bucket's number (now / bucket)
	counts map[int64]int64 // counts of the buckets in the window, by number
	stale  []string        // attributes of buckets that left the window
}

func newRateWindow(tenantID string, l loyalty.RateLimit, now time.Time) rateWindow {
	w := l.Window.Milliseconds()
	b := ceilDiv(w, rateBuckets)
	t := now.UnixMilli()
	return rateWindow{limit: l, pk: ratePK(tenantID, l), bucket: b, span: ceilDiv(w, b), now: t, cur: t / b}
}

// read takes the bucket counts of the limit's item (nil: no events yet).
func (w *rateWindow) read(item map[string]types.AttributeValue) error {
	w.counts, w.stale = map[int64]int64{}, nil
	for name, v := range item {
		no, err := strconv.ParseInt(strings.TrimPrefix(name, "b"), 10, 64)
		if !strings.HasPrefix(name, "b") || err != nil {
			continue // PK, SK, ttl
		}
		nv, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return fmt.Errorf("rate limit %s: bucket is not a number", w.limit.Name)
		}
		n, err := strconv.ParseInt(nv.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("rate limit %s: %w", w.limit.Name, err)
		}
		if no < w.cur-w.span {
			w.stale = append(w.stale, name)
			continue
		}
		// A bucket after the current one comes from a clock ahead of ours:
		// its events happened, so they count.
		w.counts[no] = n
	}
	return nil
}

// room is how many events the current bucket may still hold: the limit less
// the buckets before it in the window (and any from a clock ahead).
func (w *rateWindow) room() int64 {
	past := int64(0)
	for no, n := range w.counts {
		if no != w.cur {
			past += n
		}
	}
	return w.limit.Max - past
}

func (w *rateWindow) full() bool { return w.counts[w.cur] >= w.room() }

// retryAfter is how long until one more event is admitted if nothing else is
// counted meanwhile: until enough of the oldest buckets have left the window.
func (w *rateWindow) retryAfter() time.Duration {
	nos := make([]int64, 0, len(w.counts))
	total := int64(0)
	for no, n := range w.counts {
		nos = append(nos, no)
		total += n
	}
	slices.Sort(nos)
	for _, no := range nos {
		if total < w.limit.Max {
			break
		}
		total -= w.counts[no]
		// Bucket no is in the window of bucket s while no ≥ s − span.
		if wait := (no+w.span+1)*w.bucket - w.now; wait > 0 {
			return time.Duration(wait) * time.Millisecond
		}
	}
	return time.Millisecond
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// Hit counts one event at now against every limit, or none when any limit is
// reached: then it refuses with loyalty.TooManyRequests naming the limit that
// frees up last, and when.
func (s *Store) Hit(ctx context.Context, tenantID string, now time.Time, limits ...loyalty.RateLimit) error {
	if len(limits) == 0 {
		return nil
	}
	if len(limits) > 100 {
		return fmt.Errorf("rate limit: %d limits in one hit, at most 100", len(limits))
	}
	ws := make([]rateWindow, len(limits))
	keys := make([]map[string]types.AttributeValue, 0, len(limits))
	for i, l := range limits {
		if l.Max <= 0 || l.Window < time.Second {
			return fmt.Errorf("rate limit %s: needs a positive maximum and a window of a second or more", l.Name)
		}
		ws[i] = newRateWindow(tenantID, l, now)
		keys = append(keys, key(ws[i].pk, skRate))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	var refused []*rateWindow
	for i := range ws {
		if err := ws[i].read(items[ws[i].pk+"|"+skRate]); err != nil {
			return err
		}
		if ws[i].full() {
			refused = append(refused, &ws[i])
		}
	}
	if len(refused) > 0 {
		return refusal(refused)
	}

	// Every limit has room by the counts read: count in all of them at once,
	// each write conditioned on the room it still has.
	counted := make([]bool, len(ws))
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i := range ws {
		wg.Go(func() { counted[i], errs[i] = s.countIn(ctx, &ws[i]) })
	}
	wg.Wait()
	for i := range ws {
		if !counted[i] && errs[i] == nil {
			refused = append(refused, &ws[i])
		}
	}
	if err := errors.Join(errs...); err == nil && len(refused) == 0 {
		return nil
	}
	// Take back what was counted, so the request counts nowhere. Best effort:
	// a lost decrement only makes that limit stricter until it leaves the window.
	undo := context.WithoutCancel(ctx)
	for i := range ws {
		if counted[i] {
			wg.Go(func() { s.uncount(undo, &ws[i]) })
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return refusal(refused)
}

// countIn adds one event to the current bucket of w if it has room; refused,
// w holds the counts that refused it.
func (s *Store) countIn(ctx context.Context, w *rateWindow) (bool, error) {
	room := w.room()
	if room <= 0 {
		return false, nil // attribute_not_exists below would admit it
	}
	names := map[string]string{"#b": "b" + strconv.FormatInt(w.cur, 10), "#ttl": layout.TTLAttribute}
	update := "ADD #b :one SET #ttl = :ttl"
	for i, a := range w.stale {
		if i == 0 {
			update += " REMOVE "
		} else {
			update += ", "
		}
		names["#s"+strconv.Itoa(i)] = a
		update += "#s" + strconv.Itoa(i)
	}
	// The item is needed until its newest bucket has left the window.
	expires := ((w.cur+w.span+1)*w.bucket)/1000 + 1
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(w.pk, skRate),
		UpdateExpression:          &update,
		ConditionExpression:       strp("attribute_not_exists(#b) OR #b < :room"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":room": num(room), ":ttl": num(expires)},
		// A refusal returns the counts that refused, for Retry-After.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		var cf *types.ConditionalCheckFailedException
		if errors.As(err, &cf) {
			if err := w.read(cf.Item); err != nil {
				return false, err
			}
			if !w.full() {
				// Only a bucket a concurrent request just added refused it.
				w.counts[w.cur] = w.room()
			}
			return false, nil
		}
		return false, fmt.Errorf("rate limit: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return true, nil
}

// uncount takes back one event counted in the current bucket of w.
func (s *Store) uncount(ctx context.Context, w *rateWindow) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(w.pk, skRate),
		UpdateExpression:          strp("ADD #b :minus"),
		ConditionExpression:       strp("#b > :zero"),
		ExpressionAttributeNames:  map[string]string{"#b": "b" + strconv.FormatInt(w.cur, 10)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0)},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		return
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
}

// refusal names the refused limit that frees up last: the request may pass
// only once all of them have room.
func refusal(refused []*rateWindow) error {
	worst, wait := refused[0], refused[0].retryAfter()
	for _, w := range refused[1:] {
		if d := w.retryAfter(); d > wait {
			worst, wait = w, d
		}
	}
	return loyalty.TooManyRequests(worst.limit.Name, wait)
}
