package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/campaigns"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// maxTransactItems is DynamoDB's limit on one TransactWriteItems.
const maxTransactItems = 100

// onFail says which domain error a failed condition on an item means.
type onFail error

// txn collects the items of one transaction with the meaning of each item's
// condition, so cancellation reasons translate into domain errors.
type txn struct {
	table string
	items []types.TransactWriteItem
	fails []onFail
}

func (t *txn) put(p *types.Put, fail onFail) {
	p.TableName = &t.table
	t.items = append(t.items, types.TransactWriteItem{Put: p})
	t.fails = append(t.fails, fail)
}

// tenantOnEnroll counts the new member within the plan's limit and, on the
// tenant's first card, fixes its program type.
func tenantOnEnroll(tenantID string, en *loyalty.EnrollmentWrite) (*types.Update, onFail) {
	expr := "ADD memberCount :one"
	cond := "attribute_exists(PK)"
	vals := map[string]types.AttributeValue{":one": num(1)}
	fail := onFail(loyalty.ErrConflict)
	if en.MemberLimit > 0 {
		cond += " AND (attribute_not_exists(memberCount) OR memberCount < :limit)"
		vals[":limit"] = num(en.MemberLimit)
		fail = loyalty.PlanLimitError(loyalty.LimitMembers)
	}
	if en.LockType != "" {
		expr = "SET programType = :t " + expr
		cond += " AND currentProgramId = :p AND (attribute_not_exists(programType) OR programType = :t)"
		vals[":t"], vals[":p"] = str(en.LockType), str(en.ProgramID)
	}
	return &types.Update{
		Key: key(tenantPK(tenantID), skTenant), UpdateExpression: &expr, ConditionExpression: &cond, ExpressionAttributeValues: vals,
	}, fail
}

// meterUpdate counts one operation of a capped tenant in its usage item,
// refusing past the cap.
func meterUpdate(tenantID string, m *loyalty.Meter) (*types.Update, onFail) {
	u := &types.Update{
		Key:                       key(usagePK(tenantID, m.Month, 0), skUsage),
		UpdateExpression:          strp("ADD #k :one, #total :one"),
		ExpressionAttributeNames:  map[string]string{"#k": m.Kind, "#total": "total"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
	}
	if m.Cap > 0 {
		u.ConditionExpression = strp("attribute_not_exists(#total) OR #total < :cap")
		u.ExpressionAttributeValues[":cap"] = num(m.Cap)
	}
	return u, loyalty.PlanLimitError(loyalty.LimitMonthlyOps)
}

func (t *txn) update(u *types.Update, fail onFail) {
	u.TableName = &t.table
	t.items = append(t.items, types.TransactWriteItem{Update: u})
	t.fails = append(t.fails, fail)
}

func (t *txn) del(d *types.Delete, fail onFail) {
	d.TableName = &t.table
	t.items = append(t.items, types.TransactWriteItem{Delete: d})
	t.fails = append(t.fails, fail)
}

func (t *txn) check(c *types.ConditionCheck, fail onFail) {
	c.TableName = &t.table
	t.items = append(t.items, types.TransactWriteItem{ConditionCheck: c})
	t.fails = append(t.fails, fail)
}

// statsApart writes the counters' own item: when they move out of the
// account item (it must not exist yet), or when they live apart and changed
// (conditioned on the version read).
func (s *Store) statsApart(t *txn, c *loyalty.Commit, m *memberItem, pk string) error {
	switch {
	case m.movedStats:
		st := c.AllStats
		st.Version++
		item, err := marshal(st, pk, skStats)
		if err != nil {
			return err
		}
		t.put(putNew(item), loyalty.ErrConflict)
	case m.statsApart && c.Stats != nil:
		prev := c.Stats.Version
		st := *c.Stats
		st.Version++
		item, err := marshal(st, pk, skStats)
		if err != nil {
			return err
		}
		if prev == 0 {
			t.put(putNew(item), loyalty.ErrConflict)
		} else {
			t.put(putIf(item, "version", prev), loyalty.ErrConflict)
		}
	}
	return nil
}

// run writes the transaction and translates a cancellation into the domain
// error of the first item whose condition failed.
func (s *Store) run(ctx context.Context, t *txn) error {
	if len(t.items) == 0 {
		return nil
	}
	if len(t.items) > maxTransactItems {
		return fmt.Errorf("transaction of %d items exceeds DynamoDB's limit of %d", len(t.items), maxTransactItems)
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          t.items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		return translateCancel(err, t.fails)
	}
	track(ctx, writes, out.ConsumedCapacity...)
	return nil
}

// translateCancel maps each cancellation reason to what it means. Only a
// failed condition (the state read has changed, or the item's own meaning:
// a phone taken, a limit reached) and a conflict with another transaction
// are races the service retries; throttling is the store being busy (503,
// try again); anything else — a validation error, an item over 400 KB, an
// item collection over its size limit — is our bug, and hiding it behind
// eight retries and a 409 concurrent_update would hide its cause.
func translateCancel(err error, fails []onFail) error {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		var worst error
		for i, r := range tc.CancellationReasons {
			var meant error
			switch code := aws.ToString(r.Code); code {
			case "", "None":
				continue
			case "ConditionalCheckFailed":
				if i < len(fails) && fails[i] != nil {
					return fails[i] // the first failed condition says what went wrong
				}
				return loyalty.ErrConflict
			case "TransactionConflict":
				meant = loyalty.ErrConflict
			case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				meant = loyalty.ErrUnavailable
			default:
				// Not retried: the same request would fail the same way.
				return fmt.Errorf("transaction cancelled: item %d: %s: %s", i, code, aws.ToString(r.Message))
			}
			if worst == nil || meant == loyalty.ErrUnavailable {
				worst = meant
			}
		}
		if worst == nil {
			return fmt.Errorf("transaction cancelled without a reason: %w", err)
		}
		return worst
	}
	var tip *types.TransactionInProgressException
	if errors.As(err, &tip) {
		return loyalty.ErrConflict
	}
	return fmt.Errorf("transact write: %w", err)
}

