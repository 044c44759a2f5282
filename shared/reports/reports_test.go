package reports

import (
	"reflect"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

func TestPartsReadWholeMonthsFromMonthItems(t *testing.T) {
	for _, c := range []struct {
		from, to string
		scope    Scope
		want     []Part
	}{
		{"2025-12-16", "2026-12-15", ScopePOS, []Part{{ScopePOS, "2025-12-16", "2025-12-31"}, {ScopePOSMonth, "2026-01", "2026-11"}, {ScopePOS, "2026-12-01", "2026-12-15"}}},
		{"2026-01-01", "2026-12-31", ScopeStaff, []Part{{ScopeStaffMonth, "2026-01", "2026-12"}}},
		{"2026-02-01", "2026-02-28", ScopeStaff, []Part{{ScopeStaffMonth, "2026-02", "2026-02"}}},
		{"2026-02-02", "2026-03-31", ScopePOS, []Part{{ScopePOS, "2026-02-02", "2026-02-28"}, {ScopePOSMonth, "2026-03", "2026-03"}}},
		{"2026-02-02", "2026-02-27", ScopePOS, []Part{{ScopePOS, "2026-02-02", "2026-02-27"}}},
		{"2026-01-15", "2026-02-14", ScopePOS, []Part{{ScopePOS, "2026-01-15", "2026-02-14"}}},
		{"2026-01-01", "2026-12-31", ScopeDay, []Part{{ScopeDay, "2026-01-01", "2026-12-31"}}},
	} {
		if got := Parts(c.from, c.to, c.scope); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parts(%s, %s, %s) = %v, want %v", c.from, c.to, c.scope, got, c.want)
		}
	}
}

func TestRateRoundsHalfUp(t *testing.T) {
	for _, c := range []struct {
		part, whole int64
		want        loyalty.BasisPoints
	}{{0, 0, 0}, {5, 0, 0}, {1, 3, 3333}, {2, 3, 6667}, {3000, 27700, 1083}, {3, 2, 15000}} {
		if got := Rate(c.part, c.whole); got != c.want {
			t.Errorf("Rate(%d, %d) = %d, want %d", c.part, c.whole, got, c.want)
		}
	}
}

// Every change counts on its day in the tenant's, the point of sale's and
// the staff member's day and month; a refund splits into returned and
// reversed points; entries without expiry months keep the schedule whole.
func TestBatchCountsEachChangeEverywhere(t *testing.T) {
	b := NewBatch()
	at := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	b.AddEntry("t", &loyalty.Entry{Kind: loyalty.KindRefund, At: at, Available: -300, Amount: -300, PointOfSale: "p", StaffID: "s",
		Lots: map[string]loyalty.Points{"a": 200, "b": -500}, Expiring: map[string]loyalty.Points{"2026-04": -400}})
	b.AddEntry("t", &loyalty.Entry{Kind: loyalty.KindExpire, At: at, Available: -100, Amount: -100})
	want := Counters{RefundedPoints: 200, RefundedAccrual: 500}
	for _, k := range []Key{{ScopeDay, "2026-03-05", ""}, {ScopePOS, "2026-03-05", "p"}, {ScopeStaff, "2026-03-05", "s"}, {ScopePOSMonth, "2026-03", "p"}, {ScopeStaffMonth, "2026-03", "s"}} {
		got := b.Activity["t"][k]
		if got == nil {
			t.Fatalf("nothing counted in %v", k)
		}
		c := *got
		if k.ID == "" {
			want.Expired = 100
		} else {
			want.Expired = 0
		}
		if c != want {
			t.Errorf("%v: %+v, want %+v", k, c, want)
		}
	}
	if c := b.Activity["t"][Key{ScopePOS, "2026-03-05", None}]; c == nil || c.Expired != 100 {
		t.Errorf("the sweep's expiry is nobody's: %+v", c)
	}
	l := b.Liability["t"]
	if l.Available != -400 || l.ByMonth["2026-04"] != -400 || l.ByMonth[UnknownMonth] != 0 {
		t.Errorf("liability %+v", l)
	}
	// The expiry entry said no months: its points go to the unknown month.
	b2 := NewBatch()
	b2.AddEntry("t", &loyalty.Entry{Kind: loyalty.KindExpire, At: at, Available: -100, Amount: -100})
	if got := b2.Liability["t"].ByMonth[UnknownMonth]; got != -100 {
		t.Errorf("unplaced points: %d", got)
	}
}

// Bonuses count as accrued, like cashback: the welcome bonus, referral
// rewards and the birthday bonus.
func TestBonusesCountAsAccrued(t *testing.T) {
	b := NewBatch()
	at := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	for _, k := range []loyalty.EntryKind{loyalty.KindWelcome, loyalty.KindReferral, loyalty.KindBirthday} {
		b.AddEntry("t", &loyalty.Entry{Kind: k, At: at, Available: 100, Amount: 100})
	}
	if c := b.Activity["t"][Key{ScopeDay, "2026-03-05", ""}]; c == nil || c.Accrued != 300 {
		t.Errorf("bonuses accrued: %+v", c)
	}
	if l := b.Liability["t"]; l.Available != 300 {
		t.Errorf("liability %+v", l)
	}
}
