package wallet

import (
	"context"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// GoogleSaveBase is where a "Save to Google Wallet" link points; the
// signed JWT follows it.
const GoogleSaveBase = "https://pay.google.com/gp/v/save/"

// GoogleSaveURL is the "Save to Google Wallet" link of a member's card: an
// RS256 JWT of the service account carrying the tenant's loyalty class
// (with the callback address) and the member's loyalty object (balance,
// tier, barcode). origins are the web origins allowed to show the button.
// The web pages call this for their button; the API serves it to staff.
func (s *Service) GoogleSaveURL(ctx context.Context, baseURL, tenantID, memberID string, origins []string) (string, error) {
	if !s.Keys.Google() {
		return "", ErrNotConfigured
	}
	st, err := s.Members.LoadMember(ctx, tenantID, memberID)
	if err != nil {
		return "", err
	}
	t, err := s.Members.GetTenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	c := CardOf(t.Name, st, s.now())
	issuer := s.Keys.GoogleIssuerID
	classID := issuer + "." + tenantID
	name := t.Name
	if name == "" {
		name = "Loyalty card"
	}
	object := map[string]any{
		"id": ObjectID(issuer, tenantID, memberID), "classId": classID, "state": "ACTIVE",
		"accountId": c.CardNumber, "accountName": c.CardNumber,
		"loyaltyPoints": map[string]any{"label": "Points", "balance": map[string]any{"string": FormatPoints(c.Balance)}},
		"barcode":       map[string]any{"type": "QR_CODE", "value": c.CardNumber, "alternateText": c.CardNumber},
	}
	if c.Tier != "" {
		// The object has no tier field; the secondary points show it.
		object["secondaryLoyaltyPoints"] = map[string]any{"label": "Tier", "balance": map[string]any{"string": c.Tier}}
	}
	class := map[string]any{
		"id": classID, "issuerName": name, "programName": name, "reviewStatus": "UNDER_REVIEW",
		"callbackOptions": map[string]any{"url": baseURL + "/wallet/google/callback"},
	}
	claims := jwt.MapClaims{
		"iss": s.Keys.GoogleEmail, "aud": "google", "typ": "savetowallet", "iat": s.now().Unix(),
		"origins": append([]string{}, origins...),
		"payload": map[string]any{"loyaltyClasses": []any{class}, "loyaltyObjects": []any{object}},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.Keys.GoogleKey)
	if err != nil {
		return "", fmt.Errorf("sign save link: %w", err)
	}
	return GoogleSaveBase + signed, nil
}
