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

// ProgramBody is a program as clients write it.
type ProgramBody struct {
	Name                string        `json:"name" minLength:"1" maxLength:"200"`
	Type                string        `json:"type" enum:"bonus,discount" doc:"bonus: cashback points; discount: a fixed percent off per tier, no points"`
	CashbackPercent     Percent       `json:"cashbackPercent" doc:"Cashback on the money part of an order"`
	MaxRedeemPercent    Percent       `json:"maxRedeemPercent" doc:"Largest share of an order payable with points"`
	PointValue          *int64        `json:"pointValue,omitempty" minimum:"1" maximum:"1000000" doc:"Money (minor units) one point is worth; default 100"`
	PointsLifetime      string        `json:"pointsLifetime,omitempty" maxLength:"32" doc:"ISO 8601 duration after which accrued points expire, e.g. P180D; none: never"`
	PendingPeriod       string        `json:"pendingPeriod,omitempty" maxLength:"32" doc:"ISO 8601 duration before accrued points can be spent, e.g. P1D"`
	HoldTimeout         string        `json:"holdTimeout,omitempty" maxLength:"32" doc:"ISO 8601 duration after which an uncaptured hold is released; default PT30M"`
	WelcomeBonus        *Welcome      `json:"welcomeBonus,omitempty"`
	Referral            *ReferralBody `json:"referral,omitempty" doc:"Referral rewards: both sides get points once the referee's first order closes"`
	BirthdayBonus       *BirthdayBody `json:"birthdayBonus,omitempty" doc:"Points credited once a year on the member's birthday (29 February: on 28 February in other years)"`
	ReturnSpentOnRefund *bool         `json:"returnSpentOnRefund,omitempty" doc:"Return points spent on an order when it is refunded (default true)"`
	TermsURL            string        `json:"termsUrl,omitempty" maxLength:"2000" format:"uri"`

	DiscountPercent    *Percent                `json:"discountPercent,omitempty" doc:"Discount programs: percent off every order (tiers may override)"`
	DiscountAmount     *Money                  `json:"discountAmount,omitempty" doc:"Discount programs: money off every order (at most the order's eligible total), instead of a percent"`
	DiscountFrom       []DiscountStepBody      `json:"discountFrom,omitempty" maxItems:"10" doc:"Discount programs: a discount only from an order total (seed 004); the highest step whose threshold the eligible total reaches applies, e.g. 5 % from 1000.00 and 10 % from 3000.00. Replaces discountPercent/discountAmount; below the first threshold no discount."`
	Tiers              []TierBody              `json:"tiers,omitempty" maxItems:"20" doc:"Levels; a member holds the highest tier whose qualification is met in its trailing period"`
	Categories         map[string]CategoryBody `json:"categories,omitempty" maxProperties:"100" doc:"Rates for order items of a category; override the program's"`
	AccrueOnDiscounted *bool                   `json:"accrueOnDiscounted,omitempty" doc:"Accrue on items sold at a discount (default true)"`
	PointsPerMoney     *PointsPerMoneyBody     `json:"pointsPerMoney,omitempty" doc:"Accrue points per whole amount of money instead of a percent"`
	CardNumbers        *loyalty.CardRule       `json:"cardNumbers,omitempty" doc:"How new members' card numbers are drawn (seed 004): auto (default), pattern, or imported (a pool of pre-printed cards). Members keep the numbers they have."`
	ProductRules       *loyalty.ProductRules   `json:"productRules,omitempty" doc:"Which order lines earn cashback and which may be paid with points (by SKU or category; a line's category is the till's, else the catalog's)"`
	ActiveFrom         *time.Time              `json:"activeFrom,omitempty" doc:"Start of the program's activity window"`
	ActiveUntil        *time.Time              `json:"activeUntil,omitempty" doc:"End of the program's activity window (exclusive)"`
	ExpiryReminder     *loyalty.ExpiryReminder `json:"expiryReminder,omitempty" doc:"Remind members with marketing consent that points expire, N days ahead, once per expiry date"`
}

// DiscountStepBody is one threshold of a discount from an order total.
type DiscountStepBody struct {
	From    Money    `json:"from" doc:"Eligible order total (money minor units) from which the step applies"`
	Percent *Percent `json:"percent,omitempty" doc:"Percent off the eligible total (exactly one of percent, amount)"`
	Amount  *Money   `json:"amount,omitempty" doc:"Money off (minor units)"`
}

