// Command refund is the Lambda serving the HTTP operations of the refund function
// (see shared/routes).
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
)

func main() { app.ServeHTTP(api.RefundFunction) }
