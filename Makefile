# The order service. `make` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

# The service's name; `make rename` changes it here and in infrastructure/servicename.
NAME ?= orders
BIN := bin/$(NAME)
# IPv4 loopback, stated as such: "localhost" may resolve to ::1 first elsewhere.
ADDR ?= 127.0.0.1:8080
FUZZTIME ?= 30s
GO_TEST_FLAGS ?=
IMAGE ?= orders:dev
# The lab (test/lab) is a Go module of its own beside the service's: the benchmark, the
# development database, rename, the Kubernetes manifests' tests, and the tools
# golangci-lint, govulncheck and oapi-codegen, so that go.mod lists only what the
# service and its tests need. Its programs are built into bin/lab/ and run from here.
LAB := bin/lab
lab-build = go -C test/lab build -o "$(CURDIR)/$(LAB)/$(notdir $(1))" $(1)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the service on 127.0.0.1:8080 (ADDR=host:port or LISTEN_ADDR to change), starting a development database if DATABASE_URL is unset; prints tokens
	@set -euo pipefail; \
	go build -o $(BIN) ./cmd/$(NAME); \
	$(call lab-build,./devdb); \
	url="$${DATABASE_URL:-}"; migrate_url="$${MIGRATE_DATABASE_URL:-}"; devdb=""; \
	if [ -z "$$url" ]; then migrate_url="$$($(LAB)/devdb up)"; url="$$($(LAB)/devdb app-url)"; devdb=1; \
	elif [ -z "$$migrate_url" ] && owner="$$($(LAB)/devdb url 2>/dev/null)" && [ "$$url" = "$$($(LAB)/devdb app-url 2>/dev/null)" ]; then \
		migrate_url="$$owner"; devdb=1; \
	fi; \
	secret="$${AUTH_HS256_SECRET:-}"; \
	if [ -z "$$secret$${AUTH_JWKS_URL:-}$${AUTH_PUBLIC_KEY_FILE:-}" ] && [ "$${AUTH_MODE:-}" != none ]; then \
		mkdir -p .devdb; \
		[ -s .devdb/auth-hs256-secret ] || (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n=/+' > .devdb/auth-hs256-secret); \
		secret="$$(cat .devdb/auth-hs256-secret)"; \
	fi; \
	kek="$${PII_KEK:-}"; \
	if [ -z "$$kek$${PII_KEK_FILE:-}" ]; then \
		mkdir -p .devdb; \
		[ -s .devdb/pii-kek ] || (umask 077; $(BIN) keys new > .devdb/pii-kek); \
		kek="$$(cat .devdb/pii-kek)"; \
	fi; \
	addr="$${LISTEN_ADDR:-$(ADDR)}"; \
	printf '\n$(NAME) is starting on http://%s\n\n' "$$addr"; \
	if [ -n "$$secret" ]; then \
		printf 'Development tokens (HS256, secret in .devdb/auth-hs256-secret or $$AUTH_HS256_SECRET; valid 24h):\n\n'; \
		printf '  export TOKEN=%s   # customer alice\n' "$$(AUTH_HS256_SECRET="$$secret" $(BIN) token --sub alice --ttl 24h)"; \
		printf '  export STAFF_TOKEN=%s   # staff: orders:staff events:read\n' "$$(AUTH_HS256_SECRET="$$secret" $(BIN) token --sub staff --scope 'orders:staff events:read' --ttl 24h)"; \
		if [ -n "$$devdb" ]; then printf "  export DATABASE_URL='%s'   # the development database, for $(BIN) consumers status, verify, ...\n" "$$url"; fi; \
		printf '\n'; \
		printf 'The staff console: http://%s/console (paste $$STAFF_TOKEN, or $$TOKEN to see what alice sees)\n\n' "$$addr"; \
		printf 'More: AUTH_HS256_SECRET=$$(cat .devdb/auth-hs256-secret) $(BIN) token --sub bob\n\nThen try:\n\n'; \
	fi; \
	printf '  curl -si -X POST http://%s/orders -H "Authorization: Bearer $$TOKEN" -H "Content-Type: application/json" -d '"'"'{"currency":"EUR"}'"'"'\n' "$$addr"; \
	printf '  curl -si -X POST http://%s/orders/<id>/lines -H "Authorization: Bearer $$TOKEN" -H "Content-Type: application/json" -d '"'"'{"sku":"book","quantity":2,"unit_price_cents":1250}'"'"'\n' "$$addr"; \
	printf '  curl -s http://%s/orders/<id>/events -H "Authorization: Bearer $$TOKEN"\n\n' "$$addr"; \
	if [ -n "$$devdb" ]; then \
		printf 'Ctrl-C stops the service; the development database keeps running, with its data, until "make db-down".\n\n'; \
	else printf 'Ctrl-C stops the service.\n\n'; fi; \
	AUTH_HS256_SECRET="$$secret" PII_KEK="$$kek" DATABASE_URL="$$url" MIGRATE_DATABASE_URL="$$migrate_url" LISTEN_ADDR="$$addr" exec $(BIN) serve --migrate

.PHONY: db-down
db-down: ## Stop the development database started by `make run` (its data is kept)
	$(call lab-build,./devdb)
	$(LAB)/devdb down

.PHONY: test
test: ## Run every test, the service's and the lab's (test/lab), with the race detector, on real PostgreSQL (Docker, or local binaries)
	@# One line on where PostgreSQL comes from, chosen as each test package will choose
	@# (pgtest.Where); -race shares the build with the tests.
	@go run -race ./test/pgtest/cmd/where test || { echo "test: see above; 'make test-short' runs the tests that need no database"; exit 1; }
	@# The console's browser tests (test/lab/console) need Chromium; they skip without it
	@# (but fail in CI, CI=true), and this says so once.
	@[ -n "$${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || \
		echo "test: no Chromium, so the console's browser tests (test/lab/console) are skipped; apt-get install chromium runs them"
	go test -race -count=1 $(GO_TEST_FLAGS) ./...
	go -C test/lab test -race -count=1 $(GO_TEST_FLAGS) ./...

.PHONY: console-screenshots
console-screenshots: ## Regenerate the console's screenshot in docs/ (console-order.png) with its browser test (needs Chromium)
	CONSOLE_SCREENSHOTS="$(CURDIR)/docs" go -C test/lab test -count=1 -run '^TestStaffFollowsAnOrder$$' ./console/

.PHONY: test-short
test-short: ## Run the tests that need no database
	go test -race -count=1 ./domain/... ./application/... ./api/... ./infrastructure/eventcodec/... ./infrastructure/logging/...

.PHONY: bench
bench: ## Benchmark the write path against raw SQL on a durable PostgreSQL (a few minutes; BENCH_FLAGS; see docs/benchmarks.md)
	$(call lab-build,./bench)
	$(LAB)/bench $(BENCH_FLAGS)

.PHONY: bench-smoke
bench-smoke: ## The benchmark harness with tiny counts (correctness only; run by CI)
	$(call lab-build,./bench)
	$(LAB)/bench -smoke

.PHONY: soak
soak: ## Long reliability run (minutes): replicas, kill -9, database stops and freezes, hostile input; prints the counts
	SOAK=1 go test -race -count=1 -v -timeout 30m ./test/reliability/

.PHONY: fuzz
fuzz: ## Fuzz the HTTP API and the event decoder, FUZZTIME (30s) each
	go test -run '^$$' -fuzz '^FuzzHTTPRequests$$' -fuzztime $(FUZZTIME) ./cmd/orders/
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./infrastructure/eventcodec/

.PHONY: mutation
mutation: ## Mutation-test one package, PKG=./infrastructure/postgres/eventstore/ (gremlins, on real PostgreSQL; minutes; MUTATION_FLAGS=-min 90)
	@[ -n "$(PKG)" ] || { echo "mutation: set PKG, e.g. make mutation PKG=./infrastructure/postgres/eventstore/"; exit 2; }
	$(call lab-build,./mutation)
	$(LAB)/mutation -pkg $(PKG) $(MUTATION_FLAGS)

.PHONY: generate
generate: ## Regenerate api/ and the test client test/apiclient/ from openapi.yaml (oapi-codegen: the lab's tool)
	go generate ./api/... ./test/apiclient/...

.PHONY: check-generated
check-generated: generate ## Fail if the committed api/ or test/apiclient/ is stale
	@git diff --exit-code --stat -- api/ test/apiclient/ || { echo "generated code is stale: run 'make generate' and commit the result"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- api/ test/apiclient/)" || { echo "generated files are not committed"; exit 1; }

.PHONY: lint
lint: ## golangci-lint (.golangci.yml: vet, staticcheck, gosec, errcheck, gofmt, ...) on the service, then the lab; the first run takes minutes, then it is cached
	$(call lab-build,github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
	$(LAB)/golangci-lint run ./...
	cd test/lab && ../../$(LAB)/golangci-lint run ./...

.PHONY: vulncheck
vulncheck: ## Check the service's code paths for known vulnerabilities (needs https://vuln.go.dev)
	$(call lab-build,golang.org/x/vuln/cmd/govulncheck)
	$(LAB)/govulncheck ./...

.PHONY: build
build: ## Build the binary into bin/, named after the service (NAME)
	go build -o $(BIN) ./cmd/$(NAME)

.PHONY: image
image: ## Build the container image $(IMAGE): a static binary built here and the CA roots, FROM scratch (no registry needed)
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o bin/image/$(NAME) ./cmd/$(NAME)
	@# The build machine's CA roots, for an https JWKS or OTLP endpoint (Debian, Fedora, Alpine, macOS paths).
	@for f in $${CA_BUNDLE:-} /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do \
		if [ -s "$$f" ]; then cp "$$f" bin/image/ca-certificates.crt; exit 0; fi; \
	done; echo "image: no CA bundle found (install ca-certificates, or set CA_BUNDLE=/path/to/bundle.pem)"; exit 1
	docker build -q -f Dockerfile.scratch -t $(IMAGE) bin/image
	@docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' $(IMAGE)

.PHONY: image-docker
image-docker: ## Build $(IMAGE) from Dockerfile entirely in Docker (pulls golang and distroless images)
	docker build -t $(IMAGE) .

.PHONY: compose-smoke
compose-smoke: image ## Start compose.yaml (PostgreSQL, migrate, two replicas), place and read an order across them, tear down
	IMAGE=$(IMAGE) deploy/compose-smoke.sh

.PHONY: migrate
migrate: ## Apply migrations to DATABASE_URL
	go run ./cmd/$(NAME) migrate up

.PHONY: rename
rename: ## Make this template yours: make rename MODULE=github.com/you/shipping [NAME=shipping]
	@[ -n "$(MODULE)" ] || { echo "usage: make rename MODULE=github.com/you/yourservice [NAME=yourservice]"; exit 1; }
	$(call lab-build,./rename)
	$(LAB)/rename -module "$(MODULE)" $(if $(filter command line,$(origin NAME)),-name "$(NAME)")

.PHONY: rename-check
rename-check: ## Rename a scratch copy (MODULE=github.com/you/shipping), look for leftovers of the old name, run make test there (minutes)
	.ci/rename-check

# example: shipment begin
.PHONY: remove-example
remove-example: ## Remove the example aggregate Shipment and the fulfilment process manager (files, registrations, API, docs, and these targets); adds the migration that drops its table
	$(call lab-build,./removeexample)
	$(LAB)/removeexample

.PHONY: remove-example-check
remove-example-check: ## Remove the example in a scratch copy, look for leftovers, then generate, lint and make test there (minutes)
	.ci/remove-example-check
# example: shipment end
