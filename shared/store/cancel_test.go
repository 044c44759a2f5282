package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Each cancellation reason means what it says: only failed conditions and
// transaction conflicts are races (retried); throttling is the store being
// busy; anything else is a bug reported with its cause, never a 409.
func TestTranslateCancelMapsEachReason(t *testing.T) {
	limit := loyalty.PlanLimitError(loyalty.LimitMonthlyOps)
	fails := []onFail{loyalty.ErrConflict, nil, limit}
	cancel := func(codes ...string) error {
		tc := &types.TransactionCanceledException{Message: aws.String("cancelled")}
		for _, c := range codes {
			tc.CancellationReasons = append(tc.CancellationReasons, types.CancellationReason{Code: aws.String(c), Message: aws.String(c + " message")})
		}
		return tc
	}
	cases := []struct {
		name    string
		err     error
		want    error  // errors.Is target, or nil
		wantMsg string // substring of an untyped error
	}{
		{"condition on a meaningful item", cancel("None", "None", "ConditionalCheckFailed"), limit, ""},
		{"condition on the account", cancel("ConditionalCheckFailed", "None", "None"), loyalty.ErrConflict, ""},
		{"condition on an item without meaning", cancel("None", "ConditionalCheckFailed", "None"), loyalty.ErrConflict, ""},
		{"transaction conflict", cancel("None", "TransactionConflict", "None"), loyalty.ErrConflict, ""},
		{"throttled", cancel("ThrottlingError", "None", "None"), loyalty.ErrUnavailable, ""},
		{"throughput exceeded", cancel("None", "ProvisionedThroughputExceeded", "None"), loyalty.ErrUnavailable, ""},
		{"throttled beats conflict", cancel("TransactionConflict", "ThrottlingError", "None"), loyalty.ErrUnavailable, ""},
		{"validation error", cancel("None", "ValidationError", "None"), nil, "item 1: ValidationError"},
		{"item collection too large", cancel("ItemCollectionSizeLimitExceeded", "None", "None"), nil, "ItemCollectionSizeLimitExceeded"},
		{"no reason", cancel("None", "None", "None"), nil, "without a reason"},
		{"transaction in progress", &types.TransactionInProgressException{}, loyalty.ErrConflict, ""},
	}
	for _, c := range cases {
		got := translateCancel(c.err, fails)
		switch {
		case c.want != nil && !errors.Is(got, c.want):
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		case c.want == nil && (got == nil || !strings.Contains(got.Error(), c.wantMsg) || loyalty.CodeOf(got) != loyalty.CodeInternal):
			t.Errorf("%s: got %v, want an internal error naming %q", c.name, got, c.wantMsg)
		}
	}
}
