package api

import (
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/routes"
)

// The operation tables and the route table name the same operations, each
// in the table of the function its route names, and what the table says
// of each one is what the document says: a key or none, the role, a
// required Idempotency-Key for the balance changes.
func TestOperationTableMatchesRoutesAndDocument(t *testing.T) {
	_, hapi := NewAPI(Deps{Service: &loyalty.Service{}, Phones: phone.NormalizeForLookup}, Functions()...)
	doc := hapi.OpenAPI()
	tables := map[string]map[string]operation{}
	functions := map[string]bool{}
	for _, f := range Functions() {
		if functions[f.Name] {
			t.Errorf("function %s listed twice in Functions", f.Name)
		}
		functions[f.Name] = true
		tables[f.Name] = f.operations()
	}
	served := map[string]bool{}
	for _, r := range routes.Routes {
		if routes.IsPage(r) || routes.IsWalletService(r) {
			continue
		}
		spec, ok := tables[r.Function][r.OperationID]
		if !ok {
			t.Errorf("route %s %s (%s) has no entry in the operation table of its function %s", r.Method, r.Path, r.OperationID, r.Function)
			continue
		}
		served[r.OperationID] = true
		if _, isDoc := documents[r.OperationID]; isDoc {
			continue // served beside the document, not in it
		}
		item := doc.Paths[r.Path]
		if item == nil {
			t.Errorf("%s: path %s not in the document", r.OperationID, r.Path)
			continue
		}
		o := map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "DELETE": item.Delete}[r.Method]
		if o == nil {
			t.Errorf("%s: %s %s not in the document", r.OperationID, r.Method, r.Path)
			continue
		}
		if got := len(o.Security) == 0; got != spec.public {
			t.Errorf("%s: public in the table %v, in the document %v", r.OperationID, spec.public, got)
		}
		if role, _ := o.Metadata["minRole"].(loyalty.Role); role != spec.minRole {
			t.Errorf("%s: role in the table %q, in the operation %q", r.OperationID, spec.minRole, role)
		}
		required := false
		for _, p := range o.Parameters {
			if p.In == "header" && p.Name == "Idempotency-Key" {
				required = p.Required
			}
		}
		if required != spec.idempotent {
			t.Errorf("%s: idempotent in the table %v, Idempotency-Key required in the document %v", r.OperationID, spec.idempotent, required)
		}
	}
	for fn, table := range tables {
		for id := range table {
			if !served[id] {
				t.Errorf("operation %s of the table of %s has no route in that function", id, fn)
			}
		}
	}
}

// A function's handler serves its own operations and no other function's:
// what lets its binary link only its own handlers.
func TestFunctionServesOnlyItsOperations(t *testing.T) {
	for _, f := range Functions() {
		_, hapi := NewAPI(Deps{Service: &loyalty.Service{}, Phones: phone.NormalizeForLookup}, f)
		for path, item := range hapi.OpenAPI().Paths {
			for _, o := range []*huma.Operation{item.Get, item.Post, item.Put, item.Delete} {
				if o == nil {
					continue
				}
				if r, ok := routes.RouteByOperation(o.OperationID); !ok || r.Function != f.Name {
					t.Errorf("function %s serves %s %s (%s), a route of %q", f.Name, o.Method, path, o.OperationID, r.Function)
				}
			}
		}
	}
	if _, ok := FunctionNamed(routes.FnOrders); !ok {
		t.Error("FunctionNamed finds no orders function")
	}
	if _, ok := FunctionNamed(routes.FnWeb); ok {
		t.Error("the web function serves pages, no operation of the API")
	}
}
