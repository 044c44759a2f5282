// Package webhooks delivers the event feed to tenants' endpoints as signed
// webhooks (Standard Webhooks): the endpoints API, a feed.Sink that queues
// one delivery per subscribed endpoint and event, and the worker that sends
// them in member order with the spec's retry schedule, the same code on a
// laptop (an in-process queue) and in the cloud (SQS). It imports no AWS
// package: the table is behind Store, the queue behind Queue.
package webhooks

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Endpoint is a tenant's registered receiver.
type Endpoint struct {
	ID          string   `json:"webhookId"`
	TenantID    string   `json:"tenantId"`
	URL         string   `json:"url"`
	Events      []string `json:"events,omitempty"` // empty: every type
	Description string   `json:"description,omitempty"`
	// NotifyEmail is told when the endpoint is disabled.
	NotifyEmail string `json:"notifyEmail,omitempty"`
	// Secrets sign deliveries: the current one first, then rotated ones
	// until they expire.
	Secrets        []SealedSecret `json:"secrets"`
	Disabled       bool           `json:"disabled"`
	DisabledReason string         `json:"disabledReason,omitempty"`
	DisabledAt     *time.Time     `json:"disabledAt,omitempty"`
	// FailingSince is the first failure of an unbroken run of failures.
	FailingSince *time.Time `json:"failingSince,omitempty"`
	Version      int64      `json:"version"`
	CreatedAt    time.Time  `json:"createdAt"`
}

// SealedSecret is a signing secret as stored: encrypted (Sealer).
type SealedSecret struct {
	Sealed    []byte    `json:"sealed"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"` // zero: the current secret
}

// Subscribed reports whether the endpoint takes events of type t.
func (e *Endpoint) Subscribed(t string) bool {
	if len(e.Events) == 0 {
		return true
	}
	for _, x := range e.Events {
		if x == t {
			return true
		}
	}
	return false
}

// owner is the associated data sealing the endpoint's secrets.
func (e *Endpoint) owner() string { return "endpoint/" + e.TenantID + "/" + e.ID }

// Lane names the deliveries of one endpoint that go in order: those of one
// member ("-" for events without a member).
type Lane struct {
	TenantID   string `json:"tenantId"`
	EndpointID string `json:"webhookId"`
	Member     string `json:"member"`
}

// LaneOf is the lane of an event's delivery to an endpoint.
func LaneOf(tenantID, endpointID, memberID string) Lane {
	if memberID == "" {
		memberID = "-"
	}
	return Lane{TenantID: tenantID, EndpointID: endpointID, Member: memberID}
}

