package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/example/orders/api"
)

// problemType is one entry of the problem-type catalogue: a code, its type URI and
// title, always sent together. The catalogue is openapi.yaml's x-problem-types, read
// from the embedded spec, so a new aggregate registers its codes once, in the contract;
// docs/problems/<code>.md explains each (TestProblemCatalogue checks both).
type problemType struct {
	Code   string `json:"code"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
}

var problemTypes = loadProblemTypes()

// loadProblemTypes reads x-problem-types from the embedded spec. A spec without a
// readable catalogue is a build mistake, found when the program starts.
func loadProblemTypes() map[string]problemType {
	doc, err := api.GetSpec()
	if err != nil {
		panic(fmt.Sprintf("httpapi: load the embedded spec: %v", err))
	}
	raw, err := json.Marshal(doc.Extensions["x-problem-types"])
	if err != nil {
		panic(fmt.Sprintf("httpapi: x-problem-types: %v", err))
	}
	var list []problemType
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		panic(fmt.Sprintf("httpapi: openapi.yaml has no readable x-problem-types: %v", err))
	}
	m := make(map[string]problemType, len(list))
	for _, p := range list {
		m[p.Code] = p
	}
	return m
}

// problemTypeOf returns the type URI and title of a code. A code missing from the
// catalogue (a bug TestProblemCatalogue and the contract checks exist to catch) gets
// about:blank and fallbackTitle, as RFC 9457 prescribes for an untyped problem.
func problemTypeOf(code, fallbackTitle string) (typeURI, title string) {
	if p, ok := problemTypes[code]; ok {
		return p.Type, p.Title
	}
	return "about:blank", fallbackTitle
}

// CheckProblems returns an error naming each of errs (an aggregate's domain errors)
// that the transport would not answer with a catalogued problem: a code missing from
// x-problem-types. The composition root runs it when the service starts.
func CheckProblems(errs []error) error {
	var missing []error
	for _, err := range errs {
		p := problemFor(err, "/").body
		if p.Code == nil {
			missing = append(missing, fmt.Errorf("httpapi: %w: answered without a problem code", err))
		} else if _, ok := problemTypes[*p.Code]; !ok {
			missing = append(missing, fmt.Errorf("httpapi: %w: problem code %q is not in openapi.yaml's x-problem-types", err, *p.Code))
		}
	}
	return errors.Join(missing...)
}
