package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/campaigns"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// Campaigns (API.md "Campaigns, referrals, birthdays"): owner and admin keys
// create mailings to a segment and read their delivery counts; the SMS
// gateway posts replies (STOP) to a public, signed route.

// Campaigns is the campaigns service (campaigns.Service).
type Campaigns interface {
	Create(ctx context.Context, c loyalty.Caller, req campaigns.CreateRequest) (*campaigns.Campaign, error)
	Get(ctx context.Context, c loyalty.Caller, id string) (*campaigns.Campaign, error)
	InboundSMS(ctx context.Context, tenantID, phone, text string) (bool, error)
	Unsubscribe(ctx context.Context, token string) error
}

func (s *server) campaigns() (Campaigns, error) {
	if s.deps.Campaigns == nil {
		return nil, errors.New("api: no campaigns service wired")
	}
	return s.deps.Campaigns, nil
}

type CreateCampaignInput struct {
	Body struct {
		Name    string            `json:"name" minLength:"1" maxLength:"200"`
		Channel string            `json:"channel" enum:"sms,email,push" doc:"push: the change message of the member's wallet pass"`
		Segment campaigns.Segment `json:"segment" doc:"Members to reach; every criterion set must hold, none: every member. Only members with marketing consent get the message"`
		Text    string            `json:"text" minLength:"1" maxLength:"1000" doc:"Template: {name}, {balance}, {expiry} (soonest expiry date), {expiringPoints}, {card}; {{ and }} are literal braces. An unsubscribe link is added to SMS and email"`
		SendAt  *time.Time        `json:"sendAt,omitempty" doc:"When to send (RFC 3339); not in the past; none: now"`
	}
}

type CampaignOutput struct {
	Body campaigns.Campaign
}

func (s *server) registerCreateCampaign(r routes.Route) {
	o := op(r, "Create a campaign to the consenting members of a segment; it is sent in the background", "campaigns")
	o.DefaultStatus = http.StatusCreated
	huma.Register(s.api, o, func(ctx context.Context, in *CreateCampaignInput) (*CampaignOutput, error) {
		svc, err := s.campaigns()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		req := campaigns.CreateRequest{Name: in.Body.Name, Channel: in.Body.Channel, Segment: in.Body.Segment, Text: in.Body.Text}
		if in.Body.SendAt != nil {
			req.SendAt = *in.Body.SendAt
		}
		c, err := svc.Create(ctx, callerOf(ctx), req)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &CampaignOutput{*c}, nil
	})
}

type CampaignPath struct {
	CampaignID string `path:"campaignId" pattern:"^cmp_[a-z0-9]{1,64}$"`
}

func (s *server) registerGetCampaign(r routes.Route) {
	huma.Register(s.api, op(r, "Read a campaign and its delivery counts", "campaigns"), func(ctx context.Context, in *CampaignPath) (*CampaignOutput, error) {
		svc, err := s.campaigns()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		c, err := svc.Get(ctx, callerOf(ctx), in.CampaignID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &CampaignOutput{*c}, nil
	})
}

type InboundSMSInput struct {
	TenantSlug string `path:"tenantSlug" pattern:"^[a-z0-9-]{1,64}$"`
	Signature  string `header:"X-Signature" maxLength:"128" doc:"Hex HMAC-SHA256 of the raw body under the gateway's inbound secret"`
	RawBody    []byte
	Body       struct {
		From string `json:"from" minLength:"1" maxLength:"32" doc:"The sender's number"`
		Text string `json:"text" maxLength:"1600"`
	}
}

type InboundSMSOutput struct {
	Body struct {
		Unsubscribed bool `json:"unsubscribed" doc:"A STOP reply of a member withdrew the member's marketing consent"`
	}
}

func (s *server) registerInboundSMS(r routes.Route) {
	o := op(r, "The SMS gateway's inbound replies: STOP withdraws marketing consent", "campaigns")
	o.Description = "Signed by the gateway (X-Signature: hex HMAC-SHA256 of the body). A number that is no member changes nothing and answers 200, so the gateway does not retry."
	huma.Register(s.api, o, func(ctx context.Context, in *InboundSMSInput) (*InboundSMSOutput, error) {
		if !campaigns.CheckInbound(s.deps.SMSInboundSecret, in.RawBody, in.Signature) {
			return nil, s.problem(ctx, &loyalty.Error{Code: loyalty.CodeInboundSignatureInvalid, Message: "the signature does not match the body"})
		}
		svc, err := s.campaigns()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		t, err := s.deps.Tenancy.TenantBySlug(ctx, in.TenantSlug)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		phone, err := s.deps.Phones(in.Body.From)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		done, err := svc.InboundSMS(ctx, t.ID, phone, in.Body.Text)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &InboundSMSOutput{}
		out.Body.Unsubscribed = done
		return out, nil
	})
}

type UnsubscribeInput struct {
	Body struct {
		Token string `json:"token" minLength:"1" maxLength:"400" doc:"The token of the member's unsubscribe link (/u/{token})"`
	}
}

type UnsubscribeOutput struct {
	Body struct {
		Unsubscribed bool `json:"unsubscribed"`
	}
}

func (s *server) registerUnsubscribe(r routes.Route) {
	o := op(r, "Withdraw a member's marketing consent with the token of an unsubscribe link (no key)", "campaigns")
	o.Description = "For a business's own mail platform or app; the link itself opens a page (/u/{token}) that does the same."
	huma.Register(s.api, o, func(ctx context.Context, in *UnsubscribeInput) (*UnsubscribeOutput, error) {
		svc, err := s.campaigns()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := svc.Unsubscribe(ctx, in.Body.Token); err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &UnsubscribeOutput{}
		out.Body.Unsubscribed = true
		return out, nil
	})
}
