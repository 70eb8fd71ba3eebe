package api

import _ "embed"

// openapi.yaml here is a copy of ../openapi.yaml made by `make generate` (go generate),
// like the rest of this package, so that GET /openapi.yaml serves the contract byte for
// byte. (The spec that oapi-codegen embeds is re-encoded as JSON.)
//
//go:embed openapi.yaml
var specYAML []byte

// SpecYAML returns the OpenAPI document as written.
func SpecYAML() ([]byte, error) { return specYAML, nil }
