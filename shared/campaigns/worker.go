package campaigns

import (
	"context"
	"errors"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Sending is at most once per member and campaign. Before a message goes
// out the worker writes the member's record, conditioned on its absence
// (Claim); after the gateway answers it records the outcome (Settle). A
// worker that dies between the two leaves a claimed record: the next
// worker finds it when it walks the page again, and records it as
// interrupted instead of sending again. Marketing is the case for at most
// once: a lost promotional message costs little, a duplicate costs an SMS
// and the customer's patience (and may break the sender's rules on
// unsolicited messages). Resending would need the gateway to deduplicate,
// which ours (SNS, SES) do not. Only one worker works a campaign at a time
// (a lease on the campaign item, renewed with each page), so a claimed
// record met by the leaseholder is never one being sent right now.

// UsageKind is the plan usage meter of a message by channel.
func UsageKind(channel string) string { return "message_" + channel }

// Result says how a Run ended.
type Result struct {
	Status string // the campaign's status after the run ("" when not leased)
	// Resume is when to run again (zero: not needed): a rate limit's
	// wait, or now when the time budget ran out.
	Resume time.Time
	Sent   int
}

// LimitMarketingPerMinute and LimitMarketingPerDay name the plan's sending
// limits of campaign and reminder SMS (SendLimits).
const (
	LimitMarketingPerMinute = "marketingPerMinute"
	LimitMarketingPerDay    = "marketingPerDay"
)

// marketingLimits are the plan limits an SMS of a campaign or reminder
// counts against: apart from the codes' limits, so a mailing never stops
// customers from enrolling.
func marketingLimits(t *loyalty.Tenant) []loyalty.RateLimit {
	l := t.Limits().Sending
	perMinute, perDay := l.MarketingPerMinute, l.MarketingPerDay
	if perMinute <= 0 {
		perMinute = loyalty.PAYGSending.MarketingPerMinute
	}
	if perDay <= 0 {
		perDay = loyalty.PAYGSending.MarketingPerDay
	}
	return []loyalty.RateLimit{
		{Name: LimitMarketingPerMinute, Scope: "marketing-sms", Max: perMinute, Window: time.Minute},
		{Name: LimitMarketingPerDay, Scope: "marketing-sms", Max: perDay, Window: 24 * time.Hour},
	}
}

// Run works one campaign until it is done, halted, paused by a limit, or
// its time budget runs out. Running it again, or concurrently, never sends
// a member a second message.
func (s *Service) Run(ctx context.Context, ref Ref) (Result, error) {
	owner := loyalty.NewID("w_")
	lease := s.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	budget := s.Budget
	if budget <= 0 {
		budget = 10 * time.Minute
	}
	pageSize := s.PageSize
	if pageSize <= 0 {
		pageSize = 100
	}
	start := s.now()
	camp, cursor, err := s.Store.LeaseCampaign(ctx, ref.TenantID, ref.CampaignID, owner, start, start.Add(lease))
	if errors.Is(err, ErrNotLeased) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	t, err := s.Store.GetTenant(ctx, ref.TenantID)
	if err != nil {
		return Result{}, err
	}
	parts, err := ParseTemplate(camp.Text)
	if err != nil { // checked at creation: a stored campaign always parses
		return Result{}, err
	}
	w := &run{Service: s, camp: camp, tenant: t, parts: parts, owner: owner}
	source, value := camp.Segment.Source()
	for {
		ids, err := s.Store.Candidates(ctx, ref.TenantID, source, value, cursor, pageSize)
		if err != nil {
			return w.res, err
		}
		for _, id := range ids {
			stop, err := w.member(ctx, id)
			if err != nil {
				return w.res, err
			}
			if stop != nil {
				// Paused or halted before this member's record: the page
				// is walked again from the saved cursor on resumption.
				return w.res, w.release(ctx, stop)
			}
		}
		now := s.now()
		if len(ids) < pageSize {
			w.res.Status = StatusDone
			return w.res, s.Store.ReleaseCampaign(ctx, ref.TenantID, ref.CampaignID, owner, StatusDone, "", time.Time{}, now)
		}
		cursor = ids[len(ids)-1]
		if err := s.Store.SaveCursor(ctx, ref.TenantID, ref.CampaignID, owner, cursor, now.Add(lease)); err != nil {
			return w.res, err
		}
		if now.Sub(start) > budget {
			return w.res, w.release(ctx, &stopAt{status: StatusSending, resume: now})
		}
	}
}

// stopAt ends a run early: paused until resume, or halted for reason.
type stopAt struct {
	status string
	reason string
	resume time.Time
}

type run struct {
	*Service
	camp   *Campaign
	tenant *loyalty.Tenant
	parts  []part
	owner  string
	res    Result
	last   time.Time // when the last message went out (pacing)
}

func (w *run) release(ctx context.Context, st *stopAt) error {
	w.res.Status, w.res.Resume = st.status, st.resume
	err := w.Store.ReleaseCampaign(ctx, w.camp.TenantID, w.camp.ID, w.owner, st.status, st.reason, st.resume, w.now())
	if err == nil && w.Kicker != nil && st.status == StatusSending {
		if kerr := w.Kicker.Kick(ctx, Ref{w.camp.TenantID, w.camp.ID}, st.resume.Sub(w.now())); kerr != nil {
			w.logger().WarnContext(ctx, "campaigns: kick failed; the schedule will pick it up", "campaign", w.camp.ID, "error", kerr.Error())
		}
	}
	return err
}

// member handles one candidate.
func (w *run) member(ctx context.Context, id string) (*stopAt, error) {
	tenantID := w.camp.TenantID
	st, err := w.Store.LoadMember(ctx, tenantID, id)
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := w.now()
	ok, err := w.camp.Segment.Matches(st, now, func() (string, error) { return w.Store.LastPointOfSale(ctx, tenantID, id) })
	if err != nil || !ok {
		return nil, err
	}
	msg, state := w.message(st, now)
	var meter *loyalty.Meter
	if state == RecClaimed {
		if w.camp.Channel == ChannelSMS {
			err := w.Store.Hit(ctx, tenantID, now, marketingLimits(w.tenant)...)
			var le *loyalty.Error
			if errors.As(err, &le) && le.Code == loyalty.CodeTooManyRequests {
				return &stopAt{status: StatusSending, resume: now.Add(le.Details.RetryAfter)}, nil
			}
			if err != nil {
				return nil, err
			}
		}
		meter = loyalty.MeterFor(w.tenant, UsageKind(w.camp.Channel), now)
	}
	created, existing, err := w.Store.ClaimRecipient(ctx, tenantID, w.camp.ID, w.owner, id, state, meter, now)
	var le *loyalty.Error
	if errors.As(err, &le) && le.Code == loyalty.CodePlanLimit {
		return &stopAt{status: StatusHalted, reason: "plan_limit: the plan's monthly operations are used up"}, nil
	}
	if err != nil {
		return nil, err
	}
	if !created {
		if existing == RecClaimed {
			// Left by a worker that stopped mid-send: it may have gone out.
			return nil, w.Store.SettleRecipient(ctx, tenantID, w.camp.ID, id, RecInterrupted, now)
		}
		return nil, nil
	}
	if state != RecClaimed {
		return nil, nil
	}
	if err := w.pace(ctx); err != nil {
		return nil, err
	}
	outcome := RecSent
	if err := w.Sender.Send(ctx, msg); err != nil {
		outcome = RecFailed
		w.logger().WarnContext(ctx, "campaigns: message refused", "campaign", w.camp.ID, "member", id, "error", err.Error())
	} else {
		w.res.Sent++
	}
	return nil, w.Store.SettleRecipient(ctx, tenantID, w.camp.ID, id, outcome, w.now())
}

// message builds the member's message, or says why none goes.
func (w *run) message(st *loyalty.MemberState, now time.Time) (loyalty.Message, string) {
	return w.compose(w.camp.TenantID, w.camp.Channel, w.parts, st, now)
}

// compose renders a message for a member by channel, with the member's
// unsubscribe link, or says why none goes (no consent, no address).
func (s *Service) compose(tenantID, channel string, parts []part, st *loyalty.MemberState, now time.Time) (loyalty.Message, string) {
	a := &st.Account
	if !a.Marketing {
		return loyalty.Message{}, RecNoConsent
	}
	m := loyalty.Message{Channel: channel, Body: Render(parts, st, now), SentAt: now}
	switch channel {
	case ChannelSMS:
		m.To = a.Phone
	case ChannelEmail:
		m.To = a.Email
	case ChannelPush:
		m.To = a.MemberID // the member's wallet pass: its change message
	}
	if m.To == "" {
		return loyalty.Message{}, RecNoAddress
	}
	if link := s.unsubscribeLink(tenantID, a.MemberID); link != "" && channel != ChannelPush {
		m.Body += "\n" + unsubscribeLabel(channel) + link
	}
	return m, RecClaimed
}

func unsubscribeLabel(channel string) string {
	if channel == ChannelSMS {
		return "STOP: "
	}
	return "Unsubscribe: "
}

// unsubscribeLink is the member's signed link ("" without a signer).
func (s *Service) unsubscribeLink(tenantID, memberID string) string {
	if s.Tokens == nil || s.BaseURL == "" {
		return "" // a relative link in an SMS would lead nowhere
	}
	return s.BaseURL + "/u/" + s.Tokens.Sign(tenantID, memberID)
}

// pace keeps to the channel's rate.
func (w *run) pace(ctx context.Context) error {
	rate := w.Rate[w.camp.Channel]
	if rate <= 0 {
		rate = DefaultRates[w.camp.Channel]
	}
	if rate <= 0 {
		rate = 10
	}
	gap := time.Second / time.Duration(rate)
	now := w.now()
	if wait := w.last.Add(gap).Sub(now); !w.last.IsZero() && wait > 0 {
		sleep := w.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	w.last = w.now()
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Reconcile runs every due campaign (the local worker's tick, the cloud
// worker's schedule): scheduled ones whose time came, paused ones whose
// wait is over, and ones whose worker died (their lease ran out).
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	due, err := s.Store.DueCampaigns(ctx, s.now(), 50)
	if err != nil {
		return 0, err
	}
	for _, r := range due {
		if _, err := s.Run(ctx, r); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}
