// Command tenancy is the Lambda serving the HTTP operations of the tenancy function
// (see shared/routes).
package main

import (
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/routes"
)

func main() { app.ServeHTTP(routes.FnTenancy) }
