// Command openapi prints the OpenAPI 3.1 document generated from the
// handlers (`make openapi` writes it to api/openapi.json).
package main

import (
	"fmt"
	"os"

	"github.com/loyalty/cashback/shared/api"
)

func main() {
	j, _, err := api.Document()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
	os.Stdout.Write(j)
}
