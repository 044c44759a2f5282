package web

import (
	"testing"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Every entry kind reads as a line with a sensible amount in both languages.
func TestEntryLines(t *testing.T) {
	cases := []struct {
		kind                    loyalty.EntryKind
		amount, available, held loyalty.Points
		stamps                  map[string]int
		ru, en, class           string
	}{
		{loyalty.KindWelcome, 10000, 10000, 0, nil, "+100", "+100", "plus"},
		{loyalty.KindRedeem, -2000, -2000, 2000, nil, "−20", "−20", "minus"},
		{loyalty.KindRelease, 2000, 2000, -2000, nil, "+20", "+20", "plus"},
		{loyalty.KindCapture, 0, 0, -2050, nil, "20,50", "20.50", "neutral"},
		{loyalty.KindAccrue, 900, 0, 0, nil, "+9", "+9", "plus"},
		{loyalty.KindRefund, -450, -450, 0, nil, "−4,50", "−4.50", "minus"},
		{loyalty.KindExpire, -123456, -123456, 0, nil, "−1\u00a0234,56", "−1,234.56", "minus"},
		{loyalty.KindMature, 0, 900, 0, nil, "9", "9", "neutral"},
		{loyalty.KindAdjust, 500, 500, 0, nil, "+5", "+5", "plus"},
	}
	for _, c := range cases {
		for lang, want := range map[string]string{langRU: c.ru, langEN: c.en} {
			l := entryLineOf(lang, c.kind, c.amount, c.available, c.held, c.stamps)
			if l.Amount != want || l.Class != c.class {
				t.Errorf("%s in %s: %q %s, want %q %s", c.kind, lang, l.Amount, l.Class, want, c.class)
			}
			if T(lang, "kind."+string(c.kind)) == "kind."+string(c.kind) {
				t.Errorf("%s has no words in %s", c.kind, lang)
			}
		}
	}
	// A stamp-only entry says its stamps.
	if l := entryLineOf(langEN, loyalty.KindAccrue, 0, 0, 0, map[string]int{"coffee": 1, "cake": 1}); l.Amount != "" || l.Stamps != "stamps: +2" {
		t.Errorf("stamps line %+v", l)
	}
}

func TestTierView(t *testing.T) {
	pr := loyalty.TierProgress{Current: "Base", Next: "Gold", Period: "P1M", Goals: []loyalty.TierGoal{
		{Kind: "spend", Done: 150000, Need: 500000}, {Kind: "visits", Done: 1, Need: 5}}}
	v := tierViewOf(langRU, pr)
	if v.Top || len(v.Goals) != 2 || v.Goals[0].Left != "Осталось 3\u00a0500 ₽ покупок за 1 месяц" || v.Goals[1].Left != "Осталось покупок: 4 за 1 месяц" ||
		v.Goals[0].Value != 150000 || v.Goals[0].Max != 500000 {
		t.Errorf("ru: %+v", v)
	}
	v = tierViewOf(langEN, pr)
	if v.Goals[0].Left != "3,500 more to spend in 1 month" || v.Goals[1].Done != "1 of 5" {
		t.Errorf("en: %+v", v)
	}
	if v := tierViewOf(langEN, loyalty.TierProgress{Current: "Gold"}); !v.Top || len(v.Goals) != 0 {
		t.Errorf("top: %+v", v)
	}
	for n, want := range map[int]string{1: " за 1 день", 3: " за 3 дня", 11: " за 11 дней", 21: " за 21 день", 25: " за 25 дней"} {
		if got := periodText(langRU, "P"+itoa(int64(n))+"D"); got != want {
			t.Errorf("P%dD: %q, want %q", n, got, want)
		}
	}
}
