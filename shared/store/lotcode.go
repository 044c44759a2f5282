package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// A lot inside the account item is one string under its id, not a map of
// named attributes: the names and RFC 3339 times made a lot about 200
// bytes, which let only 8 lots fit in the account item's 2 KB; packed, a
// lot takes about 40 bytes plus its id and order id, so 20 live lots stay
// inside and a close with a hold still writes 5 items.
//
// The string is seven fields separated by commas, numbers in base 36:
//
//	original,remaining,flags,created,available,expires,orderId
//
// original and remaining are points (hundredths); flags is "p" for a
// pending lot, else empty; created is the creation time in Unix
// nanoseconds; available and expires are offsets from created (a number
// with "s" is seconds, else nanoseconds), available empty when it equals
// created and expires empty for a lot that never expires. The order id
// comes last, so it may hold commas. Times come back in UTC, exact to the
// nanosecond (lots are made between the years 1678 and 2262, where Unix
// nanoseconds hold).
//
// Lots written before this encoding are maps (marshalValue of loyalty.Lot);
// decodeInlineLot reads both, and the next write of the item packs them.

// encodeInlineLot packs a lot for the account item.
func encodeInlineLot(l loyalty.Lot) types.AttributeValue {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(int64(l.Original), 36))
	b.WriteByte(',')
	b.WriteString(strconv.FormatInt(int64(l.Remaining), 36))
	b.WriteByte(',')
	if l.Pending {
		b.WriteByte('p')
	}
	b.WriteByte(',')
	created := l.CreatedAt.UnixNano()
	b.WriteString(strconv.FormatInt(created, 36))
	b.WriteByte(',')
	// Offsets of the wall clock (UnixNano), never of monotonic readings.
	if !l.AvailableFrom.Equal(l.CreatedAt) {
		b.WriteString(offset(time.Duration(l.AvailableFrom.UnixNano() - created)))
	}
	b.WriteByte(',')
	if l.Expires() {
		b.WriteString(offset(time.Duration(l.ExpiresAt.UnixNano() - created)))
	}
	b.WriteByte(',')
	b.WriteString(l.OrderID)
	return &types.AttributeValueMemberS{Value: b.String()}
}

// offset writes a duration in whole seconds when it is one (lifetimes
// are), else in nanoseconds.
func offset(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 36) + "s"
	}
	return strconv.FormatInt(int64(d), 36)
}

func parseOffset(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "s"); ok {
		v, err := strconv.ParseInt(n, 36, 64)
		return time.Duration(v) * time.Second, err
	}
	v, err := strconv.ParseInt(s, 36, 64)
	return time.Duration(v), err
}

// decodeInlineLot reads a lot of the account item, packed or (written
// before the packing) a map.
func decodeInlineLot(id string, v types.AttributeValue) (loyalty.Lot, error) {
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		var l loyalty.Lot
		err := unmarshalValue(v, &l)
		return l, err
	}
	f := strings.SplitN(s.Value, ",", 7)
	if len(f) != 7 {
		return loyalty.Lot{}, fmt.Errorf("lot %s: %d fields, want 7", id, len(f))
	}
	l := loyalty.Lot{ID: id, Pending: f[2] == "p", OrderID: f[6]}
	orig, err1 := strconv.ParseInt(f[0], 36, 64)
	rem, err2 := strconv.ParseInt(f[1], 36, 64)
	created, err3 := strconv.ParseInt(f[3], 36, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return loyalty.Lot{}, fmt.Errorf("lot %s: %w", id, err)
	}
	l.Original, l.Remaining = loyalty.Points(orig), loyalty.Points(rem)
	l.CreatedAt = time.Unix(0, created).UTC()
	l.AvailableFrom = l.CreatedAt
	if f[4] != "" {
		d, err := parseOffset(f[4])
		if err != nil {
			return loyalty.Lot{}, fmt.Errorf("lot %s: available: %w", id, err)
		}
		l.AvailableFrom = l.CreatedAt.Add(d)
	}
	if f[5] != "" {
		d, err := parseOffset(f[5])
		if err != nil {
			return loyalty.Lot{}, fmt.Errorf("lot %s: expires: %w", id, err)
		}
		l.ExpiresAt = l.CreatedAt.Add(d)
	}
	return l, nil
}
