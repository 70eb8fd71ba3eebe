// Package servicename holds the service's name, in one place: the binary's usage text,
// the development database (its name and its container's), the test databases'
// template and the metrics' prefix (infrastructure/metrics) all derive from it.
// `make rename` changes it together with the module path and cmd/<name>.
package servicename

// Name is the service's name: lower case, a valid Go package, SQL and Docker name.
const Name = "orders"
