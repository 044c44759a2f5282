// Command dispatch is the Lambda on the table's DynamoDB stream: it counts
// pay-as-you-go usage and hands the feed's events to its sinks.
package main

import "github.com/loyalty/cashback/shared/app"

func main() { app.ServeDispatch(app.NoSinks) }
