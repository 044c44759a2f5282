package campaigns

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Store is what campaigns need of the table (store.Store implements it).
type Store interface {
	GetTenant(ctx context.Context, tenantID string) (*loyalty.Tenant, error)
	LoadMember(ctx context.Context, tenantID, memberID string) (*loyalty.MemberState, error)
	// LastPointOfSale is where the member's latest order was closed ("" when
	// the newest entries name none).
	LastPointOfSale(ctx context.Context, tenantID, memberID string) (string, error)
	// Candidates pages member ids of a source (ascending) after `after`.
	Candidates(ctx context.Context, tenantID, source, value, after string, limit int) ([]string, error)
	// Hit counts a message against the plan's sending limits.
	Hit(ctx context.Context, tenantID string, now time.Time, limits ...loyalty.RateLimit) error

	// CreateCampaign writes a new campaign, due at SendAt.
	CreateCampaign(ctx context.Context, c *Campaign) error
	GetCampaign(ctx context.Context, tenantID, id string) (*Campaign, error)
	// LeaseCampaign gives owner the campaign until `until` when it is due
	// at now and no other worker holds it; ErrNotLeased otherwise. It
	// answers the campaign and the cursor to continue after.
	LeaseCampaign(ctx context.Context, tenantID, id, owner string, now, until time.Time) (*Campaign, string, error)
	// SaveCursor records that every candidate up to cursor has its record,
	// and extends the lease, conditioned on owner still holding it.
	SaveCursor(ctx context.Context, tenantID, id, owner, cursor string, until time.Time) error
	// ReleaseCampaign ends owner's lease: status done or halted (with
	// reason), or still sending and due again at resumeAt.
	ReleaseCampaign(ctx context.Context, tenantID, id, owner, status, reason string, resumeAt, now time.Time) error
	// ClaimRecipient writes the member's record in state, counting the member as
	// targeted (and as skipped for a skip state), with meter for a message
	// about to go out. It answers false and the record's state when the
	// member already has a record.
	ClaimRecipient(ctx context.Context, tenantID, id, owner, memberID, state string, meter *loyalty.Meter, at time.Time) (bool, string, error)
	// SettleRecipient moves a claimed record to its outcome and counts it.
	SettleRecipient(ctx context.Context, tenantID, id, memberID, state string, at time.Time) error
	// DueCampaigns lists campaigns due at now (scheduled ones whose time
	// came, paused ones whose wait is over, leases left by a dead worker).
	DueCampaigns(ctx context.Context, now time.Time, limit int) ([]Ref, error)

	// SetMarketingConsent changes a member's consent (conditioned on the
	// account existing, bumping its revision so no concurrent write of an
	// older account undoes it).
	SetMarketingConsent(ctx context.Context, tenantID, memberID string, consent bool, at time.Time) error
	ResolveMember(ctx context.Context, tenantID string, ref loyalty.MemberRef) (string, error)

	// Expiry reminders.
	ListTenantIDs(ctx context.Context) ([]string, error)
	// ExpiringMembers lists the members the expiry index has points of
	// expiring on day (UTC).
	ExpiringMembers(ctx context.Context, day time.Time) ([]loyalty.MemberKey, error)
	// ClaimReminder records the reminder of a member's expiry day,
	// conditioned on its absence, with the message's meter.
	ClaimReminder(ctx context.Context, tenantID, memberID string, day time.Time, meter *loyalty.Meter, at time.Time) (bool, error)
	RemindersDoneThrough(ctx context.Context) (time.Time, error)
	SetRemindersDone(ctx context.Context, day time.Time) error
	TenantBySlug(ctx context.Context, slug string) (*loyalty.Tenant, error)
}

// ErrNotLeased: the campaign is not due, done, or another worker holds it.
var ErrNotLeased = errors.New("campaigns: not leased")

// Ref names a campaign.
type Ref struct {
	TenantID   string `json:"tenantId"`
	CampaignID string `json:"campaignId"`
}

// Kicker wakes the worker for a campaign after delay (SQS in the cloud; the
// local worker polls the due index and needs none).
type Kicker interface {
	Kick(ctx context.Context, r Ref, delay time.Duration) error
}

// Service creates, reads and sends campaigns and changes consent.
type Service struct {
	Store  Store
	Sender loyalty.Sender
	Kicker Kicker // nil: none (the local worker polls)
	Now    func() time.Time
	Logger *slog.Logger
	// Tokens signs unsubscribe links; BaseURL is where they point.
	Tokens  *Tokens
	BaseURL string
	// Rate is messages per second per channel (default DefaultRates);
	// Sleep waits between messages (default a timer; tests pass none).
	Rate  map[string]int
	Sleep func(ctx context.Context, d time.Duration) error
	// Lease is how long a worker holds a campaign without saving progress
	// (default 2 minutes); Budget how long one Run works before handing
	// the rest to a new kick (default 10 minutes: a Lambda's 15 minute
	// limit with room to spare).
	Lease  time.Duration
	Budget time.Duration
	// PageSize is the candidates read per page (default 100).
	PageSize int
	// ProbeLimit bounds the candidates creation examines looking for one
	// member of the segment (default 2000).
	ProbeLimit int
}

