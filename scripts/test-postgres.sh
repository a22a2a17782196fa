#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL cluster for the tests and print its DATABASE_URL.
# It lives in /tmp/kontor-pg on port 5439 and never touches a server already running on
# this machine. Installs Debian's postgresql when its binaries are missing.
set -euo pipefail
PGROOT=${KONTOR_PGROOT:-/tmp/kontor-pg}
PGPORT=${KONTOR_PGPORT:-5439}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pgbin)" ] || [ ! -x "$(pgbin)/initdb" ]; then
  echo "Installing PostgreSQL (apt-get) ..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
PGBIN=$(pgbin)

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "--stop" ]; then
  [ -f "$PGROOT/data/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$PGROOT/data" -w stop >&2
  exit 0
fi

if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
  if [ ! -f "$PGROOT/data/postmaster.pid" ]; then
    echo "Port $PGPORT is taken by a server that is not Kontor's test cluster;" \
      "set KONTOR_PGPORT to a free port (or DATABASE_URL)." >&2
    exit 1
  fi
else
  if [ "$(id -u)" = 0 ]; then
    install -d -o postgres -g postgres "$PGROOT"
  else
    mkdir -p "$PGROOT"
  fi
  [ -f "$PGROOT/data/PG_VERSION" ] || as_owner "$PGBIN/initdb" -D "$PGROOT/data" -U postgres \
    --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # fsync off: a throwaway cluster for tests only.
  as_owner "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w start \
    -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2
fi
# The database the URL names (pytest makes its own test_kontor beside it; manage.py
# commands such as makemigrations --check use this one).
if [ "$("$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -Atc \
    "SELECT 1 FROM pg_database WHERE datname = 'kontor'" postgres)" != 1 ]; then
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres kontor
fi
echo "postgres://postgres@127.0.0.1:$PGPORT/kontor"
