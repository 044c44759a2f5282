package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
)

// CreateRequest registers an endpoint.
type CreateRequest struct {
	URL         string
	Events      []string
	Description string
	NotifyEmail string
}

// Created is the answer to a creation or a rotation: the secret, shown once.
type Created struct {
	ID     string `json:"webhookId"`
	Secret string `json:"secret"`
}

// idempotent answers a request made again with its Idempotency-Key with the
// stored answer (sealed: it shows a secret), and runs do otherwise; seal
// makes the record do writes together with its change.
func idempotent[T any](ctx context.Context, s *Service, tenantID string, idem loyalty.Idem, do func(seal func(T) (*loyalty.IdemRecord, error)) (T, error)) (T, bool, error) {
	var zero T
	lookup := func() (T, bool, error) {
		if idem.Key == "" {
			return zero, false, nil
		}
		rec, err := s.Store.GetIdem(ctx, tenantID, idem)
		if err != nil || rec == nil {
			return zero, false, err
		}
		if rec.RequestHash != idem.Hash {
			return zero, false, loyalty.ErrIdempotencyReused
		}
		plain, err := s.Sealer.Open(rec.Response, "idem/"+tenantID)
		if err != nil {
			return zero, false, err
		}
		var out T
		return out, true, json.Unmarshal(plain, &out)
	}
	if out, found, err := lookup(); err != nil || found {
		return out, found, err
	}
	seal := func(res T) (*loyalty.IdemRecord, error) {
		if idem.Key == "" {
			return nil, nil
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		sealed, err := s.Sealer.Seal(b, "idem/"+tenantID)
		if err != nil {
			return nil, err
		}
		return &loyalty.IdemRecord{Key: idem.Key, Scope: idem.Scope, RequestHash: idem.Hash, Status: 200, Response: sealed, CreatedAt: s.now()}, nil
	}
	out, err := do(seal)
	if errors.Is(err, loyalty.ErrIdempotencyRace) {
		// A duplicate of this request committed first: answer with its result.
		out, _, err = lookup()
		return out, err == nil, err
	}
	return out, false, err
}

// validateEvents checks the subscribed types.
func validateEvents(types []string) ([]string, error) {
	out := []string{}
	for _, t := range types {
		if !slices.Contains(feed.Types, t) {
			return nil, loyalty.Invalid("events", "unknown event type %q (known: %s)", t, strings.Join(feed.Types, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Service) needSealer() error {
	if s.Sealer == nil {
		return errors.New("webhooks: no secret-sealing key configured")
	}
	return nil
}

// Create registers an endpoint and returns its secret (shown once).
func (s *Service) Create(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, req CreateRequest) (Created, bool, error) {
	if err := s.needSealer(); err != nil {
		return Created{}, false, err
	}
	return idempotent(ctx, s, c.TenantID, idem, func(seal func(Created) (*loyalty.IdemRecord, error)) (Created, error) {
		// Checked after the replay lookup: a retry gets its first answer
		// even if the host's DNS changed since.
		events, err := validateEvents(req.Events)
		if err != nil {
			return Created{}, err
		}
		if err := s.Guard.CheckURL(ctx, req.URL); err != nil {
			return Created{}, err
		}
		ep := &Endpoint{ID: loyalty.NewID("wh_"), TenantID: c.TenantID, URL: req.URL, Events: events,
			Description: req.Description, NotifyEmail: req.NotifyEmail, Version: 1, CreatedAt: s.now()}
		secret, err := s.addSecret(ep)
		if err != nil {
			return Created{}, err
		}
		out := Created{ID: ep.ID, Secret: secret}
		rec, err := seal(out)
		if err != nil {
			return Created{}, err
		}
		if err := s.Store.CreateEndpoint(ctx, ep, s.MaxEndpoints, rec); err != nil {
			return Created{}, err
		}
		return out, nil
	})
}

// addSecret draws a new current secret for ep; the former current one keeps
// signing for RotationOverlap, and expired ones are dropped.
func (s *Service) addSecret(ep *Endpoint) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	sealed, err := s.Sealer.Seal([]byte(secret), ep.owner())
	if err != nil {
		return "", err
	}
	now := s.now()
	keep := []SealedSecret{{Sealed: sealed}}
	for _, old := range ep.Secrets {
		if old.ExpiresAt.IsZero() {
			old.ExpiresAt = now.Add(RotationOverlap)
		}
		if old.ExpiresAt.After(now) {
			keep = append(keep, old)
		}
	}
	ep.Secrets = keep
	return secret, nil
}

// signingKeys are the HMAC keys of the secrets that sign now.
func (s *Service) signingKeys(ep *Endpoint) ([][]byte, error) {
	if err := s.needSealer(); err != nil {
		return nil, err
	}
	now := s.now()
	var keys [][]byte
	for _, sec := range ep.Secrets {
		if !sec.ExpiresAt.IsZero() && !sec.ExpiresAt.After(now) {
			continue
		}
		plain, err := s.Sealer.Open(sec.Sealed, ep.owner())
		if err != nil {
			return nil, err
		}
		k, err := secretKey(string(plain))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("webhooks: endpoint has no current secret")
	}
	return keys, nil
}

// Get returns one endpoint of the caller's tenant.
func (s *Service) Get(ctx context.Context, c loyalty.Caller, id string) (*Endpoint, error) {
	ep, err := s.Store.GetEndpoint(ctx, c.TenantID, id)
	if err != nil {
		return nil, err
	}
	if ep == nil {
		return nil, ErrNotFound
	}
	s.pruneSecrets(ep)
	return ep, nil
}

// List returns the tenant's endpoints.
func (s *Service) List(ctx context.Context, c loyalty.Caller) ([]Endpoint, error) {
	eps, err := s.Store.ListEndpoints(ctx, c.TenantID)
	for i := range eps {
		s.pruneSecrets(&eps[i])
	}
	return eps, err
}

// pruneSecrets drops the rotated secrets that no longer sign.
func (s *Service) pruneSecrets(ep *Endpoint) {
	now := s.now()
	keep := ep.Secrets[:0]
	for _, sec := range ep.Secrets {
		if sec.ExpiresAt.IsZero() || sec.ExpiresAt.After(now) {
			keep = append(keep, sec)
		}
	}
	ep.Secrets = keep
}

// Delete removes an endpoint; its queued deliveries are dropped as the
// worker meets them.
func (s *Service) Delete(ctx context.Context, c loyalty.Caller, id string) error {
	return s.Store.DeleteEndpoint(ctx, c.TenantID, id)
}

// Enable switches a disabled endpoint on again, its run of failures
// forgotten. (Idempotent by nature: enabling twice is enabling.)
func (s *Service) Enable(ctx context.Context, c loyalty.Caller, id string) (*Endpoint, error) {
	if err := s.Store.Enable(ctx, c.TenantID, id); err != nil {
		return nil, err
	}
	return s.Get(ctx, c, id)
}

// Rotate draws a new secret; the previous one keeps signing for 24 hours,
// so receivers see two v1 signatures meanwhile.
func (s *Service) Rotate(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, id string) (Created, bool, error) {
	if err := s.needSealer(); err != nil {
		return Created{}, false, err
	}
	return idempotent(ctx, s, c.TenantID, idem, func(seal func(Created) (*loyalty.IdemRecord, error)) (Created, error) {
		ep, err := s.Get(ctx, c, id)
		if err != nil {
			return Created{}, err
		}
		prev := ep.Version
		secret, err := s.addSecret(ep)
		if err != nil {
			return Created{}, err
		}
		ep.Version++
		out := Created{ID: ep.ID, Secret: secret}
		rec, err := seal(out)
		if err != nil {
			return Created{}, err
		}
		return out, s.Store.SaveSecrets(ctx, ep, prev, rec)
	})
}

// Attempts pages through an endpoint's delivery log, newest first.
func (s *Service) Attempts(ctx context.Context, c loyalty.Caller, id string, limit int, cursor string) ([]Attempt, string, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return nil, "", err
	}
	return s.Store.Attempts(ctx, c.TenantID, id, limit, cursor)
}

// DeadLetters pages through an endpoint's dead letters.
func (s *Service) DeadLetters(ctx context.Context, c loyalty.Caller, id string, limit int, cursor string) ([]DeadLetter, string, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return nil, "", err
	}
	return s.Store.DeadLetters(ctx, c.TenantID, id, limit, cursor)
}

// Replayed is the answer to a replay.
type Replayed struct {
	EventID string `json:"eventId"`
	Status  string `json:"status" enum:"queued"`
}

// Replay queues a dead letter again, at its lane's position by seq.
func (s *Service) Replay(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, id, eventID string) (Replayed, bool, error) {
	out, replayed, err := idempotent(ctx, s, c.TenantID, idem, func(seal func(Replayed) (*loyalty.IdemRecord, error)) (Replayed, error) {
		ep, err := s.Get(ctx, c, id)
		if err != nil {
			return Replayed{}, err
		}
		if ep.Disabled {
			return Replayed{}, ErrDisabled
		}
		out := Replayed{EventID: eventID, Status: "queued"}
		rec, err := seal(out)
		if err != nil {
			return Replayed{}, err
		}
		d := &Delivery{Lane: Lane{TenantID: c.TenantID, EndpointID: id}, EventID: eventID, NextAt: s.now(), CreatedAt: s.now()}
		if err := s.Store.Requeue(ctx, d, rec); err != nil {
			return Replayed{}, err
		}
		return out, s.Queue.Kick(ctx, Kick{Lane: d.Lane}, 0)
	})
	return out, replayed, err
}

// TestResult is the outcome of a test delivery.
type TestResult struct {
	EventID      string `json:"eventId"`
	Delivered    bool   `json:"delivered"`
	ResponseCode int    `json:"responseCode,omitempty"`
	LatencyMs    int64  `json:"latencyMs"`
	Error        string `json:"error,omitempty"`
}

// Test sends one webhook.test event now, once (not retried), signed like
// any delivery, and logs the attempt.
func (s *Service) Test(ctx context.Context, c loyalty.Caller, idem loyalty.Idem, id string) (TestResult, bool, error) {
	return idempotent(ctx, s, c.TenantID, idem, func(seal func(TestResult) (*loyalty.IdemRecord, error)) (TestResult, error) {
		ep, err := s.Get(ctx, c, id)
		if err != nil {
			return TestResult{}, err
		}
		if ep.Disabled {
			return TestResult{}, ErrDisabled
		}
		now := s.now()
		ev := feed.Event{ID: loyalty.NewID("evt_test_"), Type: feed.Test, TenantID: c.TenantID, OccurredAt: now,
			Data: json.RawMessage(fmt.Sprintf(`{"webhookId":%q}`, ep.ID))}
		body, err := json.Marshal(ev)
		if err != nil {
			return TestResult{}, err
		}
		keys, err := s.signingKeys(ep)
		if err != nil {
			return TestResult{}, err
		}
		r := s.send(ctx, ep.URL, keys, ev.ID, body)
		out := TestResult{EventID: ev.ID, Delivered: r.ok(), ResponseCode: r.code, LatencyMs: r.latency.Milliseconds(), Error: r.err}
		status := StatusDelivered
		if !r.ok() {
			status = StatusFailed
		}
		if err := s.Store.LogAttempt(ctx, c.TenantID, ep.ID, Attempt{EventID: ev.ID, Type: ev.Type, Attempt: 1, At: now,
			Status: status, ResponseCode: r.code, LatencyMs: out.LatencyMs, Error: r.err}); err != nil {
			return TestResult{}, err
		}
		rec, err := seal(out)
		if err != nil || rec == nil {
			return out, err
		}
		return out, s.Store.PutIdem(ctx, c.TenantID, rec)
	})
}
