// Package referral rewards referrals from the event feed: it is the Sink
// that turns member.referral_qualified events into the rewards of both
// sides (loyalty.Referrals.RewardReferral), off the order close's hot path.
package referral

import (
	"context"
	"errors"
	"log/slog"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Rewarder gives a qualified referral its points, idempotently.
type Rewarder interface {
	RewardReferral(ctx context.Context, tenantID, refereeID string) error
}

// Sink consumes the feed. A reward is idempotent (a record per referee in
// its transaction), so a redelivered batch rewards nothing twice.
type Sink struct {
	Rewarder Rewarder
	Log      *slog.Logger
}

// Consume rewards every qualified referral of the batch. A store that is
// busy or a lost race is returned (the batch is retried); anything else is
// logged and skipped, so one bad member never stalls the stream.
func (s *Sink) Consume(ctx context.Context, events []feed.Event) error {
	for _, e := range events {
		if e.Type != feed.MemberReferralQualified {
			continue
		}
		err := s.Rewarder.RewardReferral(ctx, e.TenantID, e.MemberID)
		switch {
		case err == nil:
		case errors.Is(err, loyalty.ErrUnavailable), errors.Is(err, loyalty.ErrConflict), ctx.Err() != nil:
			return err
		case loyalty.CodeOf(err) != loyalty.CodeInternal:
			s.log().Warn("referral reward skipped", "tenant", e.TenantID, "member", e.MemberID, "code", loyalty.CodeOf(err))
		default:
			return err // a store error: retried with the batch
		}
	}
	return nil
}

func (s *Sink) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
