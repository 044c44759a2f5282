package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/webhooks"
)

// The webhooks API (API.md "Event feed and webhooks"): owner and admin keys
// register endpoints, rotate their secrets, read the delivery log and the
// dead letters and replay them.

func (s *server) hooks() (Webhooks, error) {
	if s.deps.Webhooks == nil {
		return nil, errors.New("api: no webhooks service wired")
	}
	return s.deps.Webhooks, nil
}

type WebhookPath struct {
	WebhookID string `path:"webhookId" pattern:"^wh_[a-z0-9]{1,64}$"`
}

type CreateWebhookInput struct {
	IdemOptional
	RawBody []byte
	Body    struct {
		URL         string   `json:"url" minLength:"1" maxLength:"2000" doc:"Where deliveries are POSTed: https (http only to loopback on a local server); never a private or reserved address"`
		Events      []string `json:"events,omitempty" maxItems:"50" doc:"Event types to receive (member.enrolled, points.accrued, ...); none: every type"`
		Description string   `json:"description,omitempty" maxLength:"500"`
		NotifyEmail string   `json:"notifyEmail,omitempty" maxLength:"254" format:"email" doc:"Told when the webhook is disabled (410 from the receiver, or 5 days of failures)"`
	}
}

// WebhookSecret is the answer to a creation or rotation.
type WebhookSecret struct {
	WebhookID string `json:"webhookId"`
	Secret    string `json:"secret" doc:"whsec_ + base64 of the signing key; shown only in this answer"`
}

func (s *server) registerCreateWebhook(r routes.Route) {
	o := op(r, "Register a webhook endpoint; the answer shows its signing secret once", "webhooks")
	o.DefaultStatus = http.StatusCreated
	registerWrite(s, o, func(ctx context.Context, in *CreateWebhookInput) (WebhookSecret, bool, error) {
		h, err := s.hooks()
		if err != nil {
			return WebhookSecret{}, false, err
		}
		res, replayed, err := h.Create(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody), webhooks.CreateRequest{
			URL: in.Body.URL, Events: in.Body.Events, Description: in.Body.Description, NotifyEmail: in.Body.NotifyEmail})
		return WebhookSecret{WebhookID: res.ID, Secret: res.Secret}, replayed, err
	})
}

