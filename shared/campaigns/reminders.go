package campaigns

import (
	"context"
	"errors"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Expiry reminders (program option expiryReminder): DaysBefore days before
// a member's points expire, a member with marketing consent gets one
// message per expiry date.
//
// The members come from the expiry sweep's own index: its partitions list,
// per day, the lots (and accounts holding their lots inline) with points
// expiring that day. Once a day the reminder run reads, for each distinct
// DaysBefore of the tenants' programs, the partitions of the day that many
// days ahead, so its cost follows the members whose points expire then,
// plus one read per tenant for the programs, never the members. A record
// per member and expiry date, written before the message goes (conditioned
// on its absence), makes it once per date, at most once, as campaigns.

// DefaultReminderText is the reminder's text when the program sets none.
const DefaultReminderText = "{name}, {expiringPoints} points expire on {expiry}. Balance: {balance}."

// reminderCatchUp bounds the missed days a run makes up for.
const reminderCatchUp = 7

// RemindResult counts a reminder run.
type RemindResult struct {
	Days    int `json:"days"`    // expiry days read
	Members int `json:"members"` // members found expiring
	Sent    int `json:"sent"`
}

type reminderTenant struct {
	tenant *loyalty.Tenant
	cfg    loyalty.ExpiryReminder
	parts  []part
}

// Remind runs the day's reminders, once a day (later calls that day do
// nothing); a day missed is made up for, up to a week back.
func (s *Service) Remind(ctx context.Context) (RemindResult, error) {
	var res RemindResult
	now := s.now()
	today := now.UTC().Truncate(24 * time.Hour)
	done, err := s.Store.RemindersDoneThrough(ctx)
	if err != nil {
		return res, err
	}
	if !done.IsZero() && !done.Before(today) {
		return res, nil
	}
	from := today
	if !done.IsZero() {
		from = done.AddDate(0, 0, 1)
		if oldest := today.AddDate(0, 0, -reminderCatchUp); from.Before(oldest) {
			from = oldest
		}
	}
	ids, err := s.Store.ListTenantIDs(ctx)
	if err != nil {
		return res, err
	}
	byDays := map[int]map[string]*reminderTenant{}
	for _, id := range ids {
		t, err := s.Store.GetTenant(ctx, id)
		if err != nil {
			return res, err
		}
		p := t.CurrentProgram
		if p == nil || p.ExpiryReminder == nil || p.Status != loyalty.ProgramActive && p.Status != loyalty.ProgramStopped {
			continue
		}
		cfg := *p.ExpiryReminder
		text := cfg.Text
		if text == "" {
			text = DefaultReminderText
		}
		parts, err := ParseTemplate(text)
		if err != nil {
			continue // checked when the program was saved
		}
		if byDays[cfg.DaysBefore] == nil {
			byDays[cfg.DaysBefore] = map[string]*reminderTenant{}
		}
		byDays[cfg.DaysBefore][id] = &reminderTenant{tenant: t, cfg: cfg, parts: parts}
	}
	for n, tenants := range byDays {
		for d := from; !d.After(today); d = d.AddDate(0, 0, 1) {
			day := d.AddDate(0, 0, n)
			keys, err := s.Store.ExpiringMembers(ctx, day)
			if err != nil {
				return res, err
			}
			res.Days++
			for _, k := range keys {
				rt := tenants[k.TenantID]
				if rt == nil {
					continue
				}
				res.Members++
				sent, err := s.remind(ctx, rt, k.MemberID, day, now)
				if err != nil {
					return res, err
				}
				if sent {
					res.Sent++
				}
			}
		}
	}
	return res, s.Store.SetRemindersDone(ctx, today)
}

// remind sends one member the reminder of the points expiring on day.
func (s *Service) remind(ctx context.Context, rt *reminderTenant, memberID string, day, now time.Time) (bool, error) {
	tenantID := rt.tenant.ID
	st, err := s.Store.LoadMember(ctx, tenantID, memberID)
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Account.Status == loyalty.MemberBlocked {
		return false, nil
	}
	// Only the lots expiring that day: {expiry} and {expiringPoints} name them.
	var due []loyalty.Lot
	for _, l := range st.Lots {
		if l.Expires() && l.Remaining > 0 && !l.Pending && l.ExpiresAt.After(now) && l.ExpiresAt.UTC().Truncate(24*time.Hour).Equal(day) {
			due = append(due, l)
		}
	}
	if len(due) == 0 {
		return false, nil
	}
	view := *st
	view.Lots = due
	msg, state := s.compose(tenantID, rt.cfg.Channel, rt.parts, &view, now)
	if state != RecClaimed {
		return false, nil
	}
	if rt.cfg.Channel == ChannelSMS {
		if err := s.Store.Hit(ctx, tenantID, now, marketingLimits(rt.tenant)...); err != nil {
			return false, err // a limit stops the run; the day is read again next time
		}
	}
	claimed, err := s.Store.ClaimReminder(ctx, tenantID, memberID, day, loyalty.MeterFor(rt.tenant, UsageKind(rt.cfg.Channel), now), now)
	if err != nil || !claimed {
		return false, err
	}
	if err := s.Sender.Send(ctx, msg); err != nil {
		s.logger().WarnContext(ctx, "reminders: message refused", "member", memberID, "error", err.Error())
		return false, nil
	}
	return true, nil
}
