package api_test

import (
	"fmt"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// Query parameters the document bounds, refused outside their bounds by the
// API and by the document alike (helpers in validation_test.go).

// A cursor past int64 used to parse as 0 and restart at the first page, so
// a paging client looped; a cursor of 0 did the same. Both are refused, by
// the handler and by the document's pattern.
func TestLedgerCursorOutOfRangeRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001601")
	for i := range 3 {
		e.Close(fmt.Sprintf("o-%d", i), m.ID, 10000).Want(200)
	}
	base := "/v1/members/" + m.ID + "/ledger?limit=1&cursor="
	for _, c := range []string{"99999999999999999999", "9223372036854775808", "0", "00", "-1", "1e3"} {
		refused(t, e.Do("GET", base+c, nil, nil), 422, "validation_failed", "cursor "+c)
		schemaRefuses(t, "GET", base+c, "")
	}
	// A real cursor still pages: the next page starts below it.
	var p struct {
		Entries []struct {
			Seq int64 `json:"seq"`
		} `json:"entries"`
		NextCursor string `json:"nextCursor"`
	}
	e.Do("GET", "/v1/members/"+m.ID+"/ledger?limit=1", nil, nil).Want(200).Decode(&p)
	first := p.Entries[0].Seq
	e.Do("GET", base+p.NextCursor, nil, nil).Want(200).Decode(&p)
	if len(p.Entries) != 1 || p.Entries[0].Seq >= first {
		t.Fatalf("second page %+v after seq %d", p.Entries, first)
	}
}

// A month is YYYY-MM with a month 01-12; an empty one is no month, not
// "this month". The document says so and the API refuses the rest.
func TestMonthQueryValidated(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	for _, path := range []string{"/v1/usage", "/v1/audit"} {
		for _, month := range []string{"2026-13", "2026-00", "2026-1", "", "202603", "2026-03-01"} {
			target := path + "?month=" + month
			refused(t, e.Do("GET", target, nil, nil), 422, "validation_failed", target)
			schemaRefuses(t, "GET", target, "")
		}
		e.Do("GET", path+"?month=2026-12", nil, nil).Want(200)
		e.Do("GET", path, nil, nil).Want(200)
	}
	// Other query parameters sent empty are refused the same way when their
	// schema refuses an empty value.
	refused(t, e.Do("GET", "/v1/audit?limit=", nil, nil), 422, "validation_failed", "empty limit")
}
