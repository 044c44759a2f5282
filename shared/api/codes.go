package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
)

// commonCodes are the codes an operation has by its shape: every operation
// may fail inside (500) or meet an oversized body (refused before routing);
// one with inputs may be malformed or invalid; one with a key may be refused
// it; a write may hit the plan's limits or lose a race; one taking an
// Idempotency-Key may see it reused with another body, or miss it.
func commonCodes(o *huma.Operation) []loyalty.Code {
	codes := []loyalty.Code{loyalty.CodeInternal, codeBodyTooLarge}
	if len(o.Parameters) > 0 || o.RequestBody != nil {
		codes = append(codes, loyalty.CodeInvalidRequest, loyalty.CodeValidationFailed)
	}
	if o.RequestBody != nil {
		codes = append(codes, codeUnsupportedMedia)
	}
	if len(o.Security) > 0 {
		codes = append(codes, loyalty.CodeUnauthorized, loyalty.CodeForbidden)
	}
	if o.Method != http.MethodGet && o.OperationID != "healthz" {
		// A transaction the store throttles answers 503: retry later.
		codes = append(codes, loyalty.CodePlanLimit, loyalty.CodeConflict, loyalty.CodeUnavailable)
	}
	for _, p := range o.Parameters {
		if p.In == "header" && p.Name == "Idempotency-Key" {
			codes = append(codes, loyalty.CodeIdempotencyKeyReused)
			if p.Required {
				codes = append(codes, loyalty.CodeIdempotencyKeyNeeded)
			}
		}
	}
	return codes
}

// CodesOf returns every problem code an operation may answer with, sorted.
func CodesOf(o *huma.Operation) []string {
	set := map[string]bool{}
	spec, _ := specOf(o.OperationID)
	for _, c := range append(commonCodes(o), spec.codes...) {
		set[string(c)] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// documentErrors replaces huma's catch-all error response of every operation
// with one response per status it may answer, each restricting `code` to
// that status's codes, and lists the codes as `x-error-codes`.
func documentErrors(doc *huma.OpenAPI) {
	eachOperation(doc, func(o *huma.Operation) {
		if _, known := specOf(o.OperationID); !known {
			panic("api: no error codes listed for operation " + o.OperationID)
		}
		codes := CodesOf(o)
		byStatus := map[int][]any{}
		for _, c := range codes {
			st := statusOf[loyalty.Code(c)]
			byStatus[st] = append(byStatus[st], c)
		}
		delete(o.Responses, "default")
		for st, cs := range byStatus {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = fmt.Sprintf("`%s`", c)
			}
			resp := &huma.Response{
				Description: http.StatusText(st) + ": " + strings.Join(names, ", "),
				Content: map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{
					AllOf: []*huma.Schema{
						{Ref: "#/components/schemas/Problem"},
						{Type: huma.TypeObject, Properties: map[string]*huma.Schema{"code": {Type: huma.TypeString, Enum: cs}}},
					},
				}}},
			}
			if st == http.StatusServiceUnavailable && o.OperationID != "healthz" {
				// A write the store throttled (loyalty.ErrUnavailable).
				one := 1.0
				resp.Headers = map[string]*huma.Param{"Retry-After": {
					Description: "Seconds to wait before retrying with the same Idempotency-Key",
					Schema:      &huma.Schema{Type: huma.TypeInteger, Minimum: &one},
				}}
			}
			if st == http.StatusTooManyRequests {
				// Problem.GetHeaders sends it with every refusal by a rate limit.
				one := 1.0
				resp.Headers = map[string]*huma.Param{"Retry-After": {
					Description: "Seconds until the limit named in `limit` admits the request again, if nothing else is counted meanwhile",
					Required:    true,
					Schema:      &huma.Schema{Type: huma.TypeInteger, Minimum: &one},
				}}
			}
			o.Responses[strconv.Itoa(st)] = resp
		}
		if o.Extensions == nil {
			o.Extensions = map[string]any{}
		}
		o.Extensions["x-error-codes"] = codes
	})
}

// eachOperation calls f with every operation of the document.
func eachOperation(doc *huma.OpenAPI, f func(*huma.Operation)) {
	for _, item := range doc.Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if o != nil {
				f(o)
			}
		}
	}
}

// dropRawBodyType removes the application/octet-stream request body huma
// documents for operations that also keep their raw body (to hash it for
// idempotency): JSON is the only body the API takes.
func dropRawBodyType(doc *huma.OpenAPI) {
	eachOperation(doc, func(o *huma.Operation) {
		if o.RequestBody != nil {
			delete(o.RequestBody.Content, "application/octet-stream")
		}
	})
}