// TierBody is one tier of a program.
type TierBody struct {
	Name             string             `json:"name" minLength:"1" maxLength:"100"`
	Priority         int                `json:"priority" minimum:"1" maximum:"100" doc:"1 is the lowest"`
	CashbackPercent  *Percent           `json:"cashbackPercent,omitempty"`
	CategoryCashback map[string]Percent `json:"categoryCashback,omitempty" maxProperties:"100" doc:"Cashback per item category for this tier"`
	MaxRedeemPercent *Percent           `json:"maxRedeemPercent,omitempty"`
	DiscountPercent  *Percent           `json:"discountPercent,omitempty" doc:"Discount programs: percent off for this tier"`
	Group            string             `json:"group,omitempty" maxLength:"64" doc:"Only members of this customer group hold the tier"`
	Qualify          QualifyBody        `json:"qualify"`
}

// QualifyBody is what a member must do within period to hold a tier.
type QualifyBody struct {
	Period        string            `json:"period" maxLength:"32" doc:"Trailing period, ISO 8601 (P30D)"`
	Spend         Money             `json:"spend,omitempty" doc:"Money spent within the period"`
	CategorySpend map[string]Amount `json:"categorySpend,omitempty" maxProperties:"100" doc:"Money spent per category within the period; together at most spend"`
	Visits        int               `json:"visits,omitempty" minimum:"0" maximum:"100000" doc:"Closed orders within the period"`
}

// CategoryBody holds a category's rates.
type CategoryBody struct {
	CashbackPercent  *Percent `json:"cashbackPercent,omitempty"`
	MaxRedeemPercent *Percent `json:"maxRedeemPercent,omitempty"`
}

// PointsPerMoneyBody: points for every whole amount of money.
type PointsPerMoneyBody struct {
	Money  Money  `json:"money" minimum:"1" doc:"Money, minor units"`
	Points Points `json:"points" minimum:"1" doc:"Points (hundredths) per that money"`
}

func bpOf(p *Percent) *loyalty.BasisPoints {
	if p == nil {
		return nil
	}
	v := p.BP
	return &v
}

func percentOf(bp *loyalty.BasisPoints) *Percent {
	if bp == nil {
		return nil
	}
	return &Percent{*bp}
}

// Welcome is the welcome bonus.
type Welcome struct {
	Points   Points `json:"points" doc:"Points (hundredths) credited on joining"`
	Lifetime string `json:"lifetime,omitempty" maxLength:"32" doc:"ISO 8601 lifetime of the welcome points; default the program's"`
}

// ReferralBody is the program's referral reward.
type ReferralBody struct {
	ReferrerPoints Points `json:"referrerPoints" doc:"Points (hundredths) for the member whose code was used"`
	RefereePoints  Points `json:"refereePoints" doc:"Points (hundredths) for the new member"`
	MonthlyLimit   int    `json:"monthlyLimit,omitempty" minimum:"0" maximum:"1000" doc:"Referrals a referrer is rewarded for per calendar month (UTC); default 20"`
}

// BirthdayBody is the program's birthday bonus.
type BirthdayBody struct {
	Points   Points `json:"points" doc:"Points (hundredths) credited on the birthday"`
	Lifetime string `json:"lifetime,omitempty" maxLength:"32" doc:"ISO 8601 lifetime of the birthday points; default the program's"`
}

