// Package pages wires the web pages (shared/web) over an app: the web
// function serves them alone, the local server and the tests next to the
// API. It is apart from shared/app so the API's functions do not link the
// templates, assets and QR encoder.
package pages

import (
	"net/http"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/web"
)

// New is the pages' handler over the app's service.
func New(a *app.App) (*web.Handler, error) {
	svc := a.Service
	var wallets web.Wallets
	if a.Wallet != nil {
		wallets = a.Wallet // a nil *Service in the interface would not read as nil
	}
	console := &web.Console{Members: svc.Members, Programs: svc.Programs, Tenancy: svc.Tenancy, Catalog: svc.Catalog,
		Directory: svc.Members, Reports: a.Reports()}
	if a.Webhooks != nil {
		console.Webhooks = a.Webhooks
	}
	if a.Wallet != nil {
		console.Wallets = a.Wallet
	}
	return web.New(web.Deps{
		Wallets:    wallets,
		Recent:     a.Store,
		Console:    console,
		Enrollment: svc.Enrollment, Members: svc.Members, Orders: svc.Orders, Tenancy: svc.Tenancy,
		Consent: a.Campaigns,
		Phones:  a.Phones(), RateLimit: a.PublicRateLimit, Secret: a.Secret(), Logger: a.Logger, Now: a.Now,
	})
}

// Handler serves the pages and, beside them, the API operations of the
// given functions (all when none): the local server and the tests.
func Handler(a *app.App, functions ...string) (http.Handler, error) {
	return withPages(a, a.Handler(functions...))
}

// WebFunction is the web function's handler: the pages alone, and a 404
// problem for any other path, linking no operation of the API (nor the
// API's framework).
func WebFunction(a *app.App) (http.Handler, error) {
	return withPages(a, http.HandlerFunc(api.NotFound))
}

// withPages serves the pages' routes and hands the rest to other.
func withPages(a *app.App, other http.Handler) (http.Handler, error) {
	pages, err := New(a)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, r := range routes.Routes {
		if routes.IsPage(r) {
			mux.Handle(r.Method+" "+r.Path, pages)
		}
	}
	mux.Handle("/", other)
	return mux, nil
}
