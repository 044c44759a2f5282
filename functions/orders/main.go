// Command orders is the Lambda serving the HTTP operations of the orders function
// (see shared/routes).
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
)

func main() { app.ServeHTTP(api.OrdersFunction) }
