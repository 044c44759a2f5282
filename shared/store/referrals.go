package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Referral and birthday items (see loyalty/referrals.go, birthdays.go):
//
//	T#t#REF#<code> / UNIQ          referral code → member (uniqueness)
//	T#t#PHONESEEN#<e164> / UNIQ    the phone has been a member (written by every
//	                               enrollment; a referred one requires it absent)
//	T#t#M#m / REFERRAL             the referee's reward record (once, ever)
//	T#t#M#m / REFCOUNT#<month>     referrals rewarded to the member as referrer
//	T#t#M#m / BDAY                 birthday index: GSI1 BDAY#<MM-DD>#<shard> /
//	                               <last year credited, 0000 never>#<PK>: the sweep
//	                               reads the day's partition below the year (the
//	                               index projects keys only, so the year is in the key)
//	T#t#M#m / BDAY#<year>          the birthday credit's record for the year
//	SWEEP / BDAY                   the birthday sweep's cursor
func referralPK(t, code string) string   { return "T#" + t + "#REF#" + code }
func phoneSeenPK(t, phone string) string { return "T#" + t + "#PHONESEEN#" + phone }

const (
	skReferral      = "REFERRAL"
	skBirthday      = "BDAY"
	refCountPrefix  = "REFCOUNT#"
	birthdayIndexPK = "BDAY"
)

// ReferralOwner is the member holding a referral code in the tenant.
func (s *Store) ReferralOwner(ctx context.Context, tenantID, code string) (string, error) {
	var u uniqItem
	if err := s.getInto(ctx, referralPK(tenantID, code), skUniq, &u, nil); err != nil {
		return "", err
	}
	return u.MemberID, nil
}

// PhoneSeen reports whether the phone has been a member of the tenant.
func (s *Store) PhoneSeen(ctx context.Context, tenantID, phone string) (bool, error) {
	it, err := s.get(ctx, phoneSeenPK(tenantID, phone), skUniq)
	if err != nil {
		return false, err
	}
	return it != nil, nil
}

// referralWrites adds a commit's referral items: a claimed code, the
// enrollment's phone history, a reward's record and the referrer's count.
func referralWrites(t *txn, c *loyalty.Commit) error {
	if c.ReferralCode != "" {
		item, err := marshal(uniqItem{MemberID: c.MemberID}, referralPK(c.TenantID, c.ReferralCode), skUniq)
		if err != nil {
			return err
		}
		t.put(putNew(item), loyalty.ErrReferralCodeTaken)
	}
	if en := c.Enrollment; en != nil {
		item, err := marshal(uniqItem{MemberID: c.MemberID}, phoneSeenPK(c.TenantID, en.Phone), skUniq)
		if err != nil {
			return err
		}
		if en.Referred {
			t.put(putNew(item), loyalty.ErrReferralPhoneUsed)
		} else {
			t.put(&types.Put{Item: item}, nil)
		}
	}
	if w := c.Referral; w != nil {
		item, err := marshal(struct {
			ReferrerID string    `json:"referrerId"`
			At         time.Time `json:"at"`
		}{w.ReferrerID, c.At}, memberPK(c.TenantID, w.RefereeID), skReferral)
		if err != nil {
			return err
		}
		t.put(putNew(item), loyalty.ErrReferralRewarded)
		if w.CountReferrer {
			t.update(&types.Update{
				Key:                       key(memberPK(c.TenantID, w.ReferrerID), refCountPrefix+w.Month),
				UpdateExpression:          strp("ADD #n :one"),
				ConditionExpression:       strp("attribute_not_exists(#n) OR #n < :limit"),
				ExpressionAttributeNames:  map[string]string{"#n": "count"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":limit": num(int64(w.Limit))},
			}, loyalty.ErrReferralLimit)
		}
	}
	return nil
}