// DefaultRates are the channel rates: what an SMS gateway's default
// throughput allows, and what SES and the push path take comfortably.
var DefaultRates = map[string]int{ChannelSMS: 10, ChannelEmail: 20, ChannelPush: 20}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// CreateRequest is a new campaign.
type CreateRequest struct {
	Name    string
	Channel string
	Segment Segment
	Text    string
	SendAt  time.Time // zero: now
}

// Create checks and stores a campaign and wakes the worker for its send
// time. Nothing is sent here. It refuses a segment without members: the
// probe stops at the first member found, and after ProbeLimit candidates
// without one it accepts (the worker then finishes with none targeted).
func (s *Service) Create(ctx context.Context, c loyalty.Caller, req CreateRequest) (*Campaign, error) {
	if !c.Role.AtLeast(loyalty.RoleAdmin) {
		return nil, loyalty.Errorf(loyalty.CodeForbidden, "campaigns need an admin or owner key")
	}
	now := s.now()
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 200 {
		return nil, loyalty.Invalid("name", "a name of 1-200 characters is required")
	}
	switch req.Channel {
	case ChannelSMS, ChannelEmail, ChannelPush:
	default:
		return nil, loyalty.Invalid("channel", "channel is sms, email or push")
	}
	if strings.TrimSpace(req.Text) == "" {
		return nil, loyalty.Invalid("text", "the text is empty")
	}
	if _, err := ParseTemplate(req.Text); err != nil {
		return nil, err
	}
	if err := req.Segment.Validate(); err != nil {
		return nil, err
	}
	sendAt := req.SendAt
	if sendAt.IsZero() {
		sendAt = now
	} else if sendAt.Before(now.Add(-time.Minute)) { // a minute of clock skew
		return nil, &loyalty.Error{Code: loyalty.CodeSendTimeInPast, Field: "sendAt", Message: "sendAt is in the past: leave it out to send now"}
	}
	found, err := s.probe(ctx, c.TenantID, req.Segment, now)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &loyalty.Error{Code: loyalty.CodeSegmentEmpty, Field: "segment", Message: "no member is in this segment: nothing would be sent"}
	}
	camp := &Campaign{ID: loyalty.NewID("cmp_"), TenantID: c.TenantID, Name: req.Name, Channel: req.Channel,
		Segment: req.Segment, Text: req.Text, SendAt: sendAt.UTC(), Status: StatusScheduled, CreatedAt: now.UTC()}
	if err := s.Store.CreateCampaign(ctx, camp); err != nil {
		return nil, err
	}
	if s.Kicker != nil {
		// A lost kick delays, never loses, the campaign: the worker's
		// schedule reads the due index (Reconcile).
		if err := s.Kicker.Kick(ctx, Ref{c.TenantID, camp.ID}, sendAt.Sub(now)); err != nil {
			s.logger().WarnContext(ctx, "campaigns: kick failed; the schedule will pick it up", "campaign", camp.ID, "error", err.Error())
		}
	}
	return camp, nil
}

// probe looks for one member of the segment among at most ProbeLimit
// candidates (true too when the limit is reached without one).
func (s *Service) probe(ctx context.Context, tenantID string, seg Segment, now time.Time) (bool, error) {
	limit := s.ProbeLimit
	if limit <= 0 {
		limit = 2000
	}
	source, value := seg.Source()
	after, seen := "", 0
	for seen < limit {
		ids, err := s.Store.Candidates(ctx, tenantID, source, value, after, 100)
		if err != nil {
			return false, err
		}
		for _, id := range ids {
			seen++
			st, err := s.Store.LoadMember(ctx, tenantID, id)
			if errors.Is(err, loyalty.ErrMemberNotFound) {
				continue
			}
			if err != nil {
				return false, err
			}
			ok, err := seg.Matches(st, now, func() (string, error) { return s.Store.LastPointOfSale(ctx, tenantID, id) })
			if err != nil || ok {
				return ok, err
			}
		}
		if len(ids) < 100 {
			return false, nil
		}
		after = ids[len(ids)-1]
	}
	return true, nil
}

// Get reads a campaign with its counts.
func (s *Service) Get(ctx context.Context, c loyalty.Caller, id string) (*Campaign, error) {
	if !c.Role.AtLeast(loyalty.RoleAdmin) {
		return nil, loyalty.Errorf(loyalty.CodeForbidden, "campaigns need an admin or owner key")
	}
	return s.Store.GetCampaign(ctx, c.TenantID, id)
}

// SetConsent changes a member's marketing consent.
func (s *Service) SetConsent(ctx context.Context, tenantID, memberID string, consent bool) error {
	return s.Store.SetMarketingConsent(ctx, tenantID, memberID, consent, s.now())
}
