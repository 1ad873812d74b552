#!/usr/bin/env bash
# Start a throwaway PostgreSQL on a free loopback port, run a command with
# TEST_DATABASE_URL pointing at it, then stop it and delete its data.
#   scripts/pg-throwaway.sh pytest -q
# Optional environment:
#   PG_CONF=FILE      settings (name = value lines) instead of the test-speed ones
#                     (fsync=off ...): the benchmarks use deploy/postgresql/myapp.conf
#   PG_DATA_DIR=DIR   keep the cluster in DIR between runs (made on first use,
#                     stopped cleanly, never deleted): the benchmarks' cached data
#   PG_LISTEN=ADDRS   listen_addresses (default 127.0.0.1)
#   PG_TRUST_NET=CIDR also trust connections from CIDR (test hosts in namespaces)
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

if [ -n "${PG_DATA_DIR:-}" ]; then
  mkdir -p "$PG_DATA_DIR"
  DATA="$(cd "$PG_DATA_DIR" && pwd)"
else
  DATA="$(mktemp -d /tmp/myapp-pg.XXXXXX)"
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
AS=()
# initdb refuses to run as root: use the postgres system user when we are root.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
  AS=(runuser -u postgres --)
fi

cleanup() {
  if [ -n "${PG_DATA_DIR:-}" ]; then
    "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA/data" -m fast stop >/dev/null 2>&1 || true
  else
    "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
  fi
}
trap cleanup EXIT

# Settings as -c options: PG_CONF's lines, or fast and unsafe ones for tests.
OPTIONS=(-p "$PORT" -c "listen_addresses=${PG_LISTEN:-127.0.0.1}" -k "$DATA")
if [ -n "${PG_CONF:-}" ]; then
  while read -r name value; do
    OPTIONS+=(-c "$name=$value")
  done < <(sed -e 's/#.*//' -e 's/=/ /' "$PG_CONF" | awk 'NF >= 2 {print $1, $2}')
else
  OPTIONS+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200)
fi

if [ ! -f "$DATA/data/PG_VERSION" ]; then
  "${AS[@]}" "$PG_BIN/initdb" -D "$DATA/data" -U postgres --auth=trust -E UTF8 >"$DATA/initdb.log" 2>&1 \
    || { cat "$DATA/initdb.log" >&2; exit 1; }
fi
if [ -n "${PG_TRUST_NET:-}" ] && ! grep -q "^host all all $PG_TRUST_NET trust" "$DATA/data/pg_hba.conf"; then
  echo "host all all $PG_TRUST_NET trust" >>"$DATA/data/pg_hba.conf"
fi
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA/data" -l "$DATA/server.log" -w -t 120 -o "${OPTIONS[*]}" \
  start >/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
"${AS[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -Atqc \
  "SELECT 1 FROM pg_database WHERE datname = 'myapp_test'" | grep -q 1 \
  || "${AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres myapp_test

export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/myapp_test"
export PG_BIN PG_DATA="$DATA/data" PG_PORT="$PORT"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
"$@"
