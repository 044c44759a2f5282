//go:build volume

package csvio_test

import "testing"

// 10 000 rows, 100 of them bad: 9 900 members imported and 100 rows reported
// with their line; the same file again imports nothing. Minutes on DynamoDB
// Local: `make volume` runs it (CI does, after make test); make test runs
// the same checks on 500 rows (TestImportRowsTwice).
func TestImportTenThousandRowsTwice(t *testing.T) {
	t.Parallel()
	importTwice(t, 10000)
}
