#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers and holds the databases pollhook
# needs: "pollhook" for the demo and worker, "test" for the test suite, and
# whichever databases DATABASE_URL and TEST_DATABASE_URL name.
#
#   1. DATABASE_URL's server, if set and answering, is used as it is. If it
#      names another server than 127.0.0.1:5432 and that server does not
#      answer, pg.sh stops there with psql's own error.
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

# db_name prints the database a postgres:// URL names (percent-decoded),
# or nothing if it names none.
db_name() {
	local url="$1" name
	[[ "$url" =~ ^postgres(ql)?://[^/]*/([^?]*) ]] || return 0
	name="${BASH_REMATCH[2]}"
	printf '%b' "${name//%/\\x}"
}

# server_of prints a URL's host:port as written ("" for a socket default).
server_of() {
	[[ "$1" =~ ^postgres(ql)?://([^@/]*@)?([^/?]*) ]] && echo "${BASH_REMATCH[3]}"
}

# is_default_server reports whether a URL points at 127.0.0.1:5432, the
# server this script can start.
is_default_server() {
	case "$(server_of "$1")" in
	127.0.0.1 | 127.0.0.1:5432 | localhost | localhost:5432) return 0 ;;
	esac
	return 1
}

# ensure_dbs creates, through the maintenance URL $1, every database
# pollhook needs that is missing.
ensure_dbs() {
	local url="$1" db u
	local dbs=(pollhook test)
	for u in "${DATABASE_URL:-}" "${TEST_DATABASE_URL:-}"; do
		[[ -n "$u" ]] && db="$(db_name "$u")" && [[ -n "$db" ]] && dbs+=("$db")
	done
	for db in "${dbs[@]}"; do
		# psql variables quote the name (:'db' as a literal, :"db" as an
		# identifier); they work on standard input, not with -c.
		if [[ "$(echo "SELECT 1 FROM pg_database WHERE datname = :'db'" | psql "$url" -tA -v db="$db")" != 1 ]]; then
			if echo 'CREATE DATABASE :"db"' | psql "$url" -q -v db="$db" >/dev/null 2>&1; then
				log "created database $db"
			fi # else a concurrent run won; check_targets says if it is still missing
		fi
	done
}

# check_targets makes sure DATABASE_URL and TEST_DATABASE_URL themselves
# answer now, and shows psql's error if one does not (a wrong password, a
# database that could not be created) instead of guessing.
check_targets() {
	local u err
	for u in "${DATABASE_URL:-}" "${TEST_DATABASE_URL:-}"; do
		[[ -z "$u" ]] && continue
		if ! err="$(psql "$u" -tAc 'SELECT 1' 2>&1 >/dev/null)"; then
			log "the server answers, but $(redact "$u") does not: ${err}"
			return 1
		fi
	done
}

# redact hides a URL's password for messages.
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# finish creates the databases on the server at maintenance URL $1 and
# checks the targets.
finish() {
	ensure_dbs "$1"
	check_targets
	exit $?
}

wait_ready() {
	for _ in $(seq 1 60); do
		answers "$1" && return 0
		sleep 0.5
	done
	log "PostgreSQL did not answer at $1"
	return 1
}

if [[ -n "${DATABASE_URL:-}" ]]; then
	if answers "$(admin_url "$DATABASE_URL")"; then
		finish "$(admin_url "$DATABASE_URL")"
	fi
	if ! is_default_server "$DATABASE_URL"; then
		err="$(psql "$(admin_url "$DATABASE_URL")" -tAc 'SELECT 1' 2>&1 >/dev/null || true)"
		log "DATABASE_URL's server ($(server_of "$DATABASE_URL")) does not answer: ${err:-psql is not installed}"
		log "start that server, or unset DATABASE_URL to use (or start) one on 127.0.0.1:5432"
		exit 1
	fi
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
	finish "$default_url"
fi

install_client

if command -v pg_lsclusters >/dev/null 2>&1 && [[ -n "$(pg_lsclusters -h 2>/dev/null)" ]]; then
	read -r ver cluster _ < <(pg_lsclusters -h | head -n1)
	log "starting installed cluster $ver/$cluster"
	pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start || true
	if wait_ready "$default_url"; then
		finish "$default_url"
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
finish "$default_url"
