// Package api serves the loyalty service over HTTP: every operation is a huma
// v2 operation on a net/http ServeMux, so typed inputs give request
// validation, RFC 9457 problems and the OpenAPI 3.1 document from one
// definition. A Lambda serves the operations of its function; the local
// server serves them all. No business logic lives here: handlers translate
// HTTP to Service calls and errors to problems.
package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/danielgtaylor/huma/v2/yaml"

	apidoc "github.com/loyalty/cashback/api"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// Deps are what the handlers need.
type Deps struct {
	// Service, when set, provides every capability left nil below.
	Service *loyalty.Service
	Capabilities
	// Ping checks the store for /healthz.
	Ping func(context.Context) error
	// RateLimit counts one public request from a source (IP) and refuses past the limit.
	RateLimit func(ctx context.Context, scope string) error
	Logger    *slog.Logger
	// Phones normalises phone numbers: the full library (phone.Normalize)
	// where numbers are stored, the lean lookup form elsewhere.
	Phones PhoneNormalizer
	// Wallets, when set, serves the wallet operations and shows a
	// member's wallets in GET /v1/members/{id}.
	Wallets Wallets
	// WalletStates, when set, shows a member's wallets in GET
	// /v1/members/{id} without Wallets (the members function, which builds
	// no passes); Wallets provides it when nil.
	WalletStates WalletStates
	// Meter, when set, counts a request's DynamoDB round trips and capacity
	// for its log line.
	Meter func(context.Context) (context.Context, func() (roundTrips int, rcu, wcu float64))
	// SMSInboundSecret authenticates the SMS gateway's inbound replies.
	SMSInboundSecret []byte
}

// MaxBodyBytes bounds every request body; nothing legitimate comes near it.
const MaxBodyBytes = 64 << 10

// Version of the API document.
const Version = "1.0.0"

type server struct {
	deps Deps
	api  huma.API
	mux  *http.ServeMux // for the routes that are not huma operations (the document)
}

// New returns the handler serving the operations of the given functions:
// a Lambda's own (OrdersFunction…), or Functions() for every operation.
func New(deps Deps, functions ...Function) http.Handler {
	mux, _ := NewAPI(deps, functions...)
	return mux
}

// NewAPI is New that also returns the huma API (for the OpenAPI document).
func NewAPI(deps Deps, functions ...Function) (http.Handler, huma.API) {
	if deps.Phones == nil {
		panic("api: Deps.Phones is required")
	}
	if deps.Service != nil {
		all := CapabilitiesOf(deps.Service)
		deps.Orders = cmp.Or(deps.Orders, all.Orders)
		deps.Enrollment = cmp.Or(deps.Enrollment, all.Enrollment)
		deps.Members = cmp.Or(deps.Members, all.Members)
		deps.Programs = cmp.Or(deps.Programs, all.Programs)
		deps.Tenancy = cmp.Or(deps.Tenancy, all.Tenancy)
		deps.Catalog = cmp.Or(deps.Catalog, all.Catalog)
		deps.Coupons = cmp.Or(deps.Coupons, all.Coupons)
		deps.Promotions = cmp.Or(deps.Promotions, all.Promotions)
		deps.GiftCards = cmp.Or(deps.GiftCards, all.GiftCards)
		deps.Cards = cmp.Or(deps.Cards, all.Cards)
	}
	if deps.WalletStates == nil && deps.Wallets != nil {
		deps.WalletStates = deps.Wallets
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Loyalty cashback API", Version)
	cfg.CreateHooks = nil // no $schema fields or Link headers
	cfg.DocsPath = ""     // the docs page would load scripts from a CDN
	cfg.OpenAPIPath = ""  // served below: always the whole document, whichever function serves it
	cfg.Info.Description = "Cashback and loyalty for small businesses: enroll customers by phone, accrue cashback on closed orders, redeem points with a two-phase hold, refund, expire. Money is in minor units, points in hundredths of a point."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiKey": {Type: "http", Scheme: "bearer", Description: "API key of a tenant's owner, admin or cashier: `Authorization: Bearer lk_live_…`"},
	}
	hapi := humago.New(mux, cfg)
	s := &server{deps: deps, api: hapi, mux: mux}
	hapi.UseMiddleware(s.logRequests, s.authenticate, s.checkInput)

	tables := map[string]map[string]operation{}
	for _, f := range functions {
		tables[f.Name] = f.operations()
		for id, o := range tables[f.Name] {
			known.Store(id, o)
		}
	}
	for _, r := range routes.Routes {
		table, served := tables[r.Function]
		if routes.IsPage(r) || routes.IsWalletService(r) || !served {
			continue
		}
		o, ok := table[r.OperationID]
		if !ok {
			panic("api: no handler for operation " + r.OperationID + " in the table of function " + r.Function)
		}
		o.register(s, r)
	}
	documentErrors(hapi.OpenAPI())
	dropRawBodyType(hapi.OpenAPI())
	documentExamples(hapi.OpenAPI())
	// Unknown paths and methods answer with problems too, not text/plain.
	mux.HandleFunc("/", NotFound)
	return limitBody(withRequest(mux)), hapi
}

