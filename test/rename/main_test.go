package main

import "testing"

func TestRewrite(t *testing.T) {
	r := renamer{oldModule: "github.com/example/orders", newModule: "github.com/you/shipping", oldName: "orders", newName: "shipping"}
	for _, c := range []struct{ file, in, want string }{
		{"x.go", `import "github.com/example/orders/domain/order"`, `import "github.com/you/shipping/domain/order"`},
		{"x.go", `"github.com/example/orders-x/y"`, `"github.com/example/orders-x/y"`},
		{"go.mod", "module github.com/example/orders\n", "module github.com/you/shipping\n"},
		{"Makefile", "NAME ?= orders\n", "NAME ?= shipping\n"},
		{"README.md", "go build ./cmd/orders and bin/orders serve; POST /orders", "go build ./cmd/shipping and bin/shipping serve; POST /orders"},
		{".ci/run", `POSTGRES_IMAGE="orders-postgres:15-debian"`, `POSTGRES_IMAGE="shipping-postgres:15-debian"`},
		{"README.md", "the volume `orders-devdb-data`", "the volume `shipping-devdb-data`"},
		{"infrastructure/postgres/readiness.go", "run `orders migrate up`", "run `shipping migrate up`"},
		{"domain/order/x.go", "orders verify", "orders verify"},
		{"openapi.yaml", "info:\n  title: Orders\n  version: 1\n", "info:\n  title: Shipping\n  version: 1\n"},
		{"infrastructure/servicename/servicename.go", "const Name = \"orders\"\n", "const Name = \"shipping\"\n"},
		{"cmd/orders/main.go", "// Command orders is\n\tfmt.Fprintln(os.Stderr, \"orders: \")", "// Command shipping is\n\tfmt.Fprintln(os.Stderr, \"shipping: \")"},
		{"x.go", "orders := listOrders()", "orders := listOrders()"},
	} {
		if got := r.rewrite(c.file, c.in); got != c.want {
			t.Errorf("%s: rewrite(%q)\n got %q\nwant %q", c.file, c.in, got, c.want)
		}
	}
}
