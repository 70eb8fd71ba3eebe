#!/usr/bin/env bash
# Smoke test of compose.yaml: start PostgreSQL, the migration and two replicas; place,
# fill and confirm an order through replica 1; read it through replica 2; check the
# health and metrics endpoints of both; tear everything down, volumes
# included, whatever happened.
#
#   deploy/compose-smoke.sh        (make compose-smoke builds the image first)
#
# Environment: IMAGE (orders:dev), POSTGRES_IMAGE (postgres:17-alpine), ORDERS_1_PORT and
# ORDERS_2_PORT (8081, 8082; the next free ports are used when those are taken).
# Needs docker, `docker compose` or docker-compose, and curl. Pulls nothing: the images
# must exist locally.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'compose-smoke: %s\n' "$*"; }
fail() {
	say "FAIL: $*"
	exit 1
}

if docker compose version >/dev/null 2>&1; then
	compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose_cmd=(docker-compose)
else
	fail "neither 'docker compose' nor docker-compose is installed"
fi

export ORDERS_IMAGE="${IMAGE:-orders:dev}"
export POSTGRES_IMAGE="${POSTGRES_IMAGE:-postgres:17-alpine}"
for image in "$ORDERS_IMAGE" "$POSTGRES_IMAGE"; do
	docker image inspect "$image" >/dev/null 2>&1 || fail "image $image is not here (make image; POSTGRES_IMAGE=... for PostgreSQL)"
done

# A port nobody on 127.0.0.1 answers on, starting at $1.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
export ORDERS_1_PORT="${ORDERS_1_PORT:-$(free_port 8081)}"
export ORDERS_2_PORT="${ORDERS_2_PORT:-$(free_port $((ORDERS_1_PORT + 1)))}"
[ "$ORDERS_1_PORT" != "$ORDERS_2_PORT" ] || fail "ORDERS_1_PORT and ORDERS_2_PORT are both $ORDERS_1_PORT"

project="orders-smoke-$$-$RANDOM"
compose() { "${compose_cmd[@]}" -f compose.yaml -p "$project" "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$rc" != 0 ]; then
		say "logs of the failed run:"
		compose logs --no-color --tail 40 2>&1 | sed 's/^/    /' || true
	fi
	say "tearing down $project"
	compose down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1 || say "WARNING: 'down' failed; remove project $project by hand"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh token secret per run, and a staff token signed with it by the image itself.
AUTH_HS256_SECRET="smoke-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AUTH_HS256_SECRET
token="$(docker run --rm -e AUTH_HS256_SECRET "$ORDERS_IMAGE" token --sub compose-smoke --scope orders:staff)" || fail "could not make a token with $ORDERS_IMAGE"

say "${compose_cmd[*]}, project $project, $ORDERS_IMAGE, $POSTGRES_IMAGE, replicas on 127.0.0.1:$ORDERS_1_PORT and 127.0.0.1:$ORDERS_2_PORT"
start=$SECONDS
if ! compose up -d 2>&1 | sed 's/^/    /'; then fail "compose up"; fi
migrated="$(compose ps -q migrate)"
[ "$(docker inspect -f '{{.State.ExitCode}}' "$migrated")" = 0 ] || fail "migrate did not exit 0"
say "up in $((SECONDS - start))s; migrate exited 0"

r1="http://127.0.0.1:$ORDERS_1_PORT"
r2="http://127.0.0.1:$ORDERS_2_PORT"

# req METHOD URL [JSON]: sets status and body.
req() {
	local out
	out="$(curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+--data "$3"} -w '\n%{http_code}' "$2")" || fail "$1 $2: curl failed"
	status="${out##*$'\n'}"
	body="${out%$'\n'*}"
}
expect() { # expect STATUS WHAT
	[ "$status" = "$1" ] || fail "$2: HTTP $status, want $1: $body"
}
json_field() { # json_field NAME: the first "NAME":"value" or "NAME":number of body
	grep -oE '"'"$1"'": ?"?[^",}]*' <<<"$body" | head -1 | sed -E 's/^[^:]*: ?"?//' || true
}

for base in "$r1" "$r2"; do
	for _ in $(seq 60); do
		status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/readyz" || true)"
		[ "$status" = 200 ] && break
		sleep 1
	done
	[ "$status" = 200 ] || fail "$base/readyz did not answer 200 within 60s (last: $status)"
done
say "both replicas ready"

req POST "$r1/orders" '{"customer_id":"alice","currency":"EUR"}'
expect 201 "place an order through replica 1"
id="$(json_field id)"
[ -n "$id" ] || fail "no id in $body"
req POST "$r1/orders/$id/lines" '{"sku":"book","quantity":1,"unit_price_cents":100}'
expect 200 "add a line through replica 1"
req POST "$r1/orders/$id/confirm"
expect 200 "confirm through replica 1"
say "order $id placed, given a line and confirmed through replica 1"

req GET "$r2/orders/$id"
expect 200 "read the order through replica 2"
[ "$(json_field status)" = confirmed ] || fail "replica 2 sees status $(json_field status), want confirmed: $body"
[ "$(json_field total_cents)" = 100 ] || fail "replica 2 sees total_cents $(json_field total_cents), want 100: $body"
[ "$(json_field version)" = 3 ] || fail "replica 2 sees version $(json_field version), want 3: $body"
say "replica 2 reads it: status confirmed, total_cents 100, version 3"

for base in "$r1" "$r2"; do
	req GET "$base/healthz"
	expect 200 "$base/healthz"
done
say "healthz: 200 on both"

# /metrics must be served by both replicas and count the requests made above.
for base in "$r1" "$r2"; do
	req GET "$base/metrics"
	[ "$status" = 200 ] || fail "$base/metrics: status $status, want 200"
	grep -q '^orders_http_requests_total{' <<<"$body" || fail "$base/metrics has no orders_http_requests_total"
done
say "metrics: orders_http_requests_total on both"

# The image's HEALTHCHECK (orders healthcheck) must bring both containers to healthy.
for service in orders-1 orders-2; do
	container="$(compose ps -q "$service")"
	health=""
	for _ in $(seq 45); do
		health="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$container")"
		[ "$health" = healthy ] && break
		sleep 1
	done
	[ "$health" = healthy ] || fail "$service: Docker health is $health, want healthy"
done
say "docker HEALTHCHECK: both replicas healthy"
say "PASS in $((SECONDS - start))s"
