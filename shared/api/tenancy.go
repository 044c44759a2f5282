package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

type CreatePOSInput struct {
	Body struct {
		Name    string `json:"name" minLength:"1" maxLength:"200"`
		Address string `json:"address,omitempty" maxLength:"500"`
	}
}

type POSOutput struct {
	Body loyalty.PointOfSale
}

func (s *server) registerCreatePOS(r routes.Route) {
	o := op(r, "Add a point of sale (counted against the plan)", "tenancy")
	o.DefaultStatus = http.StatusCreated
	huma.Register(s.api, o, func(ctx context.Context, in *CreatePOSInput) (*POSOutput, error) {
		p, err := s.deps.Tenancy.CreatePointOfSale(ctx, callerOf(ctx), in.Body.Name, in.Body.Address)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &POSOutput{p}, nil
	})
}

type ListPOSOutput struct {
	Body struct {
		PointsOfSale []loyalty.PointOfSale `json:"pointsOfSale"`
	}
}

func (s *server) registerListPOS(r routes.Route) {
	huma.Register(s.api, op(r, "List points of sale", "tenancy"), func(ctx context.Context, _ *struct{}) (*ListPOSOutput, error) {
		ps, err := s.deps.Tenancy.ListPointsOfSale(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListPOSOutput{}
		out.Body.PointsOfSale = append([]loyalty.PointOfSale{}, ps...)
		return out, nil
	})
}

type CreateStaffInput struct {
	Body struct {
		Name        string `json:"name" minLength:"1" maxLength:"200"`
		Role        string `json:"role" enum:"admin,cashier"`
		PointOfSale string `json:"pointOfSaleId,omitempty" maxLength:"64" doc:"Required for cashiers: the point of sale they work at"`
	}
}

type CreateStaffOutput struct {
	Body loyalty.NewStaffResult
}

func (s *server) registerCreateStaff(r routes.Route) {
	o := op(r, "Issue an API key to an admin or cashier (shown once)", "tenancy")
	o.DefaultStatus = http.StatusCreated
	huma.Register(s.api, o, func(ctx context.Context, in *CreateStaffInput) (*CreateStaffOutput, error) {
		res, err := s.deps.Tenancy.CreateStaff(ctx, callerOf(ctx), in.Body.Name, loyalty.Role(in.Body.Role), in.Body.PointOfSale)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &CreateStaffOutput{res}, nil
	})
}

// StaffView is a staff member without key material.
type StaffView struct {
	StaffID     string    `json:"staffId"`
	Name        string    `json:"name"`
	Role        string    `json:"role" enum:"admin,cashier"`
	PointOfSale string    `json:"pointOfSaleId,omitempty"`
	Revoked     bool      `json:"revoked"`
	CreatedAt   time.Time `json:"createdAt"`
	LastUsedAt  time.Time `json:"lastUsedAt,omitempty" doc:"When the key was last used (to the hour)"`
}

type ListStaffOutput struct {
	Body struct {
		Staff []StaffView `json:"staff"`
	}
}

func (s *server) registerListStaff(r routes.Route) {
	huma.Register(s.api, op(r, "List staff", "tenancy"), func(ctx context.Context, _ *struct{}) (*ListStaffOutput, error) {
		st, err := s.deps.Tenancy.ListStaff(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListStaffOutput{}
		out.Body.Staff = make([]StaffView, 0, len(st))
		for _, x := range st {
			out.Body.Staff = append(out.Body.Staff, StaffView{StaffID: x.ID, Name: x.Name, Role: string(x.Role), PointOfSale: x.PointOfSale, Revoked: x.Revoked, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt})
		}
		return out, nil
	})
}

type RevokeStaffInput struct {
	StaffID string `path:"staffId" pattern:"^st_[a-z0-9]{1,64}$"`
}

func (s *server) registerRevokeStaff(r routes.Route) {
	o := op(r, "Revoke a staff member's key at once", "tenancy")
	o.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, o, func(ctx context.Context, in *RevokeStaffInput) (*struct{}, error) {
		if err := s.deps.Tenancy.RevokeStaff(ctx, callerOf(ctx), in.StaffID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})
}

type MonthInput struct {
	// An empty month is refused (checkInput), not read as this month.
	Month string `query:"month" minLength:"7" maxLength:"7" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"YYYY-MM, month 01-12; not sent: this month"`
}

type UsageOutput struct {
	Body loyalty.UsageReport
}

func (s *server) registerUsage(r routes.Route) {
	huma.Register(s.api, op(r, "This month's metered operations per kind", "tenancy"), func(ctx context.Context, in *MonthInput) (*UsageOutput, error) {
		u, err := s.deps.Tenancy.Usage(ctx, callerOf(ctx), in.Month)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &UsageOutput{u}, nil
	})
}

type AuditInput struct {
	MonthInput
	Limit int `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type AuditOutput struct {
	Body struct {
		Entries []loyalty.AuditEntry `json:"entries"`
	}
}

func (s *server) registerAudit(r routes.Route) {
	huma.Register(s.api, op(r, "Administrative actions of a month, newest first", "tenancy"), func(ctx context.Context, in *AuditInput) (*AuditOutput, error) {
		limit := in.Limit
		if limit == 0 {
			limit = 100
		}
		es, err := s.deps.Tenancy.Audit(ctx, callerOf(ctx), in.Month, limit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &AuditOutput{}
		out.Body.Entries = append([]loyalty.AuditEntry{}, es...)
		return out, nil
	})
}
