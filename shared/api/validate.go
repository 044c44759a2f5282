package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Input checks huma's request validation does not make. Bad input gets a 4xx
// problem and reaches no handler, so it changes nothing; and what the OpenAPI
// document refuses, the API refuses too:
//
//   - a JSON body must be valid UTF-8 without unpaired surrogate escapes
//     (encoding/json would store U+FFFD in their place);
//   - an object must not repeat a key at any depth (encoding/json keeps the
//     last one silently, while the body hashed for idempotency says both);
//   - an explicit null is refused where the schema does not allow null
//     (huma skips a null optional property, encoding/json reads it as absent);
//   - a query parameter sent empty is validated against its schema (huma
//     reads `?month=` as no month at all).

func init() {
	// The document's property names are exact (additionalProperties: false);
	// huma would otherwise match them case-insensitively, and encoding/json
	// with it, accepting `{"Total": 1}` the schema refuses.
	huma.ValidateStrictCasing = true
}

// checkInput is the middleware making the checks above, after authentication
// (an unauthenticated caller learns nothing about its body).
func (s *server) checkInput(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	reg := s.api.OpenAPI().Components.Schemas
	if p := emptyQueryProblem(ctx, op, reg); p != nil {
		s.writeErr(ctx, p)
		return
	}
	schema := jsonBodySchema(op, ctx.Header("Content-Type"))
	if schema == nil {
		next(ctx)
		return
	}
	if op.BodyReadTimeout > 0 {
		// What huma does before it reads a body (the reading moved here).
		_ = ctx.SetReadDeadline(time.Now().Add(op.BodyReadTimeout))
	}
	body, err := io.ReadAll(ctx.BodyReader())
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeErr(ctx, newProblem(codeBodyTooLarge, "request body too large"))
			return
		}
		s.writeErr(ctx, newProblem(loyalty.CodeInvalidRequest, "could not read the request body"))
		return
	}
	if p := bodyProblem(body, schema, reg); p != nil {
		s.writeErr(ctx, p)
		return
	}
	next(&bodyContext{humaContext: ctx, body: bytes.NewReader(body)})
}

// bodyContext hands the handler the body the middleware has read. (The
// alias lets it embed huma.Context, whose method Context would clash with a
// field of that name.)
type bodyContext struct {
	humaContext
	body io.Reader
}

type humaContext = huma.Context

func (c *bodyContext) BodyReader() io.Reader { return c.body }

// SetReadDeadline does nothing: the body is read. A deadline set now on the
// connection (huma sets one before it reads a body) would end net/http's
// background read of it, which cancels the request's context mid-handler.
func (c *bodyContext) SetReadDeadline(time.Time) error { return nil }

// jsonBodySchema is the schema of an operation's JSON request body, nil when
// it takes none or the request declares another type (refused by huma).
func jsonBodySchema(op *huma.Operation, contentType string) *huma.Schema {
	if op.RequestBody == nil {
		return nil
	}
	mt, ok := op.RequestBody.Content["application/json"]
	if !ok || mt.Schema == nil {
		return nil
	}
	if contentType != "" {
		t, _, err := mime.ParseMediaType(contentType)
		if err != nil || t != "application/json" && !strings.HasSuffix(t, "+json") {
			return nil
		}
	}
	return mt.Schema
}

// emptyQueryProblem validates the query parameters sent with an empty value,
// which huma takes as not sent, against their schemas.
func emptyQueryProblem(ctx huma.Context, op *huma.Operation, reg huma.Registry) *Problem {
	var query map[string][]string
	res := &huma.ValidateResult{}
	for _, p := range op.Parameters {
		if p.In != "query" || p.Schema == nil {
			continue
		}
		if query == nil {
			u := ctx.URL()
			query = u.Query()
		}
		if v, sent := query[p.Name]; !sent || v[0] != "" {
			continue
		}
		pb := huma.NewPathBuffer([]byte{}, 0)
		pb.Push("query")
		pb.Push(p.Name)
		huma.Validate(reg, p.Schema, pb, huma.ModeWriteToServer, "", res)
	}
	if len(res.Errors) == 0 {
		return nil
	}
	return newHumaError(http.StatusUnprocessableEntity, "validation failed", res.Errors...).(*Problem)
}

// bodyProblem checks a JSON body: 400 for text that is not UTF-8 or repeats
// a key, 422 for nulls the schema refuses (with every other schema error of
// the body, so the problem is what huma would have said plus the nulls).
// Syntax errors are left to huma, which reports them.
func bodyProblem(body []byte, schema *huma.Schema, reg huma.Registry) *Problem {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !utf8.Valid(body) {
		return malformed("body", "request body is not valid UTF-8")
	}
	if !json.Valid(body) {
		return nil
	}
	if unpairedSurrogate(body) {
		return malformed("body", "request body has a \\u escape of an unpaired UTF-16 surrogate, which is no character")
	}
	nulls, dup := walkJSON(body, schema, reg)
	if dup != "" {
		return malformed(dup, "duplicate key")
	}
	if len(nulls) == 0 {
		return nil
	}
	res := &huma.ValidateResult{}
	var parsed any
	if json.Unmarshal(body, &parsed) == nil {
		pb := huma.NewPathBuffer([]byte{}, 0)
		pb.Push("body")
		huma.Validate(reg, schema, pb, huma.ModeWriteToServer, parsed, res)
	}
	errs := make([]error, 0, len(nulls)+len(res.Errors))
	seen := map[string]bool{}
	for _, n := range nulls {
		errs = append(errs, n)
		seen[n.Location] = true
	}
	for _, e := range res.Errors {
		if d, ok := e.(*huma.ErrorDetail); !ok || !seen[d.Location] {
			errs = append(errs, e) // huma's word on a required null is already said
		}
	}
	return newHumaError(http.StatusUnprocessableEntity, "validation failed", errs...).(*Problem)
}

