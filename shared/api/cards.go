package api

import (
	"bytes"
	"context"
	"mime"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// cardsImportPath takes a body as large as a catalog import (about 50 000
// numbers); a larger pool goes in several files or through the CLI.
const cardsImportPath = "/v1/cards/import"

type ImportCardsInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"text/csv"`
}

type ImportCardsOutput struct {
	Body csvio.CardsReport
}

func (s *server) registerImportCards(r routes.Route) {
	o := op(r, "Import pre-printed card numbers into the tenant's card pool (CSV: number)", "cards")
	o.MaxBodyBytes = CatalogImportMaxBytes
	o.Description = "The pool is used when the current program's `cardNumbers.mode` is `imported`: a card handed out at enrollment (`card`) or on replacement (`number`) must be a pool number, and is bound to the member at that first use, once. Good rows are added, numbers already in the pool are counted as existing and left as they are, bad rows are reported by line; a header naming an unknown column refuses the whole file (422). At most 1 MiB a request.\n\n" + csvio.CardsHelp
	huma.Register(s.api, o, func(ctx context.Context, in *ImportCardsInput) (*ImportCardsOutput, error) {
		if t, _, err := mime.ParseMediaType(in.ContentType); err != nil || t != "text/csv" {
			return nil, newProblem(codeUnsupportedMedia, "send the card numbers as text/csv")
		}
		rep, err := csvio.ImportCards(ctx, s.deps.Cards, callerOf(ctx), bytes.NewReader(in.RawBody), nil)
		if err != nil && loyalty.CodeOf(err) == loyalty.CodeInternal && rep.Rows == 0 {
			return nil, s.problem(ctx, loyalty.Invalid("header", "%v", err))
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &ImportCardsOutput{rep}, nil
	})
}

type ExportCardsOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *server) registerExportCards(r routes.Route) {
	o := op(r, "Export the card pool as CSV (number,memberId,boundAt)", "cards")
	o.Responses = map[string]*huma.Response{"200": {Description: "The card pool as CSV", Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}}}
	huma.Register(s.api, o, func(ctx context.Context, _ *struct{}) (*ExportCardsOutput, error) {
		var buf bytes.Buffer
		if _, err := csvio.ExportCards(ctx, s.deps.Cards, callerOf(ctx), &buf); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &ExportCardsOutput{ContentType: "text/csv; charset=utf-8", Body: buf.Bytes()}, nil
	})
}
