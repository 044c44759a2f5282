package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
)

var _ feed.Sink = (*Service)(nil)

// Consume queues one delivery per event and enabled endpoint subscribed to
// its type, then kicks each lane touched. Enqueueing is idempotent on
// (endpoint, event id), so a redelivered batch queues nothing twice; the
// kicks are sent again, which is harmless (a kick of an idle or busy lane
// does nothing) and covers a crash between the enqueue and the kick.
func (s *Service) Consume(ctx context.Context, events []feed.Event) error {
	now := s.now()
	endpoints := map[string][]Endpoint{}
	var lanes []Lane
	seen := map[Lane]bool{}
	for _, ev := range events {
		if ev.ID == "" || ev.TenantID == "" || ev.Type == feed.Test {
			s.Logger.WarnContext(ctx, "webhooks: event skipped", "event", ev.ID, "type", ev.Type)
			continue
		}
		eps, ok := endpoints[ev.TenantID]
		if !ok {
			var err error
			if eps, err = s.Store.ListEndpoints(ctx, ev.TenantID); err != nil {
				return err
			}
			endpoints[ev.TenantID] = eps
		}
		var body []byte
		for _, ep := range eps {
			if ep.Disabled || !ep.Subscribed(ev.Type) {
				continue
			}
			if body == nil {
				b, err := json.Marshal(ev)
				if err != nil { // data that is not JSON: it can never be sent
					s.Logger.ErrorContext(ctx, "webhooks: event not encodable", "event", ev.ID, "error", err.Error())
					break
				}
				body = b
			}
			d := &Delivery{Lane: LaneOf(ev.TenantID, ep.ID, ev.MemberID), EventID: ev.ID, Type: ev.Type, Seq: ev.Seq,
				OccurredAt: ev.OccurredAt.UTC(), Body: body, NextAt: now, CreatedAt: now}
			if _, err := s.Store.Enqueue(ctx, d); err != nil {
				return err
			}
			if !seen[d.Lane] {
				seen[d.Lane] = true
				lanes = append(lanes, d.Lane)
			}
		}
	}
	for _, l := range lanes {
		if err := s.Queue.Kick(ctx, Kick{Lane: l}, 0); err != nil {
			return err
		}
	}
	return nil
}

// leaseMargin is added to the request timeout for a claim's lease.
const leaseMargin = 15 * time.Second

// ProcessLane delivers a lane's deliveries in order until it is empty or
// its head must wait for a retry. Every attempt is claimed with a
// conditioned write first, so two workers holding kicks of the same lane
// never send the same attempt; the one that loses the claim returns, and
// the winner goes on with the lane. An error means the kick should be
// retried (the store failed); receivers' failures are outcomes, not errors.
func (s *Service) ProcessLane(ctx context.Context, k Kick) error {
	for {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.Timeout+5*time.Second {
			// Not enough time left for an attempt: hand the lane on.
			return s.Queue.Kick(ctx, Kick{Lane: k.Lane}, 0)
		}
		d, err := s.Store.LaneHead(ctx, k.Lane)
		if err != nil || d == nil {
			return err
		}
		now := s.now()
		if d.LeaseOwner != "" && d.LeaseUntil.After(now) {
			return nil // another worker is on this lane and goes on with it
		}
		if d.NextAt.After(now) {
			if !k.DueAt.IsZero() && k.DueAt.Equal(d.NextAt) {
				// The retry's own kick, early (a queue's delay is capped): wait again.
				return s.Queue.Kick(ctx, k, d.NextAt.Sub(now))
			}
			return nil // the kick made for that retry comes later
		}
		ok, err := s.Store.Claim(ctx, d, s.Owner, now, now.Add(s.Timeout+leaseMargin))
		if err != nil || !ok {
			return err
		}
		d.Attempts++
		d.LeaseOwner = s.Owner
		next, err := s.attempt(ctx, d, now)
		if err != nil {
			return err
		}
		if !next.IsZero() {
			return s.Queue.Kick(ctx, Kick{Lane: k.Lane, DueAt: next}, next.Sub(now))
		}
		k.DueAt = time.Time{}
	}
}

