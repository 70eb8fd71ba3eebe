# The order service. `make` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

ADDR ?= localhost:8080
FUZZTIME ?= 30s
GO_TEST_FLAGS ?=
IMAGE ?= orders:dev

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the service on localhost:8080, starting a development database if DATABASE_URL is unset
	@set -euo pipefail; \
	url="$${DATABASE_URL:-}"; \
	if [ -z "$$url" ]; then url="$$(go run ./test/devdb up)"; fi; \
	printf '\nOrders is starting on http://%s - try:\n\n' "$(ADDR)"; \
	printf '  curl -si -X POST http://%s/orders -H "Content-Type: application/json" -d '"'"'{"customer_id":"alice","currency":"EUR"}'"'"'\n' "$(ADDR)"; \
	printf '  curl -si -X POST http://%s/orders/<id>/lines -H "Content-Type: application/json" -d '"'"'{"sku":"book","quantity":2,"unit_price_cents":1250}'"'"'\n' "$(ADDR)"; \
	printf '  curl -s http://%s/orders/<id>/events\n\n' "$(ADDR)"; \
	DATABASE_URL="$$url" LISTEN_ADDR="$${LISTEN_ADDR:-$(ADDR)}" go run ./cmd/orders serve --migrate

.PHONY: db-down
db-down: ## Stop the development database started by `make run` (its data is kept)
	go run ./test/devdb down

.PHONY: test
test: ## Run every test with the race detector, on real PostgreSQL (Docker, or local binaries)
	go test -race -count=1 $(GO_TEST_FLAGS) ./...

.PHONY: test-short
test-short: ## Run the tests that need no database
	go test -race -count=1 ./domain/... ./application/... ./api/... ./infrastructure/eventcodec/... ./infrastructure/logging/...

.PHONY: bench
bench: ## Benchmark the write path against raw SQL on a durable PostgreSQL (a few minutes; see docs/benchmarks.md)
	go run ./test/bench $(BENCH_FLAGS)

.PHONY: bench-smoke
bench-smoke: ## The benchmark harness with tiny counts (correctness only; run by CI)
	go run ./test/bench -smoke

.PHONY: soak
soak: ## Long reliability run (minutes): replicas, kill -9, database stops and freezes, hostile input; prints the counts
	SOAK=1 go test -race -count=1 -v -timeout 30m ./test/reliability/

.PHONY: fuzz
fuzz: ## Fuzz the HTTP API and the event decoder, FUZZTIME (30s) each
	go test -run '^$$' -fuzz '^FuzzHTTPRequests$$' -fuzztime $(FUZZTIME) ./infrastructure/httpapi/
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./infrastructure/eventcodec/

.PHONY: generate
generate: ## Regenerate api/ from openapi.yaml
	go generate ./api/...

.PHONY: check-generated
check-generated: generate ## Fail if the committed api/ is stale
	@git diff --exit-code --stat -- api/ || { echo "api/ is stale: run 'make generate' and commit the result"; exit 1; }

.PHONY: lint
lint: ## go vet, and gofmt must have nothing to say
	go vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; [ -z "$$out" ] || { echo "not gofmt-formatted:"; echo "$$out"; exit 1; }

.PHONY: vulncheck
vulncheck: ## Check the code paths for known vulnerabilities (needs https://vuln.go.dev)
	go tool govulncheck ./...

.PHONY: build
build: ## Build bin/orders
	go build -o bin/orders ./cmd/orders

.PHONY: image
image: ## Build the container image $(IMAGE): a static binary built here, FROM scratch (no registry needed)
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o bin/image/orders ./cmd/orders
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
	go run ./cmd/orders migrate up

.PHONY: rename
rename: ## Make this template yours: make rename MODULE=github.com/you/yourservice
	@[ -n "$(MODULE)" ] || { echo "usage: make rename MODULE=github.com/you/yourservice"; exit 1; }
	@old="$$(go list -m)"; \
	go mod edit -module "$(MODULE)"; \
	git ls-files '*.go' '*.yaml' Makefile | xargs sed -i "s#$$old#$(MODULE)#g"; \
	echo "module renamed from $$old to $(MODULE)"; \
	go build ./...
