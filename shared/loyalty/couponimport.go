package loyalty

import (
	"context"
	"errors"
	"sort"
	"strconv"
)

// MaxCouponImport bounds the codes of one import request (the CLI sends a
// longer file in requests of this size).
const MaxCouponImport = 1000

// CouponRowError is a code an import did not take, by its row (1-based).
type CouponRowError struct {
	Row     int    `json:"row" minimum:"1"`
	Code    string `json:"code"`
	Problem string `json:"problem" doc:"A problem code: validation_failed (a bad code), coupon_code_taken (a coupon with this code exists, or the code is listed twice)"`
	Reason  string `json:"reason"`
}

// CouponImportReport says what an import did per row.
type CouponImportReport struct {
	Rows     int              `json:"rows" minimum:"0"`
	Imported int              `json:"imported" minimum:"0"`
	BatchID  string           `json:"batchId"`
	Failed   []CouponRowError `json:"failed"`
}

// ImportCoupons creates coupons alike but for their codes, which the shop
// brings (printed vouchers, a partner's list). Good rows are written, 99 a
// transaction, each code conditioned on being new; bad codes, codes listed
// twice and codes of existing coupons are reported by row and leave the
// others alone. The report is kept under the Idempotency-Key: a retry
// answers with it.
func (s *Coupons) ImportCoupons(ctx context.Context, c Caller, idem Idem, codes []string, tpl Coupon) (CouponImportReport, bool, error) {
	if err := requireAdmin(c); err != nil {
		return CouponImportReport{}, false, err
	}
	if len(codes) < 1 || len(codes) > MaxCouponImport {
		return CouponImportReport{}, false, Invalid("codes", "1 to %d codes a request", MaxCouponImport)
	}
	tpl.Code = "PLACEHOLDER"
	if err := ValidateCoupon(&tpl); err != nil {
		return CouponImportReport{}, false, err
	}
	store, err := s.coupons()
	if err != nil {
		return CouponImportReport{}, false, err
	}
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (CouponImportReport, error) {
		rep := CouponImportReport{Rows: len(codes), BatchID: NewID("cb_"), Failed: []CouponRowError{}}
		now := s.now()
		seen := map[string]int{}
		var good []Coupon
		var rows []int
		for i, raw := range codes {
			code := NormalizeCouponCode(raw)
			switch {
			case !couponCode.MatchString(code):
				rep.Failed = append(rep.Failed, CouponRowError{Row: i + 1, Code: raw, Problem: string(CodeValidationFailed), Reason: "a code is 4-32 letters, digits or '-'"})
			case seen[code] > 0:
				rep.Failed = append(rep.Failed, CouponRowError{Row: i + 1, Code: code, Problem: string(CodeCouponCodeTaken), Reason: "listed before, on row " + strconv.Itoa(seen[code])})
			default:
				seen[code] = i + 1
				cp := tpl
				cp.Code, cp.ID, cp.TenantID, cp.Uses, cp.CreatedAt, cp.BatchID = code, NewID("c_"), c.TenantID, 0, now, rep.BatchID
				if cp.Usage == CouponSingle {
					cp.Limit = 1
				}
				good = append(good, cp)
				rows = append(rows, i+1)
			}
		}
		for start := 0; start < len(good); start += couponsPerWrite {
			chunk := good[start:min(start+couponsPerWrite, len(good))]
			err := store.CreateCoupons(ctx, c.TenantID, chunk, nil)
			if err == nil {
				rep.Imported += len(chunk)
				continue
			}
			if !errors.Is(err, ErrCouponCodeTaken) {
				return rep, err
			}
			// Some code of the chunk exists: write its coupons one by
			// one to find which (each write still conditioned).
			for j, cp := range chunk {
				err := store.CreateCoupons(ctx, c.TenantID, []Coupon{cp}, nil)
				switch {
				case errors.Is(err, ErrCouponCodeTaken):
					rep.Failed = append(rep.Failed, CouponRowError{Row: rows[start+j], Code: cp.Code, Problem: string(CodeCouponCodeTaken), Reason: "a coupon with this code exists"})
				case err != nil:
					return rep, err
				default:
					rep.Imported++
				}
			}
		}
		sortRowErrors(rep.Failed)
		rec, err := s.idemRecord(idem, rep)
		if err != nil || rec == nil {
			return rep, err
		}
		return rep, store.CreateCoupons(ctx, c.TenantID, nil, rec)
	}))
}

func sortRowErrors(es []CouponRowError) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Row < es[j].Row })
}