// Delivery is one event on its way to one endpoint. It waits in its lane
// (ordered by Seq, then OccurredAt) until it is delivered or dead.
type Delivery struct {
	Lane
	EventID    string    `json:"eventId"`
	Type       string    `json:"type"`
	Seq        int64     `json:"seq"`
	OccurredAt time.Time `json:"occurredAt"`
	Body       []byte    `json:"body"`
	// Attempts made (claimed) so far.
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"nextAt"`
	LeaseOwner string    `json:"leaseOwner,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Attempt is one try of a delivery, as the delivery log shows it.
type Attempt struct {
	EventID      string    `json:"eventId"`
	Type         string    `json:"type"`
	Attempt      int       `json:"attempt"`
	At           time.Time `json:"at"`
	Status       string    `json:"status" enum:"delivered,failed,dead,gone"`
	ResponseCode int       `json:"responseCode,omitempty"`
	LatencyMs    int64     `json:"latencyMs"`
	Error        string    `json:"error,omitempty"`
	NextAt       time.Time `json:"nextAttemptAt,omitzero"`
}

// Attempt statuses.
const (
	StatusDelivered = "delivered"
	StatusFailed    = "failed" // retried later
	StatusDead      = "dead"   // no tries left: in the dead letters
	StatusGone      = "gone"   // 410: endpoint disabled
)

// DeadLetter is a delivery that ran out of tries (or whose endpoint was
// disabled); replaying it queues it again.
type DeadLetter struct {
	EventID    string    `json:"eventId"`
	Type       string    `json:"type"`
	MemberID   string    `json:"memberId,omitempty"`
	Seq        int64     `json:"seq,omitempty"`
	OccurredAt time.Time `json:"occurredAt"`
	Attempts   int       `json:"attempts"`
	Reason     string    `json:"reason"`
	DeadAt     time.Time `json:"deadAt"`
	Body       []byte    `json:"-"`
}

// Outcome of an attempt, as the store writes it.
type Outcome struct {
	// Delivered removes the delivery from its lane.
	Delivered bool
	// Dead removes it from its lane into the dead letters with this reason.
	Dead string
	// Dropped removes it from its lane and keeps nothing (its endpoint is
	// deleted).
	Dropped bool
	// NextAt (none of the above) keeps it at its lane's head until then.
	NextAt time.Time
	// Attempt is the log line; nil when no request was made.
	Attempt *Attempt
}

// Kick asks the worker to look at a lane. DueAt is the retry time a
// scheduled kick was made for (zero: look now), so a kick that arrives early
// (SQS delays at most 15 minutes) waits again and a stale one is dropped.
type Kick struct {
	Lane
	DueAt time.Time `json:"dueAt,omitzero"`
}

// Queue carries kicks to the worker: SQS in the cloud, LocalQueue on a laptop.
type Queue interface {
	Kick(ctx context.Context, k Kick, delay time.Duration) error
}

// Store keeps endpoints and deliveries in the table. Conditions make every
// change safe against a concurrent writer: writes whose condition fails
// return loyalty.ErrConflict (or the named error).
type Store interface {
	// CreateEndpoint adds ep within max endpoints per tenant (ErrTooMany)
	// with the idempotency record (loyalty.ErrIdempotencyRace when it exists).
	CreateEndpoint(ctx context.Context, ep *Endpoint, max int, idem *loyalty.IdemRecord) error
	GetEndpoint(ctx context.Context, tenantID, id string) (*Endpoint, error) // nil when absent
	ListEndpoints(ctx context.Context, tenantID string) ([]Endpoint, error)
	// DeleteEndpoint removes it (ErrNotFound when absent).
	DeleteEndpoint(ctx context.Context, tenantID, id string) error
	// SaveSecrets replaces the secrets, conditioned on the version read.
	SaveSecrets(ctx context.Context, ep *Endpoint, prevVersion int64, idem *loyalty.IdemRecord) error
	// MarkFailing sets FailingSince unless set and returns its value.
	MarkFailing(ctx context.Context, tenantID, id string, now time.Time) (time.Time, error)
	ClearFailing(ctx context.Context, tenantID, id string) error
	// Disable disables the endpoint; false when it already was.
	Disable(ctx context.Context, tenantID, id, reason string, at time.Time) (bool, error)
	// Enable enables it and forgets its failures (ErrNotFound when absent).
	Enable(ctx context.Context, tenantID, id string) error
	GetIdem(ctx context.Context, tenantID string, idem loyalty.Idem) (*loyalty.IdemRecord, error)
	PutIdem(ctx context.Context, tenantID string, rec *loyalty.IdemRecord) error

	// Enqueue adds a delivery to its lane unless one for the same endpoint
	// and event was ever enqueued (false then).
	Enqueue(ctx context.Context, d *Delivery) (bool, error)
	// LaneHead is the first delivery of a lane, nil when it is empty.
	LaneHead(ctx context.Context, l Lane) (*Delivery, error)
	// Claim takes the next attempt of d for owner until leaseUntil: d's
	// attempts must still be what was read and no live lease held. False
	// when another worker has it.
	Claim(ctx context.Context, d *Delivery, owner string, now, leaseUntil time.Time) (bool, error)
	// Finish writes an attempt's outcome, conditioned on owner's lease.
	Finish(ctx context.Context, d *Delivery, owner string, o Outcome) error
	// LogAttempt adds a line to the delivery log (test sends).
	LogAttempt(ctx context.Context, tenantID, endpointID string, a Attempt) error
	// DueLanes lists lanes holding a delivery due before t (reconciliation).
	DueLanes(ctx context.Context, before time.Time, limit int) ([]Lane, error)
	Attempts(ctx context.Context, tenantID, endpointID string, limit int, cursor string) ([]Attempt, string, error)
	DeadLetters(ctx context.Context, tenantID, endpointID string, limit int, cursor string) ([]DeadLetter, string, error)
	// Requeue moves a dead letter back into its lane as d (ErrNotFound when
	// there is no such dead letter).
	Requeue(ctx context.Context, d *Delivery, idem *loyalty.IdemRecord) error
}

// Errors of the webhooks API.
var (
	ErrNotFound           = &loyalty.Error{Code: loyalty.CodeWebhookNotFound, Message: "webhook not found"}
	ErrDeadLetterNotFound = &loyalty.Error{Code: loyalty.CodeDeadLetterNotFound, Message: "no such dead letter"}
	ErrTooMany            = &loyalty.Error{Code: loyalty.CodeWebhookLimit, Field: "url", Message: "a tenant has at most 20 webhooks"}
	ErrDisabled           = &loyalty.Error{Code: loyalty.CodeWebhookDisabled, Message: "the webhook is disabled"}
)

// Defaults of Config.
var (
	// DefaultSchedule is the wait before each retry (Standard Webhooks /
	// Svix): the first try is immediate, then these, then dead letter.
	DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
)

const (
	DefaultTimeout      = 15 * time.Second
	DefaultDisableAfter = 5 * 24 * time.Hour
	DefaultMaxEndpoints = 20
	// RotationOverlap is how long a rotated secret still signs.
	RotationOverlap = 24 * time.Hour
	// MaxResponseBytes of a receiver's answer are read; the rest is dropped.
	MaxResponseBytes = 64 << 10
)

// Service is the webhooks API, the feed sink and the delivery worker.
type Service struct {
	Store  Store
	Sealer *Sealer
	Guard  *Guard
	Queue  Queue
	// Sender tells an endpoint's NotifyEmail that it was disabled.
	Sender loyalty.Sender
	Now    func() time.Time
	Logger *slog.Logger
	// Timeout of one delivery request.
	Timeout time.Duration
	// Schedule of retries; DisableAfter continuous failure disables.
	Schedule     []time.Duration
	DisableAfter time.Duration
	MaxEndpoints int
	// Client sends deliveries; nil builds one over Guard.
	Client *http.Client
	// TLS configures the built client's TLS (tests trust their own CA).
	TLS *tls.Config
	// Owner names this worker in leases.
	Owner string
}

// New fills in the defaults of s and returns it.
func New(s *Service) *Service {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Schedule == nil {
		s.Schedule = DefaultSchedule
	}
	if s.DisableAfter <= 0 {
		s.DisableAfter = DefaultDisableAfter
	}
	if s.MaxEndpoints <= 0 {
		s.MaxEndpoints = DefaultMaxEndpoints
	}
	if s.Guard == nil {
		s.Guard = &Guard{}
	}
	if s.Owner == "" {
		s.Owner = loyalty.NewID("w")
	}
	if s.Client == nil {
		s.Client = newClient(s.Guard, s.Timeout, s.TLS)
	}
	return s
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// newClient sends over the guard's dialer, follows no redirect (a 3xx is a
// failed attempt: the registered URL is the only one checked) and uses no
// proxy from the environment.
func newClient(g *Guard, timeout time.Duration, tlsConfig *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:        tlsConfig,
			DialContext:            g.DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           100,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  timeout,
			MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
}
