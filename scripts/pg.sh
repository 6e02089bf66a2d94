#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers and holds the databases pollhook
# needs ("pollhook" for the demo and worker, "test" for the test suite).
#
#   1. DATABASE_URL, if set and answering, is used as it is.
#   2. Otherwise 127.0.0.1:5432 (user postgres), if it answers.
#   3. Otherwise a local PostgreSQL cluster that is installed but stopped is
#      started (pg_ctlcluster).
#   4. Otherwise a private cluster is initialised in .pgdata/ (git-ignored)
#      with the system's PostgreSQL binaries, installing Debian's postgresql
#      package first if there are none, and started on 127.0.0.1:5432.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
log() { echo "pg.sh: $*" >&2; }

answers() { command -v psql >/dev/null 2>&1 && psql "$1" -tAc 'SELECT 1' >/dev/null 2>&1; }

# The server's maintenance URL: DATABASE_URL with its database swapped.
admin_url() {
	local url="$1"
	if [[ "$url" =~ ^(postgres(ql)?://[^/]*)/[^?]*(\?.*)?$ ]]; then
		echo "${BASH_REMATCH[1]}/postgres${BASH_REMATCH[3]}"
	else
		echo "$url"
	fi
}

ensure_dbs() {
	local url="$1"
	for db in pollhook test; do
		if [[ "$(psql "$url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
			psql "$url" -qc "CREATE DATABASE $db" >/dev/null 2>&1 || true # a concurrent run may win
			log "created database $db"
		fi
	done
}

wait_ready() {
	for _ in $(seq 1 60); do
		answers "$1" && return 0
		sleep 0.5
	done
	log "PostgreSQL did not answer at $1"
	return 1
}

if [[ -n "${DATABASE_URL:-}" ]] && answers "$(admin_url "$DATABASE_URL")"; then
	ensure_dbs "$(admin_url "$DATABASE_URL")"
	exit 0
fi

install_client() {
	if ! command -v psql >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		log "installing Debian's postgresql package"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq postgresql postgresql-client >/dev/null
	fi
}

if answers "$default_url"; then
	ensure_dbs "$default_url"
	exit 0
fi

install_client

if command -v pg_lsclusters >/dev/null 2>&1 && [[ -n "$(pg_lsclusters -h 2>/dev/null)" ]]; then
	read -r ver cluster _ < <(pg_lsclusters -h | head -n1)
	log "starting installed cluster $ver/$cluster"
	pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start || true
	if wait_ready "$default_url"; then
		ensure_dbs "$default_url"
		exit 0
	fi
fi

bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
data="$root/.pgdata"
run_pg() {
	if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [[ ! -f "$data/PG_VERSION" ]]; then
	log "initialising a private cluster in $data"
	mkdir -p "$data"
	[[ "$(id -u)" == 0 ]] && chown postgres:postgres "$data"
	run_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust >/dev/null
fi
[[ "$(id -u)" == 0 ]] && chown -R postgres:postgres "$data"
log "starting the private cluster on 127.0.0.1:5432"
run_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -o "-c listen_addresses=127.0.0.1 -c max_connections=300 -p 5432 -k /tmp" start >/dev/null
wait_ready "$default_url"
ensure_dbs "$default_url"