// ProgramView is a program as clients read it.
type ProgramView struct {
	ProgramID string `json:"programId"`
	Status    string `json:"status" enum:"new,active,stopped,deleted"`
	Version   int64  `json:"version" minimum:"1"`
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
	if b.Referral != nil {
		p.Referral = &loyalty.Referral{ReferrerPoints: loyalty.Points(b.Referral.ReferrerPoints), RefereePoints: loyalty.Points(b.Referral.RefereePoints), MonthlyLimit: b.Referral.MonthlyLimit}
	}
	if b.BirthdayBonus != nil {
		p.BirthdayBonus = &loyalty.BirthdayBonus{Points: loyalty.Points(b.BirthdayBonus.Points), Lifetime: b.BirthdayBonus.Lifetime}
	}
	if b.DiscountPercent != nil {
		p.DiscountPercent = b.DiscountPercent.BP
	}
	if b.DiscountAmount != nil {
		p.DiscountAmount = loyalty.Money(*b.DiscountAmount)
	}
	for _, s := range b.DiscountFrom {
		st := loyalty.DiscountStep{From: loyalty.Money(s.From)}
		if s.Percent != nil {
			st.Percent = s.Percent.BP
		}
		if s.Amount != nil {
			st.Amount = loyalty.Money(*s.Amount)
		}
		p.DiscountSteps = append(p.DiscountSteps, st)
	}
	p.AccrueOnDiscounted = b.AccrueOnDiscounted
	p.Products = b.ProductRules
	p.CardNumbers = b.CardNumbers
	p.ExpiryReminder = b.ExpiryReminder
	if b.PointsPerMoney != nil {
		p.PointsPerMoney = &loyalty.PointsPerMoney{Money: loyalty.Money(b.PointsPerMoney.Money), Points: loyalty.Points(b.PointsPerMoney.Points)}
	}
	if b.ActiveFrom != nil {
		p.ActiveFrom = b.ActiveFrom.UTC()
	}
	if b.ActiveUntil != nil {
		p.ActiveUntil = b.ActiveUntil.UTC()
	}
	if len(b.Categories) > 0 {
		p.Categories = map[string]loyalty.CategoryRates{}
		for name, c := range b.Categories {
			p.Categories[name] = loyalty.CategoryRates{CashbackPercent: bpOf(c.CashbackPercent), MaxRedeemPercent: bpOf(c.MaxRedeemPercent)}
		}
	}
	for _, t := range b.Tiers {
		lt := loyalty.Tier{Name: trimmed(t.Name), Priority: t.Priority, CashbackPercent: bpOf(t.CashbackPercent),
			MaxRedeemPercent: bpOf(t.MaxRedeemPercent), DiscountPercent: bpOf(t.DiscountPercent), Group: t.Group,
			Qualify: loyalty.Qualify{Period: t.Qualify.Period, Spend: loyalty.Money(t.Qualify.Spend), Visits: t.Qualify.Visits}}
		if len(t.CategoryCashback) > 0 {
			lt.CategoryCashback = map[string]loyalty.BasisPoints{}
			for c, pct := range t.CategoryCashback {
				lt.CategoryCashback[c] = pct.BP
			}
		}
		if len(t.Qualify.CategorySpend) > 0 {
			lt.Qualify.CategorySpend = map[string]loyalty.Money{}
			for c, m := range t.Qualify.CategorySpend {
				lt.Qualify.CategorySpend[c] = loyalty.Money(m)
			}
		}
		p.Tiers = append(p.Tiers, lt)
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
		v.WelcomeBonus = &Welcome{Points: Points(p.WelcomeBonus.Points), Lifetime: p.WelcomeBonus.Lifetime}
	}
	if r := p.Referral; r != nil {
		v.Referral = &ReferralBody{ReferrerPoints: Points(r.ReferrerPoints), RefereePoints: Points(r.RefereePoints), MonthlyLimit: r.Limit()}
	}
	if b := p.BirthdayBonus; b != nil {
		v.BirthdayBonus = &BirthdayBody{Points: Points(b.Points), Lifetime: b.Lifetime}
	}
	if p.DiscountPercent > 0 {
		v.DiscountPercent = &Percent{p.DiscountPercent}
	}
	if p.DiscountAmount > 0 {
		m := Money(p.DiscountAmount)
		v.DiscountAmount = &m
	}
	for _, s := range p.DiscountSteps {
		sb := DiscountStepBody{From: Money(s.From)}
		if s.Percent > 0 {
			sb.Percent = &Percent{s.Percent}
		}
		if s.Amount > 0 {
			m := Money(s.Amount)
			sb.Amount = &m
		}
		v.DiscountFrom = append(v.DiscountFrom, sb)
	}
	v.AccrueOnDiscounted = p.AccrueOnDiscounted
	v.ProductRules = p.Products
	v.CardNumbers = p.CardNumbers
	v.ExpiryReminder = p.ExpiryReminder
	if p.PointsPerMoney != nil {
		v.PointsPerMoney = &PointsPerMoneyBody{Money: Money(p.PointsPerMoney.Money), Points: Points(p.PointsPerMoney.Points)}
	}
	if !p.ActiveFrom.IsZero() {
		t := p.ActiveFrom
		v.ActiveFrom = &t
	}
	if !p.ActiveUntil.IsZero() {
		t := p.ActiveUntil
		v.ActiveUntil = &t
	}
	if len(p.Categories) > 0 {
		v.Categories = map[string]CategoryBody{}
		for name, c := range p.Categories {
			v.Categories[name] = CategoryBody{CashbackPercent: percentOf(c.CashbackPercent), MaxRedeemPercent: percentOf(c.MaxRedeemPercent)}
		}
	}
	for _, t := range p.Tiers {
		tb := TierBody{Name: t.Name, Priority: t.Priority, CashbackPercent: percentOf(t.CashbackPercent), MaxRedeemPercent: percentOf(t.MaxRedeemPercent),
			DiscountPercent: percentOf(t.DiscountPercent), Group: t.Group,
			Qualify: QualifyBody{Period: t.Qualify.Period, Spend: Money(t.Qualify.Spend), Visits: t.Qualify.Visits}}
		if len(t.CategoryCashback) > 0 {
			tb.CategoryCashback = map[string]Percent{}
			for c, bp := range t.CategoryCashback {
				tb.CategoryCashback[c] = Percent{bp}
			}
		}
		if len(t.Qualify.CategorySpend) > 0 {
			tb.Qualify.CategorySpend = map[string]Amount{}
			for c, m := range t.Qualify.CategorySpend {
				tb.Qualify.CategorySpend[c] = Amount(m)
			}
		}
		v.Tiers = append(v.Tiers, tb)
	}
	return v
}