// malformed is a 400 invalid_request at a location of the body.
func malformed(location, msg string) *Problem {
	return newHumaError(http.StatusBadRequest, msg, &huma.ErrorDetail{Location: location, Message: msg}).(*Problem)
}

// unpairedSurrogate reports a \uD800-\uDFFF escape in a string of a valid
// JSON text that is not half of a high-low pair.
func unpairedSurrogate(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			in = !in
		case in && c == '\\':
			if b[i+1] != 'u' {
				i++ // a one-character escape, \" included
				continue
			}
			r := hex4(b[i+2 : i+6])
			switch {
			case r >= 0xD800 && r < 0xDC00:
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return true
				}
				if lo := hex4(b[i+8 : i+12]); lo < 0xDC00 || lo >= 0xE000 {
					return true
				}
				i += 11
			case r >= 0xDC00 && r < 0xE000:
				return true
			default:
				i += 5
			}
		}
	}
	return false
}

// hex4 reads four hex digits (a valid JSON text has them after \u).
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 32)
	return rune(n)
}

// walkJSON walks a valid JSON text along its schema: it returns the first
// repeated key (its location) or else every null the schema does not allow.
// Keys are compared as decoded, so "\u0061" repeats "a". Where the schema
// says nothing (an unknown property), nulls are left to huma's validation.
func walkJSON(body []byte, root *huma.Schema, reg huma.Registry) (nulls []*huma.ErrorDetail, dup string) {
	type frame struct {
		object  bool
		schema  *huma.Schema // of the container, resolved; nil: unknown
		keys    map[string]bool
		key     string // object: the key read
		haveKey bool   // object: its value comes next
		index   int    // array: index of the next element
		at      string // location of the container
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nulls, "" // io.EOF: the end of a text json.Valid accepted
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		// tok is a key, or a value: find the value's schema and location.
		schema, at := root, "body"
		if len(stack) > 0 {
			f := stack[len(stack)-1]
			switch {
			case f.object && !f.haveKey:
				k := tok.(string)
				if f.keys[k] {
					return nil, f.at + "." + k
				}
				f.keys[k], f.key, f.haveKey = true, k, true
				continue
			case f.object:
				f.haveKey = false
				at, schema = f.at+"."+f.key, propertySchema(f.schema, f.key)
			default:
				at, schema = f.at+"["+strconv.Itoa(f.index)+"]", nil
				f.index++
				if f.schema != nil {
					schema = f.schema.Items
				}
			}
		}
		switch tok := tok.(type) {
		case nil:
			if schema != nil && !allowsNull(schema, reg) {
				nulls = append(nulls, &huma.ErrorDetail{Location: at, Message: "expected " + typeName(resolve(schema, reg)) + ", not null"})
			}
		case json.Delim:
			stack = append(stack, &frame{object: tok == '{', schema: resolve(schema, reg), keys: map[string]bool{}, at: at})
		}
	}
}

// resolve follows a schema's $ref.
func resolve(s *huma.Schema, reg huma.Registry) *huma.Schema {
	for s != nil && s.Ref != "" {
		s = reg.SchemaFromRef(s.Ref)
	}
	return s
}

// propertySchema is the schema of an object's property k: a declared one,
// or the schema of every value of a map; nil when the schema does not say.
func propertySchema(obj *huma.Schema, k string) *huma.Schema {
	if obj == nil {
		return nil
	}
	if p, ok := obj.Properties[k]; ok {
		return p
	}
	if p, ok := obj.AdditionalProperties.(*huma.Schema); ok {
		return p
	}
	return nil
}

// allowsNull says whether a schema takes null: nullable (where it refers to
// another or in the one it refers to), untyped, or a combination with a
// branch that takes it.
func allowsNull(s *huma.Schema, reg huma.Registry) bool {
	if s.Nullable {
		return true
	}
	if s = resolve(s, reg); s == nil || s.Nullable || s.Type == "null" {
		return true
	}
	for _, sub := range append(append([]*huma.Schema{}, s.OneOf...), s.AnyOf...) {
		if allowsNull(sub, reg) {
			return true
		}
	}
	if s.Type != "" || len(s.OneOf)+len(s.AnyOf) > 0 {
		return false
	}
	for _, sub := range s.AllOf {
		if !allowsNull(sub, reg) {
			return false
		}
	}
	return true // no type at all: any value
}

func typeName(s *huma.Schema) string {
	if s.Type == "" {
		return "a value"
	}
	return s.Type
}

// fieldCodes gives a validation error of these body fields (missing, null,
// of the wrong type) the code the contract names for them instead of
// validation_failed: enrollment without consent is 422 consent_required,
// whatever shape the missing consent takes.
var fieldCodes = map[string]loyalty.Code{
	"consent": loyalty.CodeConsentRequired,
}

// fieldCode returns the field a validation error is about and its code, if
// the field has one.
func fieldCode(d *ErrorDetail) (string, loyalty.Code, bool) {
	for field, code := range fieldCodes {
		if d.Location == "body."+field || strings.HasPrefix(d.Location, "body."+field+".") ||
			d.Location == "body" && d.Message == huma.ErrorFormatter(validation.MsgExpectedRequiredProperty, field) {
			return field, code, true
		}
	}
	return "", "", false
}
