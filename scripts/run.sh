#!/usr/bin/env bash
# Set up, migrate the SQLite database in instance/, and serve on 127.0.0.1:5000
# (PORT overrides the port), with the alerts worker (webhooks, silence rules,
# retention's pruning) beside the server; with REDIS_URL set, the stream relay
# too (127.0.0.1:LIVE_PORT, 5001), for an nginx in front to send /api/v1/stream
# to as deploy/nginx/myapp.conf does. Without nginx, streams are the server's.
# Serves with uWSGI from myapp.ini, as production does, where it can be built
# (a C compiler and Python's headers); on a machine with nothing but Python,
# with `flask run` instead. RUN_WITH=flask or RUN_WITH=uwsgi chooses.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
can_build_uwsgi() {
  command -v cc >/dev/null 2>&1 && "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null
}
RUN_WITH="${RUN_WITH:-$(can_build_uwsgi && echo uwsgi || echo flask)}"
if [ "$RUN_WITH" = uwsgi ]; then
  scripts/setup.sh requirements.txt
else
  scripts/setup.sh requirements.txt --without-uwsgi
fi
export FLASK_APP=wsgi
.venv/bin/flask db upgrade
ADDRESS="127.0.0.1:${PORT:-5000}"
echo "Serving on http://$ADDRESS with $RUN_WITH (Swagger UI: http://$ADDRESS/docs)"
.venv/bin/flask alerts worker &
worker=$!
relay=""
if [ -n "${REDIS_URL:-}" ]; then
  .venv/bin/flask live relay --bind "127.0.0.1:${LIVE_PORT:-5001}" &
  relay=$!
fi
if [ "$RUN_WITH" = uwsgi ]; then
  MYAPP_HTTP="$ADDRESS" .venv/bin/uwsgi --ini myapp.ini &
else
  .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}" &
fi
server=$!
# The two stop together: when either exits, on Ctrl-C, or on SIGTERM.
# shellcheck disable=SC2317  # called by the trap
stop() {
  trap - EXIT INT TERM
  # shellcheck disable=SC2086  # $relay is empty without REDIS_URL
  kill -TERM "$server" "$worker" $relay 2>/dev/null || true
  wait
}
trap stop EXIT INT TERM
status=0
# shellcheck disable=SC2086
wait -n "$server" "$worker" $relay || status=$?
exit "$status"