// limitBody caps request bodies before anything reads them.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := bodyLimit(r)
		if r.ContentLength > limit {
			writeProblem(w, newProblem(codeBodyTooLarge, "request body too large"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if ct := r.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			// JSON is the only body we take; a body sent without a type, or
			// with curl's default form type, is read as JSON (and refused
			// as malformed JSON when it is not).
			r.Header.Set("Content-Type", "application/json")
		}
		next.ServeHTTP(w, r)
	})
}

// NotFound answers a path or method no operation serves: a not_found
// problem, not text/plain.
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, newProblem(loyalty.CodeNotFound, "no such route: "+r.Method+" "+r.URL.Path))
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// op builds the huma operation of a route.
func op(r routes.Route, summary string, tags ...string) huma.Operation {
	o := huma.Operation{
		OperationID:   r.OperationID,
		Method:        r.Method,
		Path:          r.Path,
		Summary:       summary,
		Tags:          tags,
		MaxBodyBytes:  MaxBodyBytes,
		DefaultStatus: http.StatusOK,
		Metadata:      map[string]any{"function": r.Function},
	}
	spec, _ := specOf(r.OperationID)
	if !spec.public {
		o.Security = []map[string][]string{{"apiKey": {}}}
	}
	switch spec.minRole {
	case loyalty.RoleAdmin:
		o.Metadata["minRole"] = spec.minRole
		o.Description = strings.TrimSpace(o.Description + " Needs an owner or admin key.")
	case loyalty.RoleOwner:
		o.Metadata["minRole"] = spec.minRole
		o.Description = strings.TrimSpace(o.Description + " Needs the owner's key.")
	}
	return o
}

type callerKey struct{}

// callerOf returns the authenticated caller of a request.
func callerOf(ctx context.Context) loyalty.Caller {
	c, _ := ctx.Value(callerKey{}).(loyalty.Caller)
	return c
}

// authenticate checks the bearer key of every operation that has security,
// with a strongly consistent read on every request (no cache), so a revoked
// key stops at once.
func (s *server) authenticate(ctx huma.Context, next func(huma.Context)) {
	ctx = huma.WithValue(ctx, sourceKey{}, sourceOf(ctx.RemoteAddr()))
	ctx = huma.WithValue(ctx, hostKey{}, ctx.Host())
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	auth := ctx.Header("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(key) == "" || len(key) > 200 {
		s.writeErr(ctx, newProblem(loyalty.CodeUnauthorized, "send the API key as Authorization: Bearer <key>"))
		return
	}
	caller, err := s.deps.Tenancy.Authenticate(ctx.Context(), loyalty.HashAPIKey(strings.TrimSpace(key)))
	if err != nil {
		s.writeErr(ctx, s.problem(ctx.Context(), err))
		return
	}
	if who, ok := ctx.Context().Value(logKey{}).(*loyalty.Caller); ok {
		*who = caller
	}
	if min, ok := ctx.Operation().Metadata["minRole"].(loyalty.Role); ok && !caller.Role.AtLeast(min) {
		s.writeErr(ctx, newProblem(loyalty.CodeForbidden, "this key's role may not do that"))
		return
	}
	next(huma.WithValue(ctx, callerKey{}, caller))
}

func (s *server) writeErr(ctx huma.Context, p *Problem) {
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(p)
}

type logKey struct{}

// logRequests writes one structured line per request: operation, tenant,
// key id, status, latency. Never bodies, keys, codes or phone numbers.
func (s *server) logRequests(ctx huma.Context, next func(huma.Context)) {
	start := time.Now()
	who := &loyalty.Caller{} // filled in by authenticate
	ctx = huma.WithValue(ctx, logKey{}, who)
	var usage func() (int, float64, float64)
	if s.deps.Meter != nil {
		var mctx context.Context
		mctx, usage = s.deps.Meter(ctx.Context())
		ctx = huma.WithContext(ctx, mctx)
	}
	next(ctx)
	status := ctx.Status()
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("op", ctx.Operation().OperationID),
		slog.String("tenant", who.TenantID),
		slog.String("key", who.KeyID),
		slog.Int("status", status),
		slog.Duration("latency", time.Since(start)),
	}
	if usage != nil {
		trips, rcu, wcu := usage()
		attrs = append(attrs, slog.Int("dynamoCalls", trips), slog.Float64("rcu", rcu), slog.Float64("wcu", wcu))
	}
	s.deps.Logger.LogAttrs(ctx.Context(), level, "request", attrs...)
}

