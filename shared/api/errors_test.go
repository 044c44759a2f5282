package api

import (
	"net/http"
	"testing"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Every domain code has its status; only internal_error is a 5xx.
func TestEveryCodeHasAStatus(t *testing.T) {
	for _, c := range loyalty.AllCodes {
		status, ok := statusOf[c]
		if !ok {
			t.Errorf("code %s has no HTTP status", c)
			continue
		}
		if status >= 500 && c != loyalty.CodeInternal {
			t.Errorf("code %s maps to %d", c, status)
		}
		if p := problemOf(&loyalty.Error{Code: c, Message: "m"}); p.Status != status || p.Code != string(c) || p.Title != http.StatusText(status) {
			t.Errorf("problem of %s: %+v", c, p)
		}
	}
}
