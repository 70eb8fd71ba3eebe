package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

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
		// The image, the binary inside it, compose, Kubernetes, metrics, roles, the channel.
		{"Makefile", "IMAGE ?= orders:dev\n", "IMAGE ?= shipping:dev\n"},
		{"Dockerfile.scratch", "COPY orders /orders\nENTRYPOINT [\"/orders\"]\n", "COPY shipping /shipping\nENTRYPOINT [\"/shipping\"]\n"},
		{".gitignore", "/orders\n", "/shipping\n"},
		{"compose.yaml", "  DATABASE_URL: postgres://orders:${POSTGRES_PASSWORD:-orders}@postgres:5432/orders?sslmode=disable\n", "  DATABASE_URL: postgres://shipping:${POSTGRES_PASSWORD:-shipping}@postgres:5432/shipping?sslmode=disable\n"},
		{"compose.yaml", "  image: ${ORDERS_IMAGE:-orders:dev}\n  orders-1:\n    <<: *orders\n      POSTGRES_DB: orders\n", "  image: ${SHIPPING_IMAGE:-shipping:dev}\n  shipping-1:\n    <<: *shipping\n      POSTGRES_DB: shipping\n"},
		{"deploy/compose-smoke.sh", "grep -q '^orders_http_requests_total{' && curl $r1/orders --scope orders:staff\n", "grep -q '^shipping_http_requests_total{' && curl $r1/orders --scope orders:staff\n"},
		{"deploy/kubernetes/base/deployment.yaml", "  name: orders\n    app.kubernetes.io/name: orders\n                name: orders-config\n", "  name: shipping\n    app.kubernetes.io/name: shipping\n                name: shipping-config\n"},
		{"deploy/kubernetes/overlays/prod/kustomization.yaml", "namespace: orders\n    newName: registry.example.com/orders\n", "namespace: shipping\n    newName: registry.example.com/shipping\n"},
		{"deploy/kubernetes/overlays/prod/prometheusrule.yaml", "expr: up{job=\"orders\"} == 0\n# hot orders at /orders\n", "expr: up{job=\"shipping\"} == 0\n# hot shipping at /orders\n"},
		{"README.md", "CREATE ROLE orders_app; NOTIFY orders_events; `orders_commands_total`; AUTH_AUDIENCE=orders", "CREATE ROLE shipping_app; NOTIFY shipping_events; `shipping_commands_total`; AUTH_AUDIENCE=shipping"},
		{"docs/deploy.md", "one static binary (`orders`); the orders service; `ORDERS_1_PORT`", "one static binary (`shipping`); the shipping service; `SHIPPING_1_PORT`"},
		{"docs/deploy.md", "docker run -d --name orders -p 8080", "docker run -d --name shipping -p 8080"},
		{"infrastructure/httpapi/security.go", `routeKey = "orders.route"`, `routeKey = "shipping.route"`},
		{"README.md", "# Orders: event sourcing\n", "# Shipping: event sourcing\n"},
		{"deploy/grafana/orders-dashboard.json", `"title": "Orders",`, `"title": "Shipping",`},
		{"test/lab/kubernetes/manifests_test.go", `os.ReadFile("../grafana/orders-dashboard.json")`, `os.ReadFile("../grafana/shipping-dashboard.json")`},
		{"docs/deploy.md", "make image IMAGE=registry.example.com/orders:1.4.2\n", "make image IMAGE=registry.example.com/shipping:1.4.2\n"},
		{"docs/x.md", "see https://api.example.com/orders and github.com/acme/orders-client", "see https://api.example.com/orders and github.com/acme/orders-client"},
		// The domain's words stay.
		{"README.md", "GET /orders/{id} with orders:staff; orders_placed; its own orders", "GET /orders/{id} with orders:staff; orders_placed; its own orders"},
		{"test/lab/bench/x.go", "Orders int `json:\"orders\"`", "Orders int `json:\"orders\"`"},
		{"application/x.go", "orders: orders,", "orders: orders,"},
		// History stays.
		{"CHANGELOG.md", "`orders verify` and orders_app", "`orders verify` and orders_app"},
		{"docs/benchmarks.md", "`go build ./cmd/orders`\n<!-- rename: keep -->\n- Service: ./cmd/orders\n<!-- rename: end keep -->\nbin/orders\n", "`go build ./cmd/shipping`\n<!-- rename: keep -->\n- Service: ./cmd/orders\n<!-- rename: end keep -->\nbin/shipping\n"},
	} {
		if got := r.rewrite(c.file, c.in); got != c.want {
			t.Errorf("%s: rewrite(%q)\n got %q\nwant %q", c.file, c.in, got, c.want)
		}
	}
}

func TestLeftovers(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	files := map[string]string{
		"compose.yaml":       "services:\n  shipping-1:\n    image: orders:dev\n",
		"README.md":          "POST /orders with orders:staff\nthe orders service\n",
		"CHANGELOG.md":       "the orders service\n",
		"deploy/x.yaml":      "# hot streams\n  name: orders\n",
		"application/x.go":   "// a customer's orders\nvar orders = 1\n",
		"docs/benchmarks.md": "<!-- rename: keep -->\n./cmd/orders\n<!-- rename: end keep -->\n",
	}
	var names []string
	for f, s := range files {
		if err := os.MkdirAll(filepath.Dir(f), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, f)
	}
	sort.Strings(names)
	got, err := renamer{oldModule: "github.com/example/orders", oldName: "orders"}.leftovers(names)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"README.md:2: the orders service", "compose.yaml:3: image: orders:dev", "deploy/x.yaml:2: name: orders"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("leftovers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
