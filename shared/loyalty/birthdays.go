package loyalty

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Birthday bonus: the sweep credits a program's birthdayBonus once a year on
// the member's birthday (UTC day). It reads only the members born on the
// day: the store keeps an index item per member with a birth date, keyed
// by month-day (written with the account when the birth date is set), so a
// run costs what the day's birthdays cost, not what the membership does.
// Someone born on 29 February is credited on 28 February in other years.
// Each credit is its own conditioned transaction: the account with its
// ledger entry and a lot expiring after the bonus's lifetime, and a record
// keyed by member and year that must not exist yet, so a rerun (or a
// concurrent sweep) credits nothing twice. The sweep reads today's birthdays
// on every run: a member who enrolls on their birthday after a run gets the
// bonus at the next run of the same day.

// BirthdayDue is a member whose birthday falls on Day.
type BirthdayDue struct {
	MemberKey
	Day time.Time
}

// BirthdayWrite is what a birthday credit writes besides the account: the
// record for the member and year (absent before).
type BirthdayWrite struct {
	Year int
}

// ParseBirthDate reads a birth date (2006-01-02).
func ParseBirthDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// BirthdayMonthDays are the birth month-days ("01-02") credited on day: the
// day's own, and on 28 February of a year without 29 February also "02-29".
func BirthdayMonthDays(day time.Time) []string {
	out := []string{day.Format("01-02")}
	if day.Month() == time.February && day.Day() == 28 && !isLeap(day.Year()) {
		out = append(out, "02-29")
	}
	return out
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// BirthdayOn reports whether a member born on birthDate celebrates on day.
func BirthdayOn(birthDate string, day time.Time) bool {
	b, ok := ParseBirthDate(birthDate)
	if !ok {
		return false
	}
	for _, md := range BirthdayMonthDays(day) {
		if b.Format("01-02") == md {
			return true
		}
	}
	return false
}

// creditBirthdays credits the bonus to every member the store lists as
// having a birthday due; tenants are read once per run.
func (s *Orders) creditBirthdays(ctx context.Context, now time.Time, due []BirthdayDue) (int, error) {
	tenants := map[string]*Tenant{}
	credited := 0
	for _, b := range due {
		t, seen := tenants[b.TenantID]
		if !seen {
			var err error
			t, err = s.Store.GetTenant(ctx, b.TenantID)
			if err != nil && !errors.Is(err, ErrTenantNotFound) {
				return credited, err
			}
			tenants[b.TenantID] = t
		}
		if t == nil || t.CurrentProgram == nil || t.CurrentProgram.BirthdayBonus == nil ||
			t.CurrentProgram.Type != TypeBonus || !t.CurrentProgram.Running(now) {
			continue
		}
		ok, err := s.creditBirthday(ctx, t.CurrentProgram, b, now)
		if err != nil {
			return credited, fmt.Errorf("birthday bonus: %w", err)
		}
		if ok {
			credited++
		}
	}
	return credited, nil
}

// creditBirthday credits one member's bonus for b.Day's year, unless it was
// credited already, the member is blocked or their birth date changed.
func (s *Orders) creditBirthday(ctx context.Context, p *Program, b BirthdayDue, now time.Time) (bool, error) {
	credited := false
	err := retry(ctx, func() error {
		st, err := s.Store.LoadMember(ctx, b.TenantID, b.MemberID)
		if err != nil {
			return err
		}
		if st.Account.Status != MemberActive || !BirthdayOn(st.Account.BirthDate, b.Day) {
			return nil
		}
		d := NewDraft(*st, now, Caller{TenantID: b.TenantID})
		bb := p.BirthdayBonus
		creditBonus(d, p, bb.Points, bb.Lifetime, Entry{Kind: KindBirthday, Note: fmt.Sprintf("birthday %d", b.Day.Year())})
		c := d.Commit(b.TenantID)
		c.Birthday = &BirthdayWrite{Year: b.Day.Year()}
		if err := s.Store.Commit(ctx, c); err != nil {
			if errors.Is(err, ErrBirthdayCredited) {
				return nil
			}
			return err
		}
		credited = true
		return nil
	})
	if errors.Is(err, ErrMemberNotFound) {
		return false, nil
	}
	return credited, err
}
