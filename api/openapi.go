// Package apidoc is the committed OpenAPI document, api/openapi.json
// (`make openapi` writes it from the handlers; a test fails when it is
// stale). The functions serve this file as it is rather than generate it:
// generating it needs every operation's handler, which would put all of
// them into the one function serving /openapi.json.
package apidoc

import _ "embed"

// JSON is api/openapi.json.
//
//go:embed openapi.json
var JSON []byte
