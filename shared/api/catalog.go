package api

import (
	"bytes"
	"context"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// CatalogImportMaxBytes bounds a catalog CSV sent to the API (about 25 000
// rows); larger catalogs go in several requests or through the CLI
// (`loyalty catalog import`), which has no such limit.
const CatalogImportMaxBytes = 1 << 20

// catalogImportPath is the one route taking a body larger than MaxBodyBytes.
const catalogImportPath = "/v1/catalog/import"

// ---- put product ----

type PutProductInput struct {
	SKU  string `path:"sku" minLength:"1" maxLength:"128" doc:"The article as the till sends it in order lines"`
	Body struct {
		Name     string `json:"name" minLength:"1" maxLength:"200"`
		Category string `json:"category,omitempty" maxLength:"64" doc:"Order lines naming this sku without a category of their own get it"`
		Price    *Money `json:"price,omitempty" doc:"Price, money minor units"`
	}
}

type ProductOutput struct {
	Body loyalty.Product
}

func (s *server) registerPutProduct(r routes.Route) {
	o := op(r, "Create or replace a catalog product", "catalog")
	o.Description = "Order lines naming the product's sku without a category of their own inherit its category, so category rules (cashback, limits, product rules) apply to tills that send only SKUs."
	huma.Register(s.api, o, func(ctx context.Context, in *PutProductInput) (*ProductOutput, error) {
		p := loyalty.Product{SKU: in.SKU, Name: trimmed(in.Body.Name), Category: in.Body.Category}
		if in.Body.Price != nil {
			p.Price = loyalty.Money(*in.Body.Price)
		}
		out, err := s.deps.Catalog.PutProduct(ctx, callerOf(ctx), p)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &ProductOutput{out}, nil
	})
}

// ---- list products ----

type ListProductsInput struct {
	After string `query:"after" maxLength:"128" doc:"The last sku of the previous page"`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type ListProductsOutput struct {
	Body struct {
		Products []loyalty.Product `json:"products"`
		Next     string            `json:"next,omitempty" doc:"Pass as after for the next page; absent on the last page"`
	}
}

func (s *server) registerListProducts(r routes.Route) {
	o := op(r, "List catalog products in sku order, a page at a time", "catalog")
	huma.Register(s.api, o, func(ctx context.Context, in *ListProductsInput) (*ListProductsOutput, error) {
		limit := in.Limit
		if limit == 0 {
			limit = 100
		}
		ps, err := s.deps.Catalog.ListProducts(ctx, callerOf(ctx), in.After, limit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListProductsOutput{}
		out.Body.Products = append([]loyalty.Product{}, ps...)
		if len(ps) == limit {
			out.Body.Next = ps[len(ps)-1].SKU
		}
		return out, nil
	})
}

// ---- import ----

type ImportCatalogInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"text/csv"`
}

type ImportCatalogOutput struct {
	Body csvio.CatalogReport
}

func (s *server) registerImportCatalog(r routes.Route) {
	o := op(r, "Import products from CSV (sku,name,category,price)", "catalog")
	o.MaxBodyBytes = CatalogImportMaxBytes
	o.Description = "Good rows are written (a sku already in the catalog is replaced), bad rows are reported by line with the reason; a header naming an unknown column refuses the whole file (422). Importing the same file again changes nothing. At most 1 MiB a request.\n\n" + csvio.CatalogHelp
	huma.Register(s.api, o, func(ctx context.Context, in *ImportCatalogInput) (*ImportCatalogOutput, error) {
		if t, _, err := mime.ParseMediaType(in.ContentType); err != nil || t != "text/csv" {
			return nil, newProblem(codeUnsupportedMedia, "send the catalog as text/csv")
		}
		rep, err := csvio.ImportCatalog(ctx, s.deps.Catalog, callerOf(ctx), bytes.NewReader(in.RawBody), nil)
		if err != nil && loyalty.CodeOf(err) == loyalty.CodeInternal && rep.Rows == 0 {
			// The header refused the file: nothing was written.
			return nil, s.problem(ctx, loyalty.Invalid("header", "%v", err))
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &ImportCatalogOutput{rep}, nil
	})
}

// ---- export ----

type ExportCatalogOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *server) registerExportCatalog(r routes.Route) {
	o := op(r, "Export the catalog as CSV (the columns import reads)", "catalog")
	o.Responses = map[string]*huma.Response{"200": {Description: "The catalog as CSV", Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}}}
	huma.Register(s.api, o, func(ctx context.Context, _ *struct{}) (*ExportCatalogOutput, error) {
		var buf bytes.Buffer
		if _, err := csvio.ExportCatalog(ctx, s.deps.Catalog, callerOf(ctx), &buf); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &ExportCatalogOutput{ContentType: "text/csv; charset=utf-8", Body: buf.Bytes()}, nil
	})
}

// bodyLimit is the largest body a request may send.
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && (r.URL.Path == catalogImportPath || r.URL.Path == cardsImportPath) {
		return CatalogImportMaxBytes
	}
	return MaxBodyBytes
}
