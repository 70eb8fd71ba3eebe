package testsupport

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// ParameterTarget is a request that puts a value into one parameter of an operation.
type ParameterTarget struct {
	Method, Target, Param string
}

// ParameterTargets are, for every operation of the contract, requests that put each of
// values (URL-encoded) into each of its path and query parameters in turn, the other
// path parameters taking valid(path). The fuzz test seeds from it too.
func ParameterTargets(doc *openapi3.T, valid func(path string) string, values []string) []ParameterTarget {
	var out []ParameterTarget
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			var pathParams, queryParams []string
			for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, p := range ps {
					switch p.Value.In {
					case openapi3.ParameterInPath:
						pathParams = append(pathParams, p.Value.Name)
					case openapi3.ParameterInQuery:
						queryParams = append(queryParams, p.Value.Name)
					}
				}
			}
			target := func(param, value string) string {
				t := path
				for _, p := range pathParams {
					v := valid(path)
					if p == param {
						v = value
					}
					t = strings.ReplaceAll(t, "{"+p+"}", v)
				}
				return t
			}
			for _, v := range values {
				for _, p := range pathParams {
					out = append(out, ParameterTarget{Method: method, Target: target(p, v), Param: p})
				}
				for _, q := range queryParams {
					out = append(out, ParameterTarget{Method: method, Target: target("", "") + "?" + q + "=" + v, Param: q})
				}
			}
		}
	}
	return out
}
