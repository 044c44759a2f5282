package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// ProgramBody is a program as clients write it.
type ProgramBody struct {
	Name                string   `json:"name" minLength:"1" maxLength:"200"`
	Type                string   `json:"type" enum:"bonus" doc:"Program type"`
	CashbackPercent     Percent  `json:"cashbackPercent" doc:"Cashback on the money part of an order"`
	MaxRedeemPercent    Percent  `json:"maxRedeemPercent" doc:"Largest share of an order payable with points"`
	PointValue          *int64   `json:"pointValue,omitempty" minimum:"1" maximum:"1000000" doc:"Money (minor units) one point is worth; default 100"`
	PointsLifetime      string   `json:"pointsLifetime,omitempty" maxLength:"32" doc:"ISO 8601 duration after which accrued points expire, e.g. P180D; none: never"`
	PendingPeriod       string   `json:"pendingPeriod,omitempty" maxLength:"32" doc:"ISO 8601 duration before accrued points can be spent, e.g. P1D"`
	HoldTimeout         string   `json:"holdTimeout,omitempty" maxLength:"32" doc:"ISO 8601 duration after which an uncaptured hold is released; default PT30M"`
	WelcomeBonus        *Welcome `json:"welcomeBonus,omitempty"`
	ReturnSpentOnRefund *bool    `json:"returnSpentOnRefund,omitempty" doc:"Return points spent on an order when it is refunded (default true)"`
	TermsURL            string   `json:"termsUrl,omitempty" maxLength:"2000" format:"uri"`
}

// Welcome is the welcome bonus.
type Welcome struct {
	Points   int64  `json:"points" minimum:"0" maximum:"1000000000000" doc:"Points (hundredths) credited on joining"`
	Lifetime string `json:"lifetime,omitempty" maxLength:"32" doc:"ISO 8601 lifetime of the welcome points; default the program's"`
}

// ProgramView is a program as clients read it.
type ProgramView struct {
	ProgramID string `json:"programId"`
	Status    string `json:"status" enum:"new,active,stopped,deleted"`
	Version   int64  `json:"version"`
	ProgramBody
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (b ProgramBody) domain() loyalty.Program {
	p := loyalty.Program{
		Name: trimmed(b.Name), Type: b.Type, CashbackPercent: b.CashbackPercent.BP, MaxRedeemPercent: b.MaxRedeemPercent.BP,
		PointsLifetime: b.PointsLifetime, PendingPeriod: b.PendingPeriod, HoldTimeout: b.HoldTimeout,
		ReturnSpentOnRefund: b.ReturnSpentOnRefund == nil || *b.ReturnSpentOnRefund, TermsURL: b.TermsURL,
	}
	if b.PointValue != nil {
		p.PointValue = loyalty.Money(*b.PointValue)
	}
	if b.WelcomeBonus != nil {
		p.WelcomeBonus = &loyalty.WelcomeBonus{Points: loyalty.Points(b.WelcomeBonus.Points), Lifetime: b.WelcomeBonus.Lifetime}
	}
	return p
}

func programView(p loyalty.Program) ProgramView {
	pv := int64(p.Value())
	ret := p.ReturnSpentOnRefund
	v := ProgramView{
		ProgramID: p.ID, Status: string(p.Status), Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		ProgramBody: ProgramBody{
			Name: p.Name, Type: p.Type, CashbackPercent: Percent{p.CashbackPercent}, MaxRedeemPercent: Percent{p.MaxRedeemPercent},
			PointValue: &pv, PointsLifetime: p.PointsLifetime, PendingPeriod: p.PendingPeriod, HoldTimeout: p.HoldTimeout,
			ReturnSpentOnRefund: &ret, TermsURL: p.TermsURL,
		},
	}
	if p.WelcomeBonus != nil {
		v.WelcomeBonus = &Welcome{Points: int64(p.WelcomeBonus.Points), Lifetime: p.WelcomeBonus.Lifetime}
	}
	return v
}

type CreateProgramInput struct {
	IdemOptional
	RawBody []byte
	Body    ProgramBody
}

type ProgramOutput struct {
	ReplayedHeader
	Body ProgramView
}

func (s *server) registerCreateProgram(r routes.Route) {
	o := op(r, "Create a bonus program (status new)", "programs")
	o.DefaultStatus = http.StatusCreated
	huma.Register(s.api, o, func(ctx context.Context, in *CreateProgramInput) (*ProgramOutput, error) {
		if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
			return nil, err
		}
		p, replayed, err := s.deps.Service.CreateProgram(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody), in.Body.domain())
		if err != nil {
			return nil, problemOf(err)
		}
		return &ProgramOutput{ReplayedHeader{replayHeader(replayed)}, programView(p)}, nil
	})
}

type ProgramPath struct {
	ProgramID string `path:"programId" pattern:"^p_[a-z0-9]{1,64}$"`
}

type ProgramStatusInput struct {
	ProgramPath
	IdemOptional
}

func (s *server) registerProgramStatus(to loyalty.ProgramStatus) func(routes.Route) {
	return func(r routes.Route) {
		summary := "Activate a program (one active program per tenant)"
		if to == loyalty.ProgramStopped {
			summary = "Stop a program: members keep and spend points, nobody new joins, nothing new accrues"
		}
		o := op(r, summary, "programs")
		huma.Register(s.api, o, func(ctx context.Context, in *ProgramStatusInput) (*ProgramOutput, error) {
			if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
				return nil, err
			}
			p, replayed, err := s.deps.Service.SetProgramStatus(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, []string{in.ProgramID}, nil), in.ProgramID, to)
			if err != nil {
				return nil, problemOf(err)
			}
			return &ProgramOutput{ReplayedHeader{replayHeader(replayed)}, programView(p)}, nil
		})
	}
}

type GetProgramInput struct {
	ProgramPath
}

type GetProgramOutput struct {
	Body ProgramView
}

func (s *server) registerGetProgram(r routes.Route) {
	huma.Register(s.api, op(r, "Read a program", "programs"), func(ctx context.Context, in *GetProgramInput) (*GetProgramOutput, error) {
		p, err := s.deps.Service.GetProgram(ctx, callerOf(ctx), in.ProgramID)
		if err != nil {
			return nil, problemOf(err)
		}
		return &GetProgramOutput{programView(*p)}, nil
	})
}

type ListProgramsOutput struct {
	Body struct {
		Programs []ProgramView `json:"programs"`
	}
}

func (s *server) registerListPrograms(r routes.Route) {
	huma.Register(s.api, op(r, "List programs", "programs"), func(ctx context.Context, _ *struct{}) (*ListProgramsOutput, error) {
		ps, err := s.deps.Service.ListPrograms(ctx, callerOf(ctx))
		if err != nil {
			return nil, problemOf(err)
		}
		out := &ListProgramsOutput{}
		out.Body.Programs = make([]ProgramView, 0, len(ps))
		for _, p := range ps {
			out.Body.Programs = append(out.Body.Programs, programView(p))
		}
		return out, nil
	})
}
