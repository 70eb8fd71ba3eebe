// Package apiclient is the client oapi-codegen generates from ../../openapi.yaml, as a
// client team would generate it: models and client only, nothing hand-written (but a
// test that its enum constants keep their type-prefixed names). The
// e2e suite uses it to prove the contract is enough to drive the service
// (TestGeneratedClient). `make generate` regenerates it; `make check-generated` fails
// when it is stale.
package apiclient

// oapi-codegen is a tool of the lab's module (test/lab/go.mod), not of the service's.
//go:generate sh -c "$(go -C ../lab tool -n oapi-codegen) -config oapi-codegen.yaml ../../openapi.yaml"
