package campaigns

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

func TestTemplate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	st := &loyalty.MemberState{Account: loyalty.Account{Name: "Ann", Available: 12550, Card: "1234"}, Lots: []loyalty.Lot{
		{Remaining: 500, ExpiresAt: now.Add(-time.Hour)}, // already expired: not the soonest
		{Remaining: 300, ExpiresAt: now.AddDate(0, 0, 10)},
		{Remaining: 200, ExpiresAt: now.AddDate(0, 0, 10).Add(time.Hour)}, // same day: added
		{Remaining: 900, ExpiresAt: now.AddDate(0, 0, 20)},
		{Remaining: 100}, // never expires
	}}
	for _, tc := range []struct{ text, want, code string }{
		{"Hi {name}: {balance} pts, {expiringPoints} expire {expiry}, card {card}", "Hi Ann: 125.50 pts, 5.00 expire 2026-05-11, card 1234", ""},
		{"{{name}} is literal, }} too", "{name} is literal, } too", ""},
		{"plain", "plain", ""},
		{"Hi {surname}", "", string(loyalty.CodeTemplateUnknownVariable)},
		{"Hi {}", "", string(loyalty.CodeTemplateUnknownVariable)},
		{"Hi {name", "", string(loyalty.CodeTemplateInvalid)},
		{"Hi name}", "", string(loyalty.CodeTemplateInvalid)},
	} {
		parts, err := ParseTemplate(tc.text)
		var le *loyalty.Error
		switch {
		case tc.code != "" && (!errors.As(err, &le) || string(le.Code) != tc.code):
			t.Errorf("%q: error %v, want %s", tc.text, err, tc.code)
		case tc.code == "" && err != nil:
			t.Errorf("%q: %v", tc.text, err)
		case tc.code == "":
			if got := Render(parts, st, now); got != tc.want {
				t.Errorf("%q rendered %q, want %q", tc.text, got, tc.want)
			}
		}
	}
}

func TestSegmentMatches(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	day := func(daysAgo int) string { return strconv.FormatInt(now.AddDate(0, 0, -daysAgo).Unix()/86400, 10) }
	member := func() *loyalty.MemberState {
		return &loyalty.MemberState{
			Account: loyalty.Account{BirthDate: "1990-05-17", Status: loyalty.MemberActive, TierOverride: "Gold", CreatedAt: now.AddDate(-1, 0, 0)},
			Stats: loyalty.Stats{Groups: []string{"vip"}, Days: map[string]loyalty.Bucket{
				day(40): {Spend: 50000, Visits: 1}, day(10): {Spend: 20000, Visits: 2},
			}},
		}
	}
	pos := func() (string, error) { return "pos_1", nil }
	for _, tc := range []struct {
		name string
		seg  Segment
		want bool
	}{
		{"everyone", Segment{}, true},
		{"tier", Segment{Tier: "Gold"}, true},
		{"other tier", Segment{Tier: "Silver"}, false},
		{"group", Segment{Group: "vip"}, true},
		{"other group", Segment{Group: "staff"}, false},
		{"birth month", Segment{BirthMonth: 5}, true},
		{"other birth month", Segment{BirthMonth: 6}, false},
		{"spent in 30 days", Segment{SpentFrom: 20000, SpentTo: 20000}, true},
		{"spent in 60 days", Segment{SpentFrom: 70000, SpentPeriod: "P60D"}, true},
		{"spent too little", Segment{SpentFrom: 20001}, false},
		{"inactive 7 days", Segment{InactiveFor: "P7D"}, true},
		{"inactive 14 days", Segment{InactiveFor: "P14D"}, false},
		{"last point of sale", Segment{LastPointOfSale: "pos_1"}, true},
		{"other point of sale", Segment{LastPointOfSale: "pos_2"}, false},
		{"all together", Segment{Tier: "Gold", Group: "vip", BirthMonth: 5, SpentFrom: 1, InactiveFor: "P7D", LastPointOfSale: "pos_1"}, true},
	} {
		if err := tc.seg.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := tc.seg.Matches(member(), now, pos)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
	blocked := member()
	blocked.Account.Status = loyalty.MemberBlocked
	if ok, _ := (Segment{}).Matches(blocked, now, pos); ok {
		t.Error("a blocked member is in a segment")
	}
	for _, bad := range []Segment{{BirthMonth: 13}, {InactiveFor: "P1Y"}, {SpentFrom: 10, SpentTo: 5}, {SpentPeriod: "soon"}, {Group: "a/b"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if s, v := (Segment{Group: "vip", BirthMonth: 5}).Source(); s != SourceGroup || v != "vip" {
		t.Errorf("source %s %s", s, v)
	}
	if s, v := (Segment{BirthMonth: 5, Tier: "Gold"}).Source(); s != SourceBirthMonth || v != "05" {
		t.Errorf("source %s %s", s, v)
	}
	if s, _ := (Segment{Tier: "Gold"}).Source(); s != SourceDirectory {
		t.Errorf("source %s", s)
	}
}

func TestTokensAndStop(t *testing.T) {
	tk, err := NewTokens([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	tok := tk.Sign("t_1", "m_2")
	if tn, m, err := tk.Open(tok); err != nil || tn != "t_1" || m != "m_2" {
		t.Fatalf("open: %s %s %v", tn, m, err)
	}
	other, _ := NewTokens([]byte("another-secret-0123456789"))
	for _, bad := range []string{tok + "x", other.Sign("t_1", "m_2"), tk.Sign("t_1", "m_3")[:len(tok)-3] + "abc", "", "a.b"} {
		if _, _, err := tk.Open(bad); err == nil {
			t.Errorf("token %q opened", bad)
		}
	}
	for text, want := range map[string]bool{"STOP": true, " stop ": true, "Stop.": true, "стоп": true, "unsubscribe please": true, "don't stop": false, "": false, "Hello": false} {
		if IsStop(text) != want {
			t.Errorf("IsStop(%q) = %v", text, !want)
		}
	}
	body := []byte(`{"from":"+7","text":"STOP"}`)
	if !CheckInbound([]byte("k"), body, InboundSignature([]byte("k"), body)) || CheckInbound([]byte("k"), body, InboundSignature([]byte("j"), body)) || CheckInbound(nil, body, InboundSignature(nil, body)) {
		t.Error("inbound signature check")
	}
}