// sourceOf is the caller's address: API Gateway's sourceIp behind Lambda
// (the proxy adapter puts it in RemoteAddr), the socket peer locally; never a
// client-supplied header.
func sourceOf(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

type sourceKey struct{}

type hostKey struct{}

// baseURLOf is the service's address as the request reached it: https,
// except on a loopback host (the local server).
func baseURLOf(ctx context.Context) string {
	host, _ := ctx.Value(hostKey{}).(string)
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if ip := net.ParseIP(name); name == "localhost" || ip != nil && ip.IsLoopback() {
		return "http://" + host
	}
	return "https://" + host
}

func sourceFromContext(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// idemOf builds the idempotency part of a request: the key and a hash of the
// operation, its path parameters and its raw body.
func idemOf(key, operationID string, params []string, body []byte) loyalty.Idem {
	h := sha256.New()
	h.Write([]byte(operationID))
	for _, p := range params {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	h.Write([]byte{0})
	h.Write(body)
	return loyalty.Idem{Key: key, Hash: hex.EncodeToString(h.Sum(nil))}
}

// requireRole refuses callers below a role.
func requireRole(ctx context.Context, want loyalty.Role) error {
	if !callerOf(ctx).Role.AtLeast(want) {
		return newProblem(loyalty.CodeForbidden, "this key's role may not do that")
	}
	return nil
}

// Written is the answer of an operation taking an Idempotency-Key: its
// result, and whether it is the stored answer of an earlier request.
type Written[T any] struct {
	ReplayedHeader
	Body T
}

// registerWrite registers an operation taking an Idempotency-Key. do reads
// the input and calls the service; the shape around it — a problem for any
// error, the replay header — is the same for every such operation.
func registerWrite[I, T any](s *server, o huma.Operation, do func(ctx context.Context, in *I) (res T, replayed bool, err error)) {
	huma.Register(s.api, o, func(ctx context.Context, in *I) (*Written[T], error) {
		res, replayed, err := do(ctx, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &Written[T]{ReplayedHeader{replayHeader(replayed)}, res}, nil
	})
}

// replayHeader is the value of Idempotent-Replayed.
func replayHeader(replayed bool) string {
	if replayed {
		return "true"
	}
	return ""
}

// documents are the routes serving the OpenAPI document: not operations of
// the API itself, so not in it. The admin function's table registers them
// (registerDocument), so no other function links the document.
var documents = map[string]string{"get-openapi-json": "json", "get-openapi-yaml": "yaml"}

// registerDocument serves the document on its route, outside huma.
func (s *server) registerDocument(r routes.Route) {
	s.mux.HandleFunc(r.Method+" "+r.Path, serveDocument(documents[r.OperationID]))
}

var (
	docOnce  sync.Once
	docJSON  []byte
	docYAML  []byte
	docError error
)

// Document is the OpenAPI 3.1 document of every operation, generated from
// the handlers' own types (`make openapi` commits it as api/openapi.json).
func Document() (jsonDoc, yamlDoc []byte, err error) {
	docOnce.Do(func() {
		_, hapi := NewAPI(Deps{Phones: func(s string) (string, error) { return s, nil }}, Functions()...)
		o := hapi.OpenAPI()
		if docJSON, docError = json.MarshalIndent(o, "", "  "); docError != nil {
			return
		}
		docJSON = append(docJSON, '\n')
		docYAML, docError = o.YAML()
	})
	return docJSON, docYAML, docError
}

// serveDocument serves the committed document (package apidoc), which a
// test keeps equal to the generated one: generating it here would link
// every handler into the function serving it.
func serveDocument(kind string) http.HandlerFunc {
	// The YAML is converted once, as huma's OpenAPI.YAML converts the same
	// JSON. Built here, not at package level, so that only the function
	// registering the document links it.
	asYAML := sync.OnceValues(func() ([]byte, error) {
		var b bytes.Buffer
		err := yaml.Convert(&b, bytes.NewReader(apidoc.JSON))
		return b.Bytes(), err
	})
	return func(w http.ResponseWriter, _ *http.Request) {
		if kind == "yaml" {
			y, err := asYAML()
			if err != nil {
				writeProblem(w, newProblem(loyalty.CodeInternal, "internal error"))
				return
			}
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(y)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(apidoc.JSON)
	}
}
