#!/usr/bin/env bash
# Start a throwaway PostgreSQL on a free loopback port, run a command with
# TEST_DATABASE_URL pointing at it, then stop it and delete its data.
#   scripts/pg-throwaway.sh pytest -q
set -euo pipefail

find_pg_bin() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  return 1
}

PG_BIN="$(find_pg_bin)" || {
  echo "ERROR: PostgreSQL server binaries (initdb, pg_ctl) not found." >&2
  echo "       Install them (Debian/Ubuntu: apt-get install postgresql) or set" >&2
  echo "       SKIP_POSTGRES=1 to run the SQLite half only." >&2
  exit 2
}

DATA="$(mktemp -d /tmp/myapp-pg.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
AS=()
# initdb refuses to run as root: use the postgres system user when we are root.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
  AS=(runuser -u postgres --)
fi

cleanup() {
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

"${AS[@]}" "$PG_BIN/initdb" -D "$DATA/data" -U postgres --auth=trust -E UTF8 >"$DATA/initdb.log" 2>&1 \
  || { cat "$DATA/initdb.log" >&2; exit 1; }
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA/data" -l "$DATA/server.log" -w -o \
  "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
"${AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres myapp_test

export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/myapp_test"
export PG_BIN PG_DATA="$DATA/data" PG_PORT="$PORT"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
"$@"
