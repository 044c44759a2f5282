// Command expire-sweep is the scheduled Lambda expiring lots, maturing
// pending points and releasing stale holds.
package main

import "github.com/loyalty/cashback/shared/app"

func main() { app.ServeSweep() }
