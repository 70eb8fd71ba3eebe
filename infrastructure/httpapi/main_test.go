package httpapi_test

import (
	"testing"

	"github.com/example/orders/test/pgtest"
)

// The tests of this package run the handler over a real database (test/pgtest), which
// pgtest.Main stops when they end.
func TestMain(m *testing.M) { pgtest.Main(m) }
