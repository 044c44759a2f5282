package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/ddblocal"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
)

// BirthdayRun is one birthday sweep measured: members in the tenant, of
// whom Birthdays have their birthday today.
type BirthdayRun struct {
	Members   int     `json:"members"`
	Birthdays int     `json:"birthdaysToday"`
	Credited  int     `json:"credited"`
	SweepMs   float64 `json:"sweepMs"`
	Calls     int     `json:"dynamoCalls"`
	ReadUnits float64 `json:"readUnits"`
	// IndexReadMs: the birthday index read alone, before crediting
	// (median of 11; it writes nothing, so it repeats).
	IndexReadMs float64 `json:"indexReadMs"`
	// RerunMs and RerunCalls: the same sweep again (nothing left to
	// credit; median of 5).
	RerunMs    float64 `json:"rerunMs"`
	RerunCalls int     `json:"rerunCalls"`
}

// birthdaysToday is the same in every run: only the membership grows.
const birthdaysToday = 50

// measureBirthdays times the sweep crediting the same number of birthdays
// among 100 and among 100 000 members. The members without a birthday today
// are written straight into the table (an account item and a birthday index
// item each, birthdays spread over the other days of the year); the ones
// with a birthday today are imported through the service, as an import with
// birth dates makes them.
func (b *bench) measureBirthdays(res *Results) error {
	// The first run warms the emulator up (its JIT and the table) and is
	// not reported: the two reported runs differ only in members.
	for i, members := range []int{100, 100, 100_000} {
		run, err := b.birthdaySweep(members)
		if err != nil {
			return fmt.Errorf("birthday sweep, %d members: %w", members, err)
		}
		if i == 0 {
			continue
		}
		res.Birthdays = append(res.Birthdays, run)
		fmt.Printf("birthday sweep: %d members, %d birthdays today: %.1f ms, %d calls, %.1f RCU (rerun %.1f ms, %d calls)\n",
			run.Members, run.Birthdays, run.SweepMs, run.Calls, run.ReadUnits, run.RerunMs, run.RerunCalls)
	}
	return nil
}

func (b *bench) birthdaySweep(members int) (BirthdayRun, error) {
	run := BirthdayRun{Members: members, Birthdays: birthdaysToday}
	b.birthdayRuns++
	if err := b.setup(0, nil); err != nil {
		return run, err
	}
	owner := loyalty.Caller{TenantID: b.tenant, Role: loyalty.RoleOwner, KeyID: "bench"}
	t, err := b.app.Store.GetTenant(b.ctx, b.tenant)
	if err != nil {
		return run, err
	}
	rules := *t.CurrentProgram
	rules.BirthdayBonus = &loyalty.BirthdayBonus{Points: 500, Lifetime: "P30D"}
	if _, _, err := b.app.Service.UpdateProgram(b.ctx, owner, loyalty.Idem{}, rules.ID, rules); err != nil {
		return run, err
	}
	today := b.clock.Now().UTC()
	born := time.Date(1990, today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	for i := 0; i < birthdaysToday; i++ {
		if _, err := b.app.Service.ImportMember(b.ctx, owner, loyalty.ImportRow{Phone: fmt.Sprintf("+7916%03d%04d", b.birthdayRuns, i), BirthDate: born}); err != nil {
			return run, err
		}
	}
	if err := b.seedOtherBirthdays(members-birthdaysToday-len(b.members), today); err != nil {
		return run, err
	}
	run.IndexReadMs, err = median(func() error {
		due, err := b.app.Store.BirthdaysDue(b.ctx, b.clock.Now(), "")
		if err == nil && len(due) != birthdaysToday {
			err = fmt.Errorf("the index lists %d birthdays, want %d", len(due), birthdaysToday)
		}
		return err
	}, 11)
	if err != nil {
		return run, err
	}
	// In process, as the scheduled expire-sweep function runs it.
	m := &store.Meter{}
	start := time.Now()
	sw, err := b.app.Service.Sweep(store.WithMeter(b.ctx, m), "")
	if err != nil {
		return run, err
	}
	run.SweepMs = round(float64(time.Since(start).Microseconds()) / 1000)
	run.Calls, run.ReadUnits, _ = m.Snapshot()
	run.Credited = sw.BirthdayBonuses
	if run.Credited != birthdaysToday {
		return run, fmt.Errorf("credited %d of %d birthdays", run.Credited, birthdaysToday)
	}
	run.RerunMs, err = median(func() error {
		m2 := &store.Meter{}
		again, err := b.app.Service.Sweep(store.WithMeter(b.ctx, m2), "")
		if err == nil && again.BirthdayBonuses != 0 {
			err = fmt.Errorf("a rerun credited %d again", again.BirthdayBonuses)
		}
		run.RerunCalls, _, _ = m2.Snapshot()
		return err
	}, 5)
	return run, err
}

// seedOtherBirthdays writes n members born on any day but today's month-day
// straight into the table, 25 items a request from a few writers.
func (b *bench) seedOtherBirthdays(n int, today time.Time) error {
	if n <= 0 {
		return nil
	}
	db := ddblocal.Client(b.endpoint)
	todayMD := today.Format("01-02")
	var reqs []types.WriteRequest
	for i := 0; i < n; i++ {
		day := time.Date(1980+i%30, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(365))
		if day.Format("01-02") == todayMD || (day.Month() == time.February && day.Day() == 28) {
			day = day.AddDate(0, 0, 2) // not today's, and not a 28 February standing in for the 29th
		}
		a := &loyalty.Account{MemberID: fmt.Sprintf("m_seed%07d", i), Phone: fmt.Sprintf("+7917%07d", i), Card: fmt.Sprintf("seed%07d", i),
			Status: loyalty.MemberActive, BirthDate: day.Format(time.DateOnly), CreatedAt: today}
		acct, err := b.app.Store.SeedAccountItem(b.tenant, a)
		if err != nil {
			return err
		}
		idx, err := b.app.Store.BirthdayIndexItem(b.tenant, a.MemberID, a.BirthDate)
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: acct}}, types.WriteRequest{PutRequest: &types.PutRequest{Item: idx}})
	}
	batches := make(chan []types.WriteRequest)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				pending := map[string][]types.WriteRequest{"bench": batch}
				for len(pending) > 0 {
					out, err := db.BatchWriteItem(b.ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						break // keep draining the batches; the error is reported
					}
					pending = out.UnprocessedItems
				}
			}
		}()
	}
	for start := 0; start < len(reqs); start += 25 {
		batches <- reqs[start:min(start+25, len(reqs))]
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