type CreateProgramInput struct {
	IdemOptional
	RawBody []byte
	Body    ProgramBody
}

func (s *server) registerCreateProgram(r routes.Route) {
	o := op(r, "Create a bonus program (status new)", "programs")
	o.DefaultStatus = http.StatusCreated
	registerWrite(s, o, func(ctx context.Context, in *CreateProgramInput) (res ProgramView, replayed bool, err error) {
		if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
			return res, false, err
		}
		if err := in.Body.checkReminder(); err != nil {
			return res, false, err
		}
		p, replayed, err := s.deps.Programs.CreateProgram(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody), in.Body.domain())
		if err != nil {
			return res, false, err
		}
		return programView(p), replayed, nil
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
		switch to {
		case loyalty.ProgramStopped:
			summary = "Stop a program: members keep and spend points, nobody new joins, nothing new accrues"
		case loyalty.ProgramDeleted:
			summary = "Delete a program: it stops working entirely (balances and ledger stay)"
		}
		o := op(r, summary, "programs")
		registerWrite(s, o, func(ctx context.Context, in *ProgramStatusInput) (res ProgramView, replayed bool, err error) {
			if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
				return res, false, err
			}
			p, replayed, err := s.deps.Programs.SetProgramStatus(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, []string{in.ProgramID}, nil), in.ProgramID, to)
			if err != nil {
				return res, false, err
			}
			return programView(p), replayed, nil
		})
	}
}

type UpdateProgramInput struct {
	ProgramPath
	IdemOptional
	RawBody []byte
	Body    ProgramBody
}

func (s *server) registerUpdateProgram(r routes.Route) {
	o := op(r, "Replace a program's rules (the version goes up; applies to orders closed from now on)", "programs")
	registerWrite(s, o, func(ctx context.Context, in *UpdateProgramInput) (res ProgramView, replayed bool, err error) {
		if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
			return res, false, err
		}
		if err := in.Body.checkReminder(); err != nil {
			return res, false, err
		}
		p, replayed, err := s.deps.Programs.UpdateProgram(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, []string{in.ProgramID}, in.RawBody), in.ProgramID, in.Body.domain())
		if err != nil {
			return res, false, err
		}
		return programView(p), replayed, nil
	})
}

type GetProgramInput struct {
	ProgramPath
}

type GetProgramOutput struct {
	Body ProgramView
}

func (s *server) registerGetProgram(r routes.Route) {
	huma.Register(s.api, op(r, "Read a program", "programs"), func(ctx context.Context, in *GetProgramInput) (*GetProgramOutput, error) {
		p, err := s.deps.Programs.GetProgram(ctx, callerOf(ctx), in.ProgramID)
		if err != nil {
			return nil, s.problem(ctx, err)
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
		ps, err := s.deps.Programs.ListPrograms(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListProgramsOutput{}
		out.Body.Programs = make([]ProgramView, 0, len(ps))
		for _, p := range ps {
			out.Body.Programs = append(out.Body.Programs, programView(p))
		}
		return out, nil
	})
}

// checkReminder refuses an expiry reminder's template as a campaign's
// would be refused (422 with its code), before anything is stored.
func (b ProgramBody) checkReminder() error {
	if b.ExpiryReminder == nil || b.ExpiryReminder.Text == "" {
		return nil
	}
	if _, err := campaigns.ParseTemplate(b.ExpiryReminder.Text); err != nil {
		var le *loyalty.Error
		if errors.As(err, &le) {
			le.Field = "expiryReminder.text"
		}
		return err
	}
	return nil
}
