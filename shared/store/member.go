package store

import (
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// A member's account item carries, besides the account, its lots and its
// activity counters while they are small, so a typical balance change writes
// one item for all three instead of three items (each item of a transaction
// costs at least 2 write units). Parts that would take the item past
// accountBudget live in items of their own, as before: a lot that does not
// fit is written as a lot item, counters that outgrow the budget move to the
// stats item for good. A lot stays where it was first written.
//
// The budget is 2 KB: a transactional write costs 2 units per KB, so an
// account item of up to 2 KB costs at most what the account item plus one
// separate lot item cost (2 + 2 units), and never more items.
const accountBudget = 2 * 1024

// Attributes of the account item beyond the account's own fields.
const (
	attrRev   = "rev"   // counts the item's writes; every write is conditioned on it
	attrLots  = "lots"  // lot id → lot, the lots kept inside (packed: lotcode.go)
	attrStats = "stats" // the activity counters, while inside
)

// memberItem is the account item a commit writes and where its parts went.
type memberItem struct {
	item       map[string]types.AttributeValue
	inline     map[string]bool // lots inside the item after the write
	statsApart bool            // counters in their own item after the write
	movedStats bool            // counters leave the item in this write
}

// buildMemberItem lays out the account item after a commit: the account,
// the lots already inside that still have points, the counters unless they
// are apart or do not fit, then new lots while they fit.
func (s *Store) buildMemberItem(c *loyalty.Commit) (*memberItem, error) {
	item, err := s.accountItem(c.TenantID, c.Account)
	if err != nil {
		return nil, err
	}
	item[attrRev] = num(c.Layout.Rev + 1)
	m := &memberItem{item: item, inline: map[string]bool{}, statsApart: c.Layout.StatsApart}
	newLot := map[string]bool{}
	for _, lw := range c.Lots {
		if lw.New {
			newLot[lw.Lot.ID] = true
		}
	}
	lots := map[string]types.AttributeValue{}
	var candidates []loyalty.Lot
	for _, l := range c.LiveLots {
		switch {
		case c.Layout.InlineLots[l.ID]:
			lots[l.ID] = encodeInlineLot(l)
			m.inline[l.ID] = true
		case newLot[l.ID]:
			candidates = append(candidates, l)
		}
	}
	// fits lays out the item with the lots inside so far and its place in
	// the sweep index, and says whether it is within the budget.
	fits := func() bool {
		if len(lots) > 0 {
			item[attrLots] = &types.AttributeValueMemberM{Value: lots}
		} else {
			delete(item, attrLots)
		}
		delete(item, layout.IndexHashKey)
		delete(item, layout.IndexRangeKey)
		if kind, at, ok := soonestDue(c.LiveLots, m.inline); ok {
			merge(item, s.indexKeys(kind, at, c.At, memberPK(c.TenantID, c.MemberID), skAccount))
		}
		return ItemSize(item) <= accountBudget
	}
	if !m.statsApart && hasStats(c.AllStats) {
		v, err := marshalValue(c.AllStats)
		if err != nil {
			return nil, err
		}
		item[attrStats] = v
		if !fits() {
			delete(item, attrStats)
			m.statsApart, m.movedStats = true, true
		}
	}
	for _, l := range candidates {
		lots[l.ID], m.inline[l.ID] = encodeInlineLot(l), true
		if !fits() {
			delete(lots, l.ID)
			delete(m.inline, l.ID)
		}
	}
	fits()
	return m, nil
}

// soonestDue is the earliest sweep work among the lots inside: the sweep
// finds the member through it.
func soonestDue(live []loyalty.Lot, inline map[string]bool) (kind string, at time.Time, ok bool) {
	for i := range live {
		if !inline[live[i].ID] {
			continue
		}
		if k, t, due := lotDue(&live[i]); due && (!ok || t.Before(at)) {
			kind, at, ok = k, t, true
		}
	}
	return kind, at, ok
}

// hasStats: counters worth keeping (programs without tiers keep none).
func hasStats(st loyalty.Stats) bool { return len(st.Days) > 0 || len(st.Groups) > 0 }

// lotDue is when the sweep has work on a lot: a pending lot matures, a lot
// with points and an expiry expires.
func lotDue(l *loyalty.Lot) (kind string, at time.Time, ok bool) {
	switch {
	case l.Remaining <= 0:
		return "", time.Time{}, false // spent or expired: nobody's work
	case l.Pending:
		return dueMature, l.AvailableFrom, true
	case l.Expires():
		return dueExpire, l.ExpiresAt, true
	}
	return "", time.Time{}, false
}

// accountCondition requires the account item unchanged since it was read:
// its revision, or for an item written before revisions, its seq and no
// revision.
func accountCondition(c *loyalty.Commit) (string, map[string]types.AttributeValue) {
	if c.Layout.Rev > 0 {
		return "#rev = :rev", map[string]types.AttributeValue{":rev": num(c.Layout.Rev)}
	}
	return "attribute_not_exists(#rev) AND seq = :seq", map[string]types.AttributeValue{":seq": num(c.PrevSeq)}
}

// decodeMemberItem reads the account item's own parts into st.
func decodeMemberItem(it map[string]types.AttributeValue, st *loyalty.MemberState) error {
	if err := unmarshal(it, &st.Account); err != nil {
		return err
	}
	if v, ok := it[attrRev].(*types.AttributeValueMemberN); ok {
		if err := unmarshalValue(v, &st.Layout.Rev); err != nil {
			return err
		}
	}
	if v, ok := it[attrLots].(*types.AttributeValueMemberM); ok {
		st.Layout.InlineLots = make(map[string]bool, len(v.Value))
		ids := make([]string, 0, len(v.Value))
		for id := range v.Value {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			l, err := decodeInlineLot(id, v.Value[id])
			if err != nil {
				return err
			}
			st.Lots = append(st.Lots, l)
			st.Layout.InlineLots[l.ID] = true
		}
	}
	if v, ok := it[attrStats]; ok {
		if err := unmarshalValue(v, &st.Stats); err != nil {
			return err
		}
	}
	return nil
}
