// Package recentops keeps, per point of sale, the last operations made
// there, for the till page's "recent operations" list. It is a consumer of
// the event feed, not part of the hot path: redeem, close and refund write
// nothing more, and the list follows the stream within seconds.
//
// Why a feed item and not an index: ledger entries carry their point of
// sale, but nothing reads entries by it. A sparse GSI on the entries would
// charge an index write on every entry a till makes (and every accrual and
// capture of a close), whether anybody looks at the till's list or not. One
// small item per point of sale (at most Keep operations, ~2 KB), rewritten
// once per stream batch that touches it, costs a read and a write per
// batch and point of sale, and reading the list is one GetItem.
package recentops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/feed"
)

// Keep is how many operations a point of sale's list holds.
const Keep = 20

// Op is one operation at a till: a ledger entry a staff key of the point of
// sale made. The card is stored masked: the list is for the cashier's eyes
// and needs no more.
type Op struct {
	ID        string    `json:"id"` // the feed event's id: redelivery-proof
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	MemberID  string    `json:"memberId"`
	Seq       int64     `json:"seq"`            // the member's ledger seq: orders one commit's entries
	Card      string    `json:"card,omitempty"` // masked: •• 1234
	Points    int64     `json:"points"`         // change of available + pending
	Available int64     `json:"dAvailable,omitempty"`
	Held      int64     `json:"dHeld,omitempty"`
	OrderID   string    `json:"orderId,omitempty"`
}

// List is a point of sale's stored list, newest first. Version guards the
// read-modify-write of concurrent consumers (two shards' batches).
type List struct {
	Version int64 `json:"version"`
	Ops     []Op  `json:"ops"`
}

// Merge adds ops to a list: the result is the Keep newest of the union by
// id, newest first. It is a function of the set of ops seen, so a batch
// delivered again, or batches in any order, give the same list. changed
// is false when nothing new entered the list.
func Merge(list []Op, add []Op) (out []Op, changed bool) {
	seen := make(map[string]bool, len(list)+len(add))
	out = make([]Op, 0, len(list)+len(add))
	for _, o := range list {
		if !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o)
		}
	}
	n := len(out)
	for _, o := range add {
		if !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return newer(out[i], out[j]) })
	if len(out) > Keep {
		out = out[:Keep]
	}
	if len(out) != n {
		return out, true
	}
	for _, o := range out {
		if !inList(list, o.ID) {
			return out, true
		}
	}
	return out, false
}

func newer(a, b Op) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	return a.ID > b.ID
}

func inList(list []Op, id string) bool {
	for _, o := range list {
		if o.ID == id {
			return true
		}
	}
	return false
}

// MaskCard keeps a card number's last four digits.
func MaskCard(card string) string {
	if len(card) <= 4 {
		return card
	}
	return "•• " + card[len(card)-4:]
}

// ErrConflict is what Store.PutRecent returns when the list changed since
// it was read.
var ErrConflict = errors.New("recent operations changed meanwhile")

// Store keeps the lists.
type Store interface {
	// Recent reads a point of sale's list (zero List when none).
	Recent(ctx context.Context, tenantID, posID string) (List, error)
	// PutRecent writes the list, conditioned on the version read
	// (l.Version); the stored version becomes l.Version+1.
	PutRecent(ctx context.Context, tenantID, posID string, l List) error
	// Cards reads members' card numbers (members not found are left out).
	Cards(ctx context.Context, tenantID string, memberIDs []string) (map[string]string, error)
}

// Sink is the feed consumer.
type Sink struct {
	Store  Store
	Logger *slog.Logger
}

var _ feed.Sink = (*Sink)(nil)

// pointsData is the part of a points.* event's data the list uses.
type pointsData struct {
	Kind          string `json:"kind"`
	Points        int64  `json:"points"`
	Available     int64  `json:"dAvailable"`
	Held          int64  `json:"dHeld"`
	OrderID       string `json:"orderId"`
	PointOfSaleID string `json:"pointOfSaleId"`
}

type posKey struct{ tenant, pos string }

// Consume adds the batch's till operations to their points of sale's
// lists: one read and at most one conditioned write per point of sale.
func (s *Sink) Consume(ctx context.Context, events []feed.Event) error {
	var order []posKey
	byPOS := map[posKey][]Op{}
	for _, e := range events {
		if !strings.HasPrefix(e.Type, "points.") || e.MemberID == "" {
			continue
		}
		var d pointsData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			s.logger().ErrorContext(ctx, "recent operations: event skipped", "event", e.ID, "error", err.Error())
			continue
		}
		if d.PointOfSaleID == "" {
			continue // not made at a till (sweeps, back office without a point of sale)
		}
		k := posKey{e.TenantID, d.PointOfSaleID}
		if _, ok := byPOS[k]; !ok {
			order = append(order, k)
		}
		byPOS[k] = append(byPOS[k], Op{ID: e.ID, At: e.OccurredAt, Kind: d.Kind, MemberID: e.MemberID, Seq: e.Seq,
			Points: d.Points, Available: d.Available, Held: d.Held, OrderID: d.OrderID})
	}
	for _, k := range order {
		if err := s.add(ctx, k, byPOS[k]); err != nil {
			return err
		}
	}
	return nil
}

// maxAttempts bounds the merges of one batch into a list other consumers
// keep writing; past it the batch fails and the stream delivers it again.
const maxAttempts = 20

// add merges ops into one list, again when another consumer wrote first.
func (s *Sink) add(ctx context.Context, k posKey, ops []Op) error {
	for attempt := 0; ; attempt++ {
		l, err := s.Store.Recent(ctx, k.tenant, k.pos)
		if err != nil {
			return err
		}
		merged, changed := Merge(l.Ops, ops)
		if !changed {
			return nil
		}
		if err := s.fillCards(ctx, k.tenant, merged); err != nil {
			return err
		}
		err = s.Store.PutRecent(ctx, k.tenant, k.pos, List{Version: l.Version, Ops: merged})
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= maxAttempts {
			if err != nil {
				return fmt.Errorf("recent operations of %s: %w", k.pos, err)
			}
			return nil
		}
		// Another batch wrote first: read its list and merge again, after
		// a jittered pause so that racing consumers spread out.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(attempt+1) * int64(5*time.Millisecond)))):
		}
	}
}

// fillCards masks the card of each op that lacks one: from another op of
// the same member when the list has one, else from the member directory
// (one batch read).
func (s *Sink) fillCards(ctx context.Context, tenant string, ops []Op) error {
	known := map[string]string{}
	for _, o := range ops {
		if o.Card != "" {
			known[o.MemberID] = o.Card
		}
	}
	var missing []string
	for _, o := range ops {
		if _, ok := known[o.MemberID]; !ok && o.Card == "" {
			known[o.MemberID] = ""
			missing = append(missing, o.MemberID)
		}
	}
	if len(missing) > 0 {
		cards, err := s.Store.Cards(ctx, tenant, missing)
		if err != nil {
			return err
		}
		for m, c := range cards {
			known[m] = MaskCard(c)
		}
	}
	for i := range ops {
		if ops[i].Card == "" {
			ops[i].Card = known[ops[i].MemberID]
		}
	}
	return nil
}

func (s *Sink) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