// birthdayWrites adds a commit's birthday items: the index item when an
// enrollment sets a birth date, and for a credit the year's record (new)
// and the index item's creditedYear, which keeps credited members out of
// the sweep's later reads that year.
func (s *Store) birthdayWrites(t *txn, c *loyalty.Commit) error {
	pk := memberPK(c.TenantID, c.MemberID)
	if (c.Enrollment != nil || c.IndexBirthday) && c.Account != nil {
		if b, ok := loyalty.ParseBirthDate(c.Account.BirthDate); ok {
			item, err := marshal(struct {
				BirthDate string `json:"birthDate"`
			}{c.Account.BirthDate}, pk, skBirthday)
			if err != nil {
				return err
			}
			merge(item, s.birthdayIndexKeys(b.Format("01-02"), pk))
			t.put(&types.Put{Item: item}, nil)
		}
	}
	if w := c.Birthday; w != nil {
		item, err := marshal(struct {
			At time.Time `json:"at"`
		}{c.At}, pk, fmt.Sprintf("%s#%d", skBirthday, w.Year))
		if err != nil {
			return err
		}
		t.put(putNew(item), loyalty.ErrBirthdayCredited)
		t.update(&types.Update{
			Key:                       key(pk, skBirthday),
			UpdateExpression:          strp("SET creditedYear = :y, #sk = :sk"),
			ConditionExpression:       strp("attribute_exists(PK) AND (attribute_not_exists(creditedYear) OR creditedYear < :y)"),
			ExpressionAttributeNames:  map[string]string{"#sk": layout.IndexRangeKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{":y": num(int64(w.Year)), ":sk": str(birthdaySortKey(w.Year, pk))},
		}, loyalty.ErrBirthdayCredited)
	}
	return nil
}

// birthdayIndexKeys place a member's index item in the partition of their
// birth month-day (sharded like the expiry index).
func (s *Store) birthdayIndexKeys(monthDay, pk string) map[string]types.AttributeValue {
	h := fnv.New32a()
	h.Write([]byte(pk))
	shard := int(h.Sum32() % uint32(s.shards()))
	return map[string]types.AttributeValue{
		layout.IndexHashKey:  str(fmt.Sprintf("%s#%s#%d", birthdayIndexPK, monthDay, shard)),
		layout.IndexRangeKey: str(birthdaySortKey(0, pk)),
	}
}

// birthdaySortKey orders a day's partition by the last year credited.
func birthdaySortKey(year int, pk string) string { return fmt.Sprintf("%04d#%s", year, pk) }

// BirthdayIndexItem is a member's birthday index item, for tools that load
// data straight into the table (the benchmark).
func (s *Store) BirthdayIndexItem(tenantID, memberID, birthDate string) (map[string]types.AttributeValue, error) {
	b, ok := loyalty.ParseBirthDate(birthDate)
	if !ok {
		return nil, fmt.Errorf("birth date %q", birthDate)
	}
	pk := memberPK(tenantID, memberID)
	item, err := marshal(struct {
		BirthDate string `json:"birthDate"`
	}{birthDate}, pk, skBirthday)
	if err != nil {
		return nil, err
	}
	return merge(item, s.birthdayIndexKeys(b.Format("01-02"), pk)), nil
}

// SeedAccountItem is an account item as a commit would first write it, for
// tools that load data straight into the table (the benchmark).
func (s *Store) SeedAccountItem(tenantID string, a *loyalty.Account) (map[string]types.AttributeValue, error) {
	item, err := s.accountItem(tenantID, a)
	if err != nil {
		return nil, err
	}
	item[attrRev] = num(1)
	return item, nil
}

// birthdayCatchUp bounds the past days one run reads after the sweep did
// not run for a while.
const birthdayCatchUp = 31

// BirthdaysDue reads the birthday index partitions of today and of the days
// since the cursor (the days before today that no run finished), keeping
// the members not credited in that day's year. Its cost follows the
// birthdays of those days, not the number of members.
func (s *Store) BirthdaysDue(ctx context.Context, now time.Time, tenantID string) ([]loyalty.BirthdayDue, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	from := today
	var st sweepState
	if err := s.getInto(ctx, sweepPK, skBirthday, &st, nil); err != nil {
		return nil, err
	}
	if d, err := time.Parse(dayLayout, st.DoneThrough); err == nil && d.Before(today) {
		from = d.AddDate(0, 0, 1)
		if earliest := today.AddDate(0, 0, -birthdayCatchUp); from.Before(earliest) {
			from = earliest
		}
	}
	var out []loyalty.BirthdayDue
	seen := map[loyalty.MemberKey]bool{}
	for day := from; !day.After(today); day = day.AddDate(0, 0, 1) {
		for _, md := range loyalty.BirthdayMonthDays(day) {
			for shard := 0; shard < s.shards(); shard++ {
				in := &dynamodb.QueryInput{
					TableName:                &s.table,
					IndexName:                aws.String(layout.IndexName),
					KeyConditionExpression:   strp("#pk = :pk AND #sk < :y"),
					ExpressionAttributeNames: map[string]string{"#pk": layout.IndexHashKey, "#sk": layout.IndexRangeKey},
					ExpressionAttributeValues: map[string]types.AttributeValue{
						":pk": str(fmt.Sprintf("%s#%s#%d", birthdayIndexPK, md, shard)),
						":y":  str(fmt.Sprintf("%04d", day.Year())),
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
					t, m, ok := member(keyString(it, layout.HashKey))
					if !ok {
						continue
					}
					k := loyalty.MemberKey{TenantID: t, MemberID: m}
					if !seen[k] {
						seen[k] = true
						out = append(out, loyalty.BirthdayDue{MemberKey: k, Day: day})
					}
				}
			}
		}
	}
	return out, nil
}

// AdvanceBirthdays moves the birthday cursor to yesterday: today stays
// open, so members enrolling later today are credited by a later run.
func (s *Store) AdvanceBirthdays(ctx context.Context, now time.Time) error {
	done := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1).Format(dayLayout)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(sweepPK, skBirthday),
		UpdateExpression:          strp("SET doneThrough = :d"),
		ConditionExpression:       strp("attribute_not_exists(doneThrough) OR doneThrough < :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(done)},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return nil
		}
		return fmt.Errorf("advance birthdays: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

// CommitAll writes several members' commits as one transaction.
func (s *Store) CommitAll(ctx context.Context, cs ...*loyalty.Commit) error {
	t := &txn{table: s.table}
	for _, c := range cs {
		if err := s.addCommit(t, c); err != nil {
			return err
		}
	}
	return s.run(ctx, t)
}
