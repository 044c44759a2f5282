package api

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Percent is a JSON number with at most two decimals (5, 12.5, 0.75), read
// exactly into basis points: no floating point on the way.
type Percent struct{ BP loyalty.BasisPoints }

// UnmarshalJSON reads the number's literal text.
func (p *Percent) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("percent must be a number")
	}
	bp, err := loyalty.ParsePercent(n.String())
	if err != nil {
		return err
	}
	p.BP = bp
	return nil
}

// MarshalJSON writes the shortest decimal form.
func (p Percent) MarshalJSON() ([]byte, error) {
	return []byte(p.BP.String()), nil
}

// Schema describes Percent in the OpenAPI document.
func (Percent) Schema(huma.Registry) *huma.Schema {
	zero, hundred := 0.0, 100.0
	return &huma.Schema{Type: "number", Minimum: &zero, Maximum: &hundred,
		Description: "Percent, at most two decimals", Examples: []any{5}}
}

// MemberRef addresses a member by exactly one of id, card or phone.
type MemberRef struct {
	ID    string `json:"id,omitempty" maxLength:"64" pattern:"^m_[a-z0-9]+$" doc:"Member id"`
	Card  string `json:"card,omitempty" maxLength:"19" pattern:"^[0-9]+$" doc:"Card number"`
	Phone string `json:"phone,omitempty" minLength:"1" maxLength:"32" doc:"Phone in national or international form"`
}

// TransformSchema states "exactly one of id, card or phone" in the schema:
// one property, each non-empty (the handler checks it again).
func (MemberRef) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	one := 1
	s.MinProperties, s.MaxProperties = &one, &one
	return s
}

func (m MemberRef) domain(normalize PhoneNormalizer) (loyalty.MemberRef, error) {
	n := 0
	for _, v := range []string{m.ID, m.Card, m.Phone} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return loyalty.MemberRef{}, loyalty.Invalid("member", "give exactly one of id, card or phone")
	}
	if m.Phone != "" {
		e164, err := normalizePhone(normalize, "member.phone", m.Phone)
		if err != nil {
			return loyalty.MemberRef{}, err
		}
		return loyalty.MemberRef{Phone: e164}, nil
	}
	if err := loyalty.CheckCardRef("member.card", m.Card); err != nil {
		return loyalty.MemberRef{}, err
	}
	return loyalty.MemberRef{ID: m.ID, Card: m.Card}, nil
}

// PhoneNormalizer turns a typed phone number into E.164.
type PhoneNormalizer func(string) (string, error)

// normalizePhone parses a phone, reporting the field at fault.
func normalizePhone(normalize PhoneNormalizer, field, s string) (string, error) {
	e164, err := normalize(s)
	if err != nil {
		return "", &loyalty.Error{Code: loyalty.CodeInvalidPhone, Field: field, Message: "not a valid phone number"}
	}
	return e164, nil
}

func trimmed(s string) string { return strings.TrimSpace(s) }

// Amount is money in minor units where a field tag cannot bound it (values
// of a map): non-negative, at most loyalty.MaxMoney.
type Amount int64

// Schema bounds Amount in the OpenAPI document and in request validation.
func (Amount) Schema(huma.Registry) *huma.Schema {
	lo, hi := 0.0, float64(loyalty.MaxMoney)
	return &huma.Schema{Type: huma.TypeInteger, Format: "int64", Minimum: &lo, Maximum: &hi,
		Description: "Money, minor units"}
}

// GroupName is a customer group's name (elements of a list, where a field
// tag cannot bound them).
type GroupName string

// Schema bounds GroupName in the OpenAPI document and in request validation.
func (GroupName) Schema(huma.Registry) *huma.Schema {
	lo, hi := 1, 64
	return &huma.Schema{Type: huma.TypeString, MinLength: &lo, MaxLength: &hi, Description: "Customer group"}
}

// Money is an amount of money in minor units as the API reads and writes
// it. Its schema's bounds are the domain's (0 .. loyalty.MaxMoney), written
// once here instead of on every field; a field may raise the minimum with a
// tag (`minimum:"1"` for a total that must not be zero).
type Money int64

// Schema describes Money in the OpenAPI document.
func (Money) Schema(huma.Registry) *huma.Schema {
	return amountSchema(0, int64(loyalty.MaxMoney))
}

// Domain is the amount as the domain counts it.
func (m Money) Domain() loyalty.Money { return loyalty.Money(m) }

// Points is an amount of points in hundredths as the API reads and writes
// it, bounded by the domain's loyalty.MaxPoints.
type Points int64

// Schema describes Points in the OpenAPI document.
func (Points) Schema(huma.Registry) *huma.Schema {
	return amountSchema(0, int64(loyalty.MaxPoints))
}

// Domain is the amount as the domain counts it.
func (p Points) Domain() loyalty.Points { return loyalty.Points(p) }

// PointsChange is a credit (positive) or a debit (negative) of points.
type PointsChange int64

// Schema describes PointsChange in the OpenAPI document.
func (PointsChange) Schema(huma.Registry) *huma.Schema {
	return amountSchema(-int64(loyalty.MaxPoints), int64(loyalty.MaxPoints))
}

// Domain is the change as the domain counts it.
func (p PointsChange) Domain() loyalty.Points { return loyalty.Points(p) }

func amountSchema(lo, hi int64) *huma.Schema {
	min, max := float64(lo), float64(hi)
	return &huma.Schema{Type: huma.TypeInteger, Format: "int64", Minimum: &min, Maximum: &max}
}
