#!/bin/sh
# A small stand-in for the official postgres image's entrypoint, for machines that
# cannot pull images. It honours POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB and,
# like the official image, starts a socket-only server to create the role and database,
# stops it, and then starts the real server. "database system is ready to accept
# connections" is therefore printed twice, which is what testcontainers' postgres
# module waits for.
set -eu

PGBIN=/usr/lib/postgresql/15/bin
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pwfile=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:-postgres}" >"$pwfile"
	"$PGBIN/initdb" --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
	rm -f "$pwfile"
	printf "host all all all scram-sha-256\n" >>"$PGDATA/pg_hba.conf"
	"$PGBIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start
	if [ "$POSTGRES_DB" != postgres ]; then
		"$PGBIN/psql" -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
			-c "CREATE DATABASE \"$POSTGRES_DB\""
	fi
	"$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop
	echo "PostgreSQL init process complete; ready for start up."
fi

[ "${1:-postgres}" = postgres ] && shift || true
exec "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
