package loyalty

import (
	"testing"
	"time"
)

func TestProgressOf(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := &Program{Tiers: []Tier{
		{Name: "Base", Priority: 1, Qualify: Qualify{Period: "P30D"}},
		{Name: "Staff", Priority: 2, Group: "staff", Qualify: Qualify{Period: "P30D"}},
		{Name: "Silver", Priority: 3, Qualify: Qualify{Period: "P30D", Spend: 300000, Visits: 3}},
		{Name: "Gold", Priority: 4, Qualify: Qualify{Period: "P90D", Spend: 1000000, CategorySpend: map[string]Money{"wine": 50000}}},
	}}
	var st Stats
	st.Record(p, now.Add(-40*24*time.Hour), 500000, 1, map[string]Money{"wine": 20000}) // outside 30 days, inside 90
	st.Record(p, now, 100000, 1, nil)
	a := &Account{TierSchedule: TierSchedule(p, &st, now)}
	pr, ok := ProgressOf(p, &st, a, now)
	if !ok || pr.Current != "Base" || pr.Next != "Silver" || len(pr.Goals) != 2 {
		t.Fatalf("base member: %+v", pr)
	}
	if g := pr.Goals[0]; g.Kind != "spend" || g.Done != 100000 || g.Left() != 200000 {
		t.Errorf("spend goal %+v", g)
	}
	if g := pr.Goals[1]; g.Kind != "visits" || g.Done != 1 || g.Left() != 2 {
		t.Errorf("visits goal %+v", g)
	}
	// Set to Silver by hand: Gold next, measured over its own 90 days.
	a.TierOverride = "Silver"
	pr, _ = ProgressOf(p, &st, a, now)
	if pr.Next != "Gold" || pr.Period != "P90D" || len(pr.Goals) != 2 || pr.Goals[0].Done != 600000 || pr.Goals[1].Category != "wine" || pr.Goals[1].Left() != 30000 {
		t.Errorf("silver member: %+v", pr)
	}
	// At the top.
	a.TierOverride = "Gold"
	if pr, _ = ProgressOf(p, &st, a, now); pr.Next != "" || pr.Current != "Gold" {
		t.Errorf("gold member: %+v", pr)
	}
	// No tiers: nothing to show.
	if _, ok := ProgressOf(&Program{}, &st, a, now); ok {
		t.Error("progress of a program without tiers")
	}
}
