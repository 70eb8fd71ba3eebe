package httproute_test

import (
	"strings"
	"testing"

	"github.com/example/orders/infrastructure/httproute"
)

// A method outside HTTP's own folds into one value, whatever its case or length:
// method names are case-sensitive (RFC 9110 §9.1), so "get" is not GET.
func TestMethodIsBounded(t *testing.T) {
	for m, want := range map[string]string{
		"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE",
		"OPTIONS": "OPTIONS", "CONNECT": "CONNECT", "TRACE": "TRACE",
		"get": httproute.OtherMethod, "PROPFIND": httproute.OtherMethod, "": httproute.OtherMethod,
		strings.Repeat("X", 1024): httproute.OtherMethod,
	} {
		if got := httproute.Method(m); got != want {
			t.Errorf("Method(%.20q) = %q, want %q", m, got, want)
		}
	}
}
