package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"mime"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
	"github.com/loyalty/cashback/shared/routes"
)

// Reports reads the owner's reports (reports.Service).
type Reports interface {
	Liability(ctx context.Context, c loyalty.Caller) (reports.LiabilityReport, error)
	Activity(ctx context.Context, c loyalty.Caller, req reports.ActivityRequest) (reports.ActivityReport, error)
}

// Ratio is a share in percent with at most two decimals; unlike Percent it
// may pass 100 (points redeemed in a period may exceed those accrued in it).
type Ratio struct{ BP loyalty.BasisPoints }

// MarshalJSON writes the shortest decimal form.
func (r Ratio) MarshalJSON() ([]byte, error) { return []byte(r.BP.String()), nil }

// Schema describes Ratio in the OpenAPI document.
func (Ratio) Schema(huma.Registry) *huma.Schema {
	zero := 0.0
	return &huma.Schema{Type: "number", Minimum: &zero, Description: "Percent, at most two decimals; may exceed 100", Examples: []any{42.5}}
}

// ---- liability ----

type LiabilityOutput struct {
	Body reports.LiabilityReport
}

func (s *server) registerLiability(r routes.Route) {
	o := op(r, "Points liability: outstanding, pending and held points, and when the outstanding ones expire", "reports")
	o.Description = strings.TrimSpace("Read from aggregates the table's stream keeps (a few seconds behind the balances); `byExpiryMonth` sums to `outstanding`. " + o.Description)
	huma.Register(s.api, o, func(ctx context.Context, _ *struct{}) (*LiabilityOutput, error) {
		rep, err := s.deps.Reports.Liability(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &LiabilityOutput{rep}, nil
	})
}

// ---- activity ----

type ActivityInput struct {
	From    string `query:"from" required:"true" minLength:"10" maxLength:"10" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" doc:"First day, YYYY-MM-DD (UTC), inclusive"`
	To      string `query:"to" required:"true" minLength:"10" maxLength:"10" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" doc:"Last day, YYYY-MM-DD (UTC), inclusive; at most 366 days after from"`
	GroupBy string `query:"groupBy" enum:"day,pointOfSale,staff" default:"day" doc:"Break the activity down by day, point of sale or staff member"`
	Accept  string `header:"Accept" doc:"text/csv for the groups as CSV"`
}

// ActivityView is the activity report as the API shows it.
type ActivityView struct {
	From    string                  `json:"from"`
	To      string                  `json:"to"`
	GroupBy string                  `json:"groupBy" enum:"day,pointOfSale,staff"`
	Groups  []reports.ActivityGroup `json:"groups"`
	Total   reports.Counters        `json:"total"`
	// RedemptionRate is redeemed / accrued, Breakage expired / accrued.
	RedemptionRate Ratio `json:"redemptionRate"`
	Breakage       Ratio `json:"breakage"`
}

type ActivityOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *server) registerActivity(r routes.Route) {
	o := op(r, "Activity of a period by day, point of sale or staff member: accrued, redeemed, expired, refunded, new members, orders", "reports")
	o.Description = strings.TrimSpace("Days are UTC. JSON, or CSV with `Accept: text/csv`. " + o.Description)
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(ActivityView{}), true, "ActivityView")
	o.Responses = map[string]*huma.Response{"200": {Description: "The activity of the period", Content: map[string]*huma.MediaType{
		"application/json": {Schema: schema},
		"text/csv":         {Schema: &huma.Schema{Type: "string"}},
	}}}
	huma.Register(s.api, o, func(ctx context.Context, in *ActivityInput) (*ActivityOutput, error) {
		rep, err := s.deps.Reports.Activity(ctx, callerOf(ctx), reports.ActivityRequest{From: in.From, To: in.To, GroupBy: reports.GroupBy(in.GroupBy)})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if wantsCSV(in.Accept) {
			return &ActivityOutput{ContentType: "text/csv; charset=utf-8", Body: ActivityCSV(rep)}, nil
		}
		b, err := json.Marshal(ActivityView{From: rep.From, To: rep.To, GroupBy: string(rep.GroupBy), Groups: rep.Groups, Total: rep.Total,
			RedemptionRate: Ratio{rep.RedemptionRate}, Breakage: Ratio{rep.Breakage}})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &ActivityOutput{ContentType: "application/json", Body: b}, nil
	})
}

// wantsCSV reports whether an Accept header asks for CSV before JSON.
func wantsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		t, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch t {
		case "text/csv":
			return true
		case "application/json", "application/*", "*/*":
			return false
		}
	}
	return false
}

// ActivityCSV writes the groups and a total line; columns as in JSON (the
// API's text/csv answer, and the console's download).
func ActivityCSV(rep reports.ActivityReport) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	group := map[reports.GroupBy]string{reports.ByDay: "day", reports.ByPointOfSale: "pointOfSaleId", reports.ByStaff: "staffId"}[rep.GroupBy]
	head := []string{group}
	counters := reflect.TypeOf(reports.Counters{})
	for i := 0; i < counters.NumField(); i++ {
		name, _, _ := strings.Cut(counters.Field(i).Tag.Get("json"), ",")
		head = append(head, name)
	}
	_ = w.Write(head)
	line := func(label string, c reports.Counters) {
		v := reflect.ValueOf(c)
		row := []string{label}
		for i := 0; i < v.NumField(); i++ {
			row = append(row, strconv.FormatInt(v.Field(i).Int(), 10))
		}
		_ = w.Write(row)
	}
	for _, g := range rep.Groups {
		label := g.Day + g.PointOfSaleID + g.StaffID // one of them is set
		line(label, g.Counters)
	}
	line("total", rep.Total)
	w.Flush()
	return buf.Bytes()
}
