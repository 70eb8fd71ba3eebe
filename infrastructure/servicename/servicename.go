// Package servicename holds the service's name, in one place: the binary's usage text,
// the development database (its name and its container's), the test databases'
// template, the metrics' prefix (infrastructure/metrics) and the NOTIFY channel
// (infrastructure/postgres/feed) all derive from it.
// `make rename` changes it together with the module path and cmd/<name>.
package servicename

import (
	"reflect"
	"strings"
)

// Name is the service's name: lower case, a valid Go package, SQL and Docker name.
const Name = "orders"

type anchor struct{}

// ModulePath is the module's path (go.mod's module line), derived from this package's
// import path so that it follows `make rename`; e.g. the benchmark recognises the
// service's own frames in a CPU profile by it.
var ModulePath = strings.TrimSuffix(reflect.TypeOf(anchor{}).PkgPath(), "/infrastructure/servicename")
