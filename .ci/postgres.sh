#!/usr/bin/env bash
# A throwaway PostgreSQL server for the PostgreSQL tests (tests/serving/test_postgres.py).
#
#   eval "$(bash .ci/postgres.sh start)"   # installs Debian's postgresql if missing, starts a cluster in a temp
#                                          # folder on a free loopback port, prints two export lines:
#                                          # GEOVIGIE_TEST_POSTGRES_URL and GEOVIGIE_PG_DIR
#   bash .ci/postgres.sh stop "$GEOVIGIE_PG_DIR"
#
# Loopback only, fsync off (test data), a database and a password user of its own. Run as root (CI, dev boxes):
# the server itself runs as the `postgres` user the package creates. On failure it prints nothing on stdout and
# a warning on stderr, so the PostgreSQL tests skip with their reason instead of breaking the run.
set -euo pipefail

start() {
  if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  fi
  local bin
  bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)")"
  local dir port
  dir="$(mktemp -d /tmp/geovigie-pg.XXXXXX)"
  trap 'stop "$dir"' ERR  # a half-started server is stopped and its folder removed
  chown postgres:postgres "$dir"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  printf 'geovigie\n' >"$dir/pw"
  chown postgres:postgres "$dir/pw"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" >/dev/null
  runuser -u postgres -- "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE geovigie LOGIN PASSWORD 'geovigie'" -c "CREATE DATABASE geovigie OWNER geovigie" >/dev/null
  echo "export GEOVIGIE_PG_DIR=$dir"
  echo "export GEOVIGIE_TEST_POSTGRES_URL=postgresql://geovigie:geovigie@127.0.0.1:$port/geovigie"
}

stop() {
  local dir="${1:-}"
  case "$dir" in /tmp/geovigie-pg.*) ;; *) return 0 ;; esac  # only ever a folder this script made
  if [ -f "$dir/data/postmaster.pid" ]; then
    local bin
    bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)")"
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-start}" in
  start)
    # A separate bash, so that `set -e` applies inside (it is ignored in a function tested by `if`).
    if exports="$(bash "$0" _start)"; then
      echo "$exports"
    else
      echo "warning: PostgreSQL could not be started; the PostgreSQL tests will be skipped" >&2
    fi
    ;;
  _start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