// Commit writes one balance change atomically: the account item (with the
// lots and counters kept inside it) conditioned on the revision read (or
// absent, for a new member), the new ledger entries (each absent), every lot
// item touched (conditioned on the points read), the counters' own item when
// they live apart, the order (conditioned on its version), the idempotency
// record (absent) and, for an enrollment, the challenge and the phone and
// card claims.
func (s *Store) Commit(ctx context.Context, c *loyalty.Commit) error {
	t := &txn{table: s.table}
	if err := s.addCommit(t, c); err != nil {
		return err
	}
	return s.run(ctx, t)
}

// addCommit adds a commit's items to a transaction.
func (s *Store) addCommit(t *txn, c *loyalty.Commit) error {
	pk := memberPK(c.TenantID, c.MemberID)
	m, err := s.buildMemberItem(c)
	if err != nil {
		return err
	}
	statsInside := c.Stats != nil && !m.statsApart
	switch {
	case c.NewAccount:
		t.put(putNew(m.item), loyalty.ErrConflict)
	case len(c.Entries) > 0 || c.AccountChanged || statsInside || m.movedStats:
		cond, vals := accountCondition(c)
		t.put(&types.Put{
			Item: m.item, ConditionExpression: &cond, ExpressionAttributeValues: vals,
			ExpressionAttributeNames: map[string]string{"#rev": attrRev},
		}, loyalty.ErrConflict)
	case c.Order != nil || c.Stats != nil:
		// Nothing of the account item changes, but the write was decided on
		// this state.
		cond, vals := accountCondition(c)
		t.check(&types.ConditionCheck{
			Key: key(pk, skAccount), ConditionExpression: &cond, ExpressionAttributeValues: vals,
			ExpressionAttributeNames: map[string]string{"#rev": attrRev},
		}, loyalty.ErrConflict)
	}
	if err := s.statsApart(t, c, m, pk); err != nil {
		return err
	}
	for i := range c.Entries {
		e := &c.Entries[i]
		item, err := marshal(e, pk, entrySK(e.Seq))
		if err != nil {
			return err
		}
		t.put(putNew(item), loyalty.ErrConflict)
	}
	for i := range c.Lots {
		lw := &c.Lots[i]
		if m.inline[lw.Lot.ID] || c.Layout.InlineLots[lw.Lot.ID] {
			continue // written with the account item
		}
		item, err := s.lotItem(c.TenantID, c.MemberID, &lw.Lot, c.At)
		if err != nil {
			return err
		}
		switch {
		case lw.New:
			t.put(putNew(item), loyalty.ErrConflict)
		case lw.Delete:
			t.del(&types.Delete{
				Key:                       key(pk, lotSK(lw.Lot.ID)),
				ConditionExpression:       strp("remaining = :c"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":c": num(int64(lw.PrevRemaining))},
			}, loyalty.ErrConflict)
		default:
			t.put(putIf(item, "remaining", int64(lw.PrevRemaining)), loyalty.ErrConflict)
		}
	}
	if ow := c.Order; ow != nil {
		item, err := s.orderItem(&ow.Order, c.At)
		if err != nil {
			return err
		}
		if ow.PrevVersion == 0 {
			t.put(putNew(item), loyalty.ErrConflict)
		} else {
			t.put(putIf(item, "version", ow.PrevVersion), loyalty.ErrConflict)
		}
	}
	if err := meterWrites(t, c.TenantID, c.Meter, c.Idem, c.At); err != nil {
		return err
	}
	if en := c.Enrollment; en != nil {
		if en.ChallengeID != "" { // imported members join without a code
			t.update(&types.Update{
				Key:                       key(challengePK(c.TenantID, en.ChallengeID), skChallenge),
				UpdateExpression:          strp("SET used = :t"),
				ConditionExpression:       strp("used = :f AND attemptsLeft = :a"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":f": &types.AttributeValueMemberBOOL{Value: false}, ":a": num(int64(en.ChallengeAttempt))},
			}, loyalty.ErrConflict)
		}
		dir, err := marshal(directoryEntry(c.Account), tenantPK(c.TenantID), memberDirSK(c.MemberID))
		if err != nil {
			return err
		}
		t.put(putNew(dir), loyalty.ErrConflict)
		phone, err := marshal(uniqItem{MemberID: c.MemberID}, phonePK(c.TenantID, en.Phone), skUniq)
		if err != nil {
			return err
		}
		t.put(putNew(phone), loyalty.ErrAlreadyEnrolled)
		card, err := marshal(uniqItem{MemberID: c.MemberID}, cardPK(c.TenantID, en.Card), skUniq)
		if err != nil {
			return err
		}
		t.put(putNew(card), loyalty.ErrCardTaken)
		if en.CardFromPool {
			bindPoolCard(t, c.TenantID, en.Card, c.MemberID, c.At)
		}
		t.update(tenantOnEnroll(c.TenantID, en))
		if m := campaigns.BirthMonthOf(c.Account.BirthDate); m != 0 {
			if err := segIndexWrites(t, c.TenantID, c.MemberID, []loyalty.SegmentIndexChange{{Name: campaigns.SourceBirthMonth, Value: campaigns.BirthMonthKey(m)}}); err != nil {
				return err
			}
		}
	}
	if err := segIndexWrites(t, c.TenantID, c.MemberID, c.SegmentIndex); err != nil {
		return err
	}
	if err := referralWrites(t, c); err != nil {
		return err
	}
	if err := s.birthdayWrites(t, c); err != nil {
		return err
	}
	if cc := c.CardChange; cc != nil {
		card, err := marshal(uniqItem{MemberID: c.MemberID}, cardPK(c.TenantID, cc.New), skUniq)
		if err != nil {
			return err
		}
		t.put(putNew(card), loyalty.ErrCardTaken)
		if cc.FromPool {
			bindPoolCard(t, c.TenantID, cc.New, c.MemberID, c.At)
		}
		dir, err := marshal(directoryEntry(c.Account), tenantPK(c.TenantID), memberDirSK(c.MemberID))
		if err != nil {
			return err
		}
		t.put(&types.Put{Item: dir}, nil)
		t.del(&types.Delete{
			Key:                       key(cardPK(c.TenantID, cc.Old), skUniq),
			ConditionExpression:       strp("memberId = :m"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":m": str(c.MemberID)},
		}, loyalty.ErrConflict)
	}
	couponUpdates(t, c.TenantID, c.Coupons)
	if err := s.giftCardWrites(t, c.TenantID, c.GiftCards, c.At); err != nil {
		return err
	}
	if c.Audit != nil {
		p, err := auditPut(c.TenantID, c.Audit)
		if err != nil {
			return err
		}
		t.put(p, nil)
	}
	return nil
}

