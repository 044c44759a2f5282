package api

import (
	"context"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/web/snippet"
)

// EmbedView is what a partner site needs to embed the enrollment page.
type EmbedView struct {
	snippet.Snippets
	AllowedOrigins []string `json:"allowedOrigins" doc:"Origins that may frame the page (its frame-ancestors); empty: none but the service's own"`
}

type EmbedOutput struct {
	Body EmbedView
}

func (s *server) embedView(ctx context.Context, e loyalty.Embed) *EmbedOutput {
	return &EmbedOutput{EmbedView{Snippets: snippet.For(baseURLOf(ctx), e.TenantSlug), AllowedOrigins: e.AllowedOrigins}}
}

func (s *server) registerGetEmbed(r routes.Route) {
	huma.Register(s.api, op(r, "The snippets that embed the enrollment page on a partner site", "embedding"), func(ctx context.Context, _ *struct{}) (*EmbedOutput, error) {
		e, err := s.deps.Tenancy.GetEmbed(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.embedView(ctx, e), nil
	})
}

type SetEmbedInput struct {
	Body struct {
		AllowedOrigins []string `json:"allowedOrigins" maxItems:"20" doc:"Web origins (scheme://host[:port]) of the sites that embed the page"`
	}
}

func (s *server) registerSetEmbed(r routes.Route) {
	o := op(r, "Set the origins that may embed the enrollment page", "embedding")
	huma.Register(s.api, o, func(ctx context.Context, in *SetEmbedInput) (*EmbedOutput, error) {
		e, err := s.deps.Tenancy.SetEmbed(ctx, callerOf(ctx), in.Body.AllowedOrigins)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.embedView(ctx, e), nil
	})
}
