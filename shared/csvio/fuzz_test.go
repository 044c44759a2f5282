package csvio

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

// nopImporter keeps the rows; Import calls it from several workers.
type nopImporter struct {
	mu   sync.Mutex
	rows []loyalty.ImportRow
}

func (n *nopImporter) ImportMember(_ context.Context, _ loyalty.Caller, r loyalty.ImportRow) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rows = append(n.rows, r)
	return "m", nil
}

// Any CSV input is read without panicking; every row is either imported or
// reported, and imported rows carry a valid E.164 phone and sane points.
func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		"phone,card,name,email,points\n8 912 345-67-89,,Ann,,12.50\n",
		"phone\n+79123456789\nbad\n",
		"name,phone\n\"a,b\",+7 912 345 67 89\n",
		"phone,points\n+79123456789,-1\n+79123456789,1.234\n+79123456789,99999999999999999999\n",
		"phone\n\"unterminated\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		imp := &nopImporter{}
		rep, err := Import(context.Background(), imp, loyalty.Caller{}, bytes.NewBufferString(in), libphone.Normalize, 2, nil)
		if err != nil {
			return // no header or no phone column
		}
		if rep.Imported+len(rep.Failed) != rep.Rows {
			t.Fatalf("rows %d, imported %d, failed %d", rep.Rows, rep.Imported, len(rep.Failed))
		}
		for _, r := range imp.rows {
			if r.Points < 0 || r.Points > loyalty.MaxPoints || len(r.Phone) < 8 || r.Phone[0] != '+' {
				t.Fatalf("bad row imported: %+v", r)
			}
		}
	})
}