// SaveProgram writes a program, and with makeCurrent the tenant's copy of it,
// in one transaction.
func (s *Store) SaveProgram(ctx context.Context, p *loyalty.Program, prevVersion int64, makeCurrent bool, prevCurrentID string, idem *loyalty.IdemRecord, a *loyalty.AuditEntry) error {
	t := &txn{table: s.table}
	if a != nil {
		ap, err := auditPut(p.TenantID, a)
		if err != nil {
			return err
		}
		t.put(ap, nil)
	}
	item, err := marshal(p, tenantPK(p.TenantID), programSK(p.ID))
	if err != nil {
		return err
	}
	if prevVersion == 0 {
		t.put(putNew(item), loyalty.ErrConflict)
	} else {
		t.put(putIf(item, "version", prevVersion), loyalty.ErrConflict)
	}
	if makeCurrent {
		copyAV, err := marshal(p, "", "")
		if err != nil {
			return err
		}
		delete(copyAV, layout.HashKey)
		delete(copyAV, layout.RangeKey)
		// The type a tenant's cards were issued under may not change.
		cond := "(attribute_not_exists(programType) OR programType = :type) AND currentProgramId = :prev"
		vals := map[string]types.AttributeValue{":p": &types.AttributeValueMemberM{Value: copyAV}, ":id": str(p.ID), ":type": str(p.Type)}
		if prevCurrentID == "" {
			cond = "(attribute_not_exists(programType) OR programType = :type) AND attribute_not_exists(currentProgramId)"
		} else {
			vals[":prev"] = str(prevCurrentID)
		}
		t.update(&types.Update{
			Key:                       key(tenantPK(p.TenantID), skTenant),
			UpdateExpression:          strp("SET currentProgram = :p, currentProgramId = :id"),
			ConditionExpression:       strp("attribute_exists(PK) AND " + cond),
			ExpressionAttributeValues: vals,
		}, loyalty.ErrConflict)
	}
	if idem != nil {
		p, err := idemPut(p.TenantID, idem, nil)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrIdempotencyRace)
	}
	return s.run(ctx, t)
}

