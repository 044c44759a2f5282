package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// A gift card is an item collection of its own: the card (balance, seq,
// last hash) and its ledger entries L#<seq>, so a card's history is one
// Query and two closes spending one card meet on the card's seq.
func giftCardPK(t, number string) string { return "T#" + t + "#GC#" + number }

const skGiftCard = "GIFTCARD"

// giftCardItem is the card as stored; with value left and an expiry it is
// in the sweep's index, due at its expiry.
func (s *Store) giftCardItem(tenantID string, g *loyalty.GiftCard, now time.Time) (map[string]types.AttributeValue, error) {
	pk := giftCardPK(tenantID, g.Number)
	item, err := marshal(g, pk, skGiftCard)
	if err != nil {
		return nil, err
	}
	if !g.ExpiresAt.IsZero() && g.Balance > 0 {
		merge(item, s.indexKeys(dueExpire, g.ExpiresAt, now, pk, skGiftCard))
	}
	return item, nil
}

// giftCardWrites add cards and their entries to a transaction: each card
// conditioned on the seq read (absent when new), each entry absent. Two
// operations spending one card cannot both commit on the same seq, so a
// card is never spent beyond the balance either of them read.
func (s *Store) giftCardWrites(t *txn, tenantID string, ws []loyalty.GiftCardWrite, at time.Time) error {
	for i := range ws {
		w := &ws[i]
		item, err := s.giftCardItem(tenantID, &w.Card, at)
		if err != nil {
			return err
		}
		if w.PrevSeq == 0 {
			t.put(putNew(item), loyalty.ErrGiftCardNumberTaken)
		} else {
			t.put(putIf(item, "seq", w.PrevSeq), loyalty.ErrConflict)
		}
		pk := giftCardPK(tenantID, w.Card.Number)
		for j := range w.Entries {
			e, err := marshal(&w.Entries[j], pk, entrySK(w.Entries[j].Seq))
			if err != nil {
				return err
			}
			t.put(putNew(e), loyalty.ErrConflict)
		}
	}
	return nil
}

// WriteGiftCards writes cards and their entries in one transaction, with
// the idempotency record when given.
func (s *Store) WriteGiftCards(ctx context.Context, tenantID string, ws []loyalty.GiftCardWrite, idem *loyalty.IdemRecord) error {
	t := &txn{table: s.table}
	at := time.Now()
	if len(ws) > 0 && len(ws[0].Entries) > 0 {
		at = ws[0].Entries[0].At
	}
	if err := s.giftCardWrites(t, tenantID, ws, at); err != nil {
		return err
	}
	if idem != nil {
		p, err := idemPut(tenantID, idem, nil)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrIdempotencyRace)
	}
	return s.run(ctx, t)
}

// GetGiftCard reads one card by its (normalised) number.
func (s *Store) GetGiftCard(ctx context.Context, tenantID, number string) (*loyalty.GiftCard, error) {
	var g loyalty.GiftCard
	if err := s.getInto(ctx, giftCardPK(tenantID, number), skGiftCard, &g, loyalty.ErrGiftCardNotFound); err != nil {
		return nil, err
	}
	g.TenantID = tenantID
	return &g, nil
}

// GetGiftCards reads cards by number in one batch.
func (s *Store) GetGiftCards(ctx context.Context, tenantID string, numbers []string) (map[string]loyalty.GiftCard, error) {
	keys, names := namedKeys(numbers, func(n string) (string, string) { return giftCardPK(tenantID, n), skGiftCard })
	items, err := s.batchGetAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	return decodeNamed(items, names, func(g *loyalty.GiftCard) { g.TenantID = tenantID })
}

// GiftCardLedger reads a card's latest entries (limit 0: all), oldest first.
func (s *Store) GiftCardLedger(ctx context.Context, tenantID, number string, limit int) ([]loyalty.GiftCardEntry, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :l)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(giftCardPK(tenantID, number)), ":l": str("L#")},
		ConsistentRead:            aws.Bool(true),
	}
	var items []map[string]types.AttributeValue
	var err error
	if limit > 0 {
		in.ScanIndexForward, in.Limit = aws.Bool(false), aws.Int32(int32(limit))
		in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
		out, qerr := s.db.Query(ctx, in)
		if qerr != nil {
			track(ctx, reads)
			return nil, qerr
		}
		track(ctx, reads, one(out.ConsumedCapacity)...)
		for i := len(out.Items) - 1; i >= 0; i-- {
			items = append(items, out.Items[i])
		}
	} else if items, err = s.queryAll(ctx, in); err != nil {
		return nil, err
	}
	entries := make([]loyalty.GiftCardEntry, 0, len(items))
	for _, it := range items {
		var e loyalty.GiftCardEntry
		if err := unmarshal(it, &e); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// VerifyGiftCard recomputes a card's chain and sums from its full ledger.
func (s *Store) VerifyGiftCard(ctx context.Context, tenantID, number string) error {
	g, err := s.GetGiftCard(ctx, tenantID, number)
	if err != nil {
		return err
	}
	entries, err := s.GiftCardLedger(ctx, tenantID, number, 0)
	if err != nil {
		return err
	}
	return loyalty.VerifyGiftCard(*g, entries)
}