// attempt makes the claimed attempt of d and writes its outcome; it
// returns the time of the next attempt when d stays at its lane's head.
func (s *Service) attempt(ctx context.Context, d *Delivery, now time.Time) (time.Time, error) {
	ep, err := s.Store.GetEndpoint(ctx, d.TenantID, d.EndpointID)
	if err != nil {
		return time.Time{}, err
	}
	finish := func(o Outcome) error {
		err := s.Store.Finish(ctx, d, s.Owner, o)
		if errors.Is(err, loyalty.ErrConflict) {
			// The lease ran out and another worker took the delivery over.
			s.Logger.WarnContext(ctx, "webhooks: lease lost", "tenant", d.TenantID, "webhook", d.EndpointID, "event", d.EventID)
			return nil
		}
		return err
	}
	if ep == nil {
		return time.Time{}, finish(Outcome{Dropped: true})
	}
	if ep.Disabled {
		return time.Time{}, finish(Outcome{Dead: "webhook disabled: " + ep.DisabledReason})
	}
	keys, err := s.signingKeys(ep)
	if err != nil {
		return time.Time{}, err
	}
	r := s.send(ctx, ep.URL, keys, d.EventID, d.Body)
	a := &Attempt{EventID: d.EventID, Type: d.Type, Attempt: d.Attempts, At: now, ResponseCode: r.code, LatencyMs: r.latency.Milliseconds(), Error: r.err}
	switch {
	case r.ok():
		a.Status = StatusDelivered
		if err := finish(Outcome{Delivered: true, Attempt: a}); err != nil {
			return time.Time{}, err
		}
		if ep.FailingSince != nil {
			return time.Time{}, s.Store.ClearFailing(ctx, d.TenantID, d.EndpointID)
		}
		return time.Time{}, nil
	case r.code == http.StatusGone:
		a.Status = StatusGone
		if err := s.disable(ctx, ep, "the receiver answered 410 Gone"); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, finish(Outcome{Dead: "the receiver answered 410 Gone", Attempt: a})
	}
	since, err := s.Store.MarkFailing(ctx, d.TenantID, d.EndpointID, now)
	if err != nil {
		return time.Time{}, err
	}
	if now.Sub(since) >= s.DisableAfter {
		a.Status = StatusDead
		if err := s.disable(ctx, ep, "failing since "+since.Format(time.RFC3339)); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, finish(Outcome{Dead: "webhook disabled after failing continuously", Attempt: a})
	}
	if d.Attempts > len(s.Schedule) {
		a.Status = StatusDead
		return time.Time{}, finish(Outcome{Dead: "no tries left: " + r.err, Attempt: a})
	}
	a.Status = StatusFailed
	next := now.Add(s.Schedule[d.Attempts-1])
	a.NextAt = next
	if err := finish(Outcome{NextAt: next, Attempt: a}); err != nil {
		return time.Time{}, err
	}
	return next, nil
}

// disable turns an endpoint off and tells its contact, once.
func (s *Service) disable(ctx context.Context, ep *Endpoint, reason string) error {
	did, err := s.Store.Disable(ctx, ep.TenantID, ep.ID, reason, s.now())
	if err != nil || !did {
		return err
	}
	s.Logger.WarnContext(ctx, "webhooks: endpoint disabled", "tenant", ep.TenantID, "webhook", ep.ID, "reason", reason)
	if ep.NotifyEmail == "" || s.Sender == nil {
		return nil
	}
	host := ""
	if u, err := url.Parse(ep.URL); err == nil {
		host = u.Host
	}
	msg := loyalty.Message{To: ep.NotifyEmail, Channel: "email", SentAt: s.now(),
		Body: fmt.Sprintf("Your webhook %s to %s was disabled (%s). Undelivered events are in its dead letters: create the webhook again and replay them.", ep.ID, host, reason)}
	if err := s.Sender.Send(ctx, msg); err != nil {
		// The endpoint is disabled either way; a lost notice is not worth a retry of the delivery.
		s.Logger.ErrorContext(ctx, "webhooks: disable notice not sent", "tenant", ep.TenantID, "webhook", ep.ID, "error", err.Error())
	}
	return nil
}

// result of one request.
type result struct {
	code    int
	latency time.Duration
	err     string
}

func (r result) ok() bool { return r.err == "" && r.code >= 200 && r.code < 300 }

// send makes one signed request and reads at most MaxResponseBytes of the
// answer. It never fails: every problem is a failed attempt.
func (s *Service) send(ctx context.Context, target string, keys [][]byte, id string, body []byte) result {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return result{err: "bad URL"}
	}
	ts := s.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "loyalty-webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, Signature(keys, id, ts, body))
	start := time.Now()
	resp, err := s.Client.Do(req)
	if err != nil {
		return result{latency: time.Since(start), err: describe(err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
	r := result{code: resp.StatusCode, latency: time.Since(start)}
	switch {
	case r.code >= 300 && r.code < 400:
		r.err = "redirect not followed"
	case r.code < 200 || r.code >= 300:
		r.err = "HTTP " + strconv.Itoa(r.code)
	}
	return r
}

// describe says why a request failed, without the URL (which may carry a
// receiver's token in its query).
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrRefusedAddress):
		return "refused address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "connection failed: " + op.Op
	}
	return "request failed"
}

// reconcileGrace is how long a due delivery may wait before reconciliation
// kicks its lane again (its own kick should have come long before).
const reconcileGrace = time.Minute

// Reconcile kicks every lane with a delivery due for a while: the safety net
// for a kick lost between a state write and the queue (a crash, a failed
// send). It runs on a schedule in the cloud and at start and then
// periodically locally.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	lanes, err := s.Store.DueLanes(ctx, s.now().Add(-reconcileGrace), 1000)
	if err != nil {
		return 0, err
	}
	for _, l := range lanes {
		if err := s.Queue.Kick(ctx, Kick{Lane: l}, 0); err != nil {
			return 0, err
		}
	}
	return len(lanes), nil
}