// PutChallenge stores a new one-time-code challenge (cleaned by TTL a day
// after it expires).
func (s *Store) PutChallenge(ctx context.Context, c *loyalty.Challenge, idem *loyalty.IdemRecord, meter *loyalty.Meter) error {
	t := &txn{table: s.table}
	item, err := marshal(challengeItem{Challenge: *c, Phone: c.Phone, Email: c.Email, Name: c.Name, BirthDate: c.BirthDate, Marketing: c.Marketing, CodeHash: c.CodeHash, ReferrerID: c.ReferrerID, Card: c.Card},
		challengePK(c.TenantID, c.ID), skChallenge)
	if err != nil {
		return err
	}
	withTTL(item, c.ExpiresAt.Add(24*60*60*1e9))
	t.put(putNew(item), loyalty.ErrConflict)
	if err := meterWrites(t, c.TenantID, meter, idem, c.CreatedAt); err != nil {
		return err
	}
	return s.run(ctx, t)
}

// CreateTenant writes the tenant, its slug claim and its owner key.
func (s *Store) CreateTenant(ctx context.Context, tn *loyalty.Tenant, k loyalty.APIKey) error {
	t := &txn{table: s.table}
	item, err := marshal(tn, tenantPK(tn.ID), skTenant)
	if err != nil {
		return err
	}
	delete(item, "currentProgram")
	t.put(putNew(item), loyalty.ErrConflict)
	slug, err := marshal(struct {
		TenantID string `json:"tenantId"`
	}{tn.ID}, slugPK(tn.Slug), skUniq)
	if err != nil {
		return err
	}
	t.put(putNew(slug), loyalty.Errorf(loyalty.CodeConflict, "slug %s is taken", tn.Slug))
	dir, err := marshal(struct {
		TenantID string `json:"tenantId"`
		Name     string `json:"name"`
		Plan     string `json:"plan"`
	}{tn.ID, tn.Name, tn.Plan}, tenantsPK, tenantPK(tn.ID))
	if err != nil {
		return err
	}
	t.put(putNew(dir), loyalty.ErrConflict)
	ki, err := keyPut(k)
	if err != nil {
		return err
	}
	t.put(ki, loyalty.ErrConflict)
	return s.run(ctx, t)
}

// FailAttempt spends one attempt of a challenge, conditioned on the attempts
// read, so concurrent wrong guesses each cost one.
func (s *Store) FailAttempt(ctx context.Context, tenantID, challengeID string, attemptsRead int) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(challengePK(tenantID, challengeID), skChallenge),
		UpdateExpression:          strp("SET attemptsLeft = attemptsLeft - :one"),
		ConditionExpression:       strp("attemptsLeft = :a AND used = :f"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":a": num(int64(attemptsRead)), ":f": &types.AttributeValueMemberBOOL{Value: false}},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return loyalty.ErrConflict
		}
		return fmt.Errorf("fail attempt: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

// UseChallenge marks a sign-in challenge used, conditioned on the attempts
// read and on it being unused: one code signs in once.
func (s *Store) UseChallenge(ctx context.Context, tenantID, challengeID string, attemptsRead int) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(challengePK(tenantID, challengeID), skChallenge),
		UpdateExpression:          strp("SET used = :t"),
		ConditionExpression:       strp("attemptsLeft = :a AND used = :f"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":a": num(int64(attemptsRead)), ":f": &types.AttributeValueMemberBOOL{Value: false}},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return loyalty.ErrConflict
		}
		return fmt.Errorf("use challenge: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}