// WebhookView is an endpoint as the API shows it: never its secrets.
type WebhookView struct {
	WebhookID      string     `json:"webhookId"`
	URL            string     `json:"url"`
	Events         []string   `json:"events" doc:"Subscribed types; empty: every type"`
	Description    string     `json:"description,omitempty"`
	NotifyEmail    string     `json:"notifyEmail,omitempty"`
	Status         string     `json:"status" enum:"enabled,disabled"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	FailingSince   *time.Time `json:"failingSince,omitempty" doc:"Start of an unbroken run of failed attempts"`
	SigningSecrets int        `json:"signingSecrets" doc:"Secrets signing now: 2 for 24 hours after a rotation"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// webhookView shows ep; the service has pruned the secrets that no longer sign.
func webhookView(ep *webhooks.Endpoint) WebhookView {
	v := WebhookView{WebhookID: ep.ID, URL: ep.URL, Events: append([]string{}, ep.Events...), Description: ep.Description,
		NotifyEmail: ep.NotifyEmail, Status: "enabled", DisabledReason: ep.DisabledReason, CreatedAt: ep.CreatedAt}
	if ep.Disabled {
		v.Status = "disabled"
	}
	v.FailingSince = ep.FailingSince
	v.SigningSecrets = len(ep.Secrets)
	return v
}

type WebhookOutput struct {
	Body WebhookView
}

type ListWebhooksOutput struct {
	Body struct {
		Webhooks []WebhookView `json:"webhooks"`
	}
}

func (s *server) registerListWebhooks(r routes.Route) {
	huma.Register(s.api, op(r, "List webhook endpoints", "webhooks"), func(ctx context.Context, _ *struct{}) (*ListWebhooksOutput, error) {
		h, err := s.hooks()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		eps, err := h.List(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListWebhooksOutput{}
		out.Body.Webhooks = make([]WebhookView, 0, len(eps))
		for i := range eps {
			out.Body.Webhooks = append(out.Body.Webhooks, webhookView(&eps[i]))
		}
		return out, nil
	})
}

func (s *server) registerGetWebhook(r routes.Route) {
	huma.Register(s.api, op(r, "Get a webhook endpoint", "webhooks"), func(ctx context.Context, in *WebhookPath) (*WebhookOutput, error) {
		h, err := s.hooks()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ep, err := h.Get(ctx, callerOf(ctx), in.WebhookID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &WebhookOutput{webhookView(ep)}, nil
	})
}

func (s *server) registerDeleteWebhook(r routes.Route) {
	o := op(r, "Delete a webhook endpoint; its queued deliveries are dropped", "webhooks")
	o.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, o, func(ctx context.Context, in *WebhookPath) (*struct{}, error) {
		h, err := s.hooks()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := h.Delete(ctx, callerOf(ctx), in.WebhookID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})
}

func (s *server) registerEnableWebhook(r routes.Route) {
	o := op(r, "Switch a disabled webhook on again (its dead letters stay until replayed)", "webhooks")
	huma.Register(s.api, o, func(ctx context.Context, in *WebhookWriteInput) (*WebhookOutput, error) {
		h, err := s.hooks()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ep, err := h.Enable(ctx, callerOf(ctx), in.WebhookID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &WebhookOutput{webhookView(ep)}, nil
	})
}

type WebhookWriteInput struct {
	WebhookPath
	IdemOptional
}

func (s *server) registerRotateWebhook(r routes.Route) {
	o := op(r, "Rotate the signing secret: the old one keeps signing for 24 hours (two v1 signatures)", "webhooks")
	registerWrite(s, o, func(ctx context.Context, in *WebhookWriteInput) (WebhookSecret, bool, error) {
		h, err := s.hooks()
		if err != nil {
			return WebhookSecret{}, false, err
		}
		res, replayed, err := h.Rotate(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, []string{in.WebhookID}, nil), in.WebhookID)
		return WebhookSecret{WebhookID: res.ID, Secret: res.Secret}, replayed, err
	})
}

func (s *server) registerTestWebhook(r routes.Route) {
	o := op(r, "Send a signed webhook.test event now, once, and answer how the receiver answered", "webhooks")
	registerWrite(s, o, func(ctx context.Context, in *WebhookWriteInput) (webhooks.TestResult, bool, error) {
		h, err := s.hooks()
		if err != nil {
			return webhooks.TestResult{}, false, err
		}
		return h.Test(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, []string{in.WebhookID}, nil), in.WebhookID)
	})
}

type PageInput struct {
	WebhookPath
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" minLength:"1" maxLength:"512" pattern:"^[A-Za-z0-9_-]+$" doc:"nextCursor of the previous page"`
}

type DeliveriesOutput struct {
	Body struct {
		Deliveries []webhooks.Attempt `json:"deliveries" doc:"Attempts, newest first"`
		NextCursor string             `json:"nextCursor,omitempty"`
	}
}

func limitOf(n int) int {
	if n <= 0 {
		return 50
	}
	return n
}

func (s *server) registerWebhookDeliveries(r routes.Route) {
	huma.Register(s.api, op(r, "The delivery log: every attempt with its status, response code and latency, newest first", "webhooks"), func(ctx context.Context, in *PageInput) (*DeliveriesOutput, error) {
		h, err := s.hooks()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		as, next, err := h.Attempts(ctx, callerOf(ctx), in.WebhookID, limitOf(in.Limit), in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &DeliveriesOutput{}
		out.Body.Deliveries, out.Body.NextCursor = append([]webhooks.Attempt{}, as...), next
		return out, nil
	})
}

type DeadLettersOutput struct {
	Body struct {
		DeadLetters []webhooks.DeadLetter `json:"deadLetters"`
		NextCursor  string                `json:"nextCursor,omitempty"`
	}
}

func (s *server) registerWebhookDeadLetters(r routes.Route) {
	huma.Register(s.api, op(r, "Events that ran out of tries (or met a disabled endpoint)", "webhooks"), func(ctx context.Context, in *PageInput) (*DeadLettersOutput, error) {
		h, err := s.hooks()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		ds, next, err := h.DeadLetters(ctx, callerOf(ctx), in.WebhookID, limitOf(in.Limit), in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &DeadLettersOutput{}
		out.Body.DeadLetters, out.Body.NextCursor = append([]webhooks.DeadLetter{}, ds...), next
		return out, nil
	})
}

type ReplayInput struct {
	WebhookPath
	IdemOptional
	EventID string `path:"eventId" pattern:"^[A-Za-z0-9_.:-]{1,200}$"`
}

func (s *server) registerReplayWebhook(r routes.Route) {
	o := op(r, "Queue a dead letter again (same webhook-id), in its member's order", "webhooks")
	o.DefaultStatus = http.StatusAccepted
	registerWrite(s, o, func(ctx context.Context, in *ReplayInput) (webhooks.Replayed, bool, error) {
		h, err := s.hooks()
		if err != nil {
			return webhooks.Replayed{}, false, err
		}
		return h.Replay(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, []string{in.WebhookID, in.EventID}, nil), in.WebhookID, in.EventID)
	})
}
