package api

import (
	"context"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

type SweepOutput struct {
	Body loyalty.SweepResult
}

func (s *server) registerSweep(r routes.Route) {
	o := op(r, "Run the expiry sweep now for this tenant (admin)", "admin")
	o.Description = "Expires lots whose time has come, matures pending points and releases holds past their timeout — the same code the scheduled sweep runs, limited to the caller's tenant."
	huma.Register(s.api, o, func(ctx context.Context, _ *struct{}) (*SweepOutput, error) {
		if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
			return nil, err
		}
		res, err := s.deps.Orders.Sweep(ctx, callerOf(ctx).TenantID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &SweepOutput{res}, nil
	})
}

type HealthOutput struct {
	Body struct {
		Status string `json:"status" enum:"ok"`
	}
}

func (s *server) registerHealth(r routes.Route) {
	huma.Register(s.api, op(r, "Health: 200 when the store answers", "admin"), func(ctx context.Context, _ *struct{}) (*HealthOutput, error) {
		if s.deps.Ping != nil {
			if err := s.deps.Ping(ctx); err != nil {
				s.deps.Logger.ErrorContext(ctx, "health check failed", "error", err.Error())
				return nil, newProblem(loyalty.CodeUnavailable, "store unavailable")
			}
		}
		out := &HealthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})
}
