package api

import (
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/routes"
)

// The operation table and the route table name the same operations, and
// what the table says of each one is what the document says: a key or none,
// the role, a required Idempotency-Key for the balance changes.
func TestOperationTableMatchesRoutesAndDocument(t *testing.T) {
	_, hapi := NewAPI(Deps{Service: &loyalty.Service{}, Phones: phone.NormalizeForLookup})
	doc := hapi.OpenAPI()
	served := map[string]bool{}
	for _, r := range routes.Routes {
		if _, isDoc := documents[r.OperationID]; isDoc || routes.IsPage(r) || routes.IsWalletService(r) {
			continue
		}
		spec, ok := operations[r.OperationID]
		if !ok {
			t.Errorf("route %s %s (%s) has no entry in the operation table", r.Method, r.Path, r.OperationID)
			continue
		}
		served[r.OperationID] = true
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
	for id := range operations {
		if !served[id] {
			t.Errorf("operation %s of the table has no route", id)
		}
	}
}
