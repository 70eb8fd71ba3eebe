package eventstore_test

import (
	"testing"

	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
