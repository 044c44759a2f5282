package apitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/loyalty/cashback/shared/api"
)

// contract is the OpenAPI document as an independent validator reads it:
// the same bytes served at /openapi.json and committed as api/openapi.json
// (the contract tests keep the three equal).
var contract = sync.OnceValues(func() (validator.Validator, error) {
	doc, _, err := api.Document()
	if err != nil {
		return nil, err
	}
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the validator: %v", errs)
	}
	return v, nil
})

var validating sync.Mutex

// ContractErrors validates a response against the document: its status must
// be documented for the operation, its content type declared, its body valid
// against that status's schema (problem codes included: each status lists
// the codes the operation may answer with). Requests to paths the document
// does not describe (tests of unknown routes) return nothing.
func ContractErrors(req *http.Request, resp *http.Response) ([]string, error) {
	v, err := contract()
	if err != nil {
		return nil, err
	}
	validating.Lock() // the validator's caches are not documented as safe for concurrent use
	ok, errs := v.ValidateHttpResponse(req, resp)
	validating.Unlock()
	if ok {
		return nil, nil
	}
	var out []string
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation {
			return nil, nil // not a documented route or method
		}
		out = append(out, describe(e))
	}
	return out, nil
}

// RequestContractErrors validates a request against the document (for
// requests the document itself shows, e.g. its examples).
func RequestContractErrors(req *http.Request) ([]string, error) {
	v, err := contract()
	if err != nil {
		return nil, err
	}
	validating.Lock()
	ok, errs := v.ValidateHttpRequest(req)
	validating.Unlock()
	if ok {
		return nil, nil
	}
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, describe(e))
	}
	return out, nil
}

func describe(e *vErrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	for _, s := range e.SchemaValidationErrors {
		fmt.Fprintf(&b, "; %s at %s", s.Reason, s.FieldPath)
	}
	return b.String()
}

// ContractTransport checks every response passing through it against the
// OpenAPI document and fails the test on a violation, so any HTTP test on it
// also proves the contract true.
type ContractTransport struct {
	T    testing.TB
	Base http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip sends req and validates the response.
func (c ContractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	errs, verr := ContractErrors(req, resp)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if verr != nil {
		c.T.Errorf("contract validator: %v", verr)
	}
	for _, e := range errs {
		c.T.Errorf("%s %s → %d breaks the OpenAPI document: %s\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, e, body)
	}
	return resp, nil
}
