#!/usr/bin/env bash
# Builds a PostgreSQL image from Debian packages, for machines where Docker runs but no
# registry can be reached (so postgres:17-alpine cannot be pulled). The result behaves
# like the official image for what this project uses: POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, port 5432 and the "ready to accept connections" log line.
#
#   .ci/postgres-image/build.sh [image-name]     (default: orders-postgres:15-debian)
#
# Needs root (mmdebstrap is installed with apt-get when missing); takes a few minutes.
set -euo pipefail
image="${1:-orders-postgres:15-debian}"
here="$(cd "$(dirname "$0")" && pwd)"

if docker image inspect "$image" >/dev/null 2>&1; then
	echo "postgres-image: $image is already built"
	exit 0
fi
if ! command -v mmdebstrap >/dev/null; then
	echo "postgres-image: installing mmdebstrap"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
echo "postgres-image: building a bookworm root filesystem with postgresql-15 from $mirror"
mmdebstrap --variant=apt --include=postgresql-15,util-linux \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--customize-hook='rm -rf "$1"/var/lib/postgresql/15 "$1"/var/lib/apt/lists/*' \
	--customize-hook="upload $here/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh" \
	--customize-hook='chmod 755 "$1"/usr/local/bin/docker-entrypoint.sh' \
	bookworm "$work/rootfs.tar" "$mirror"

docker import \
	--change 'ENV LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data' \
	--change 'EXPOSE 5432' \
	--change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
	--change 'CMD ["postgres"]' \
	"$work/rootfs.tar" "$image" >/dev/null
echo "postgres-image: built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
