#!/usr/bin/env bash
# Set up, migrate the SQLite database in instance/, and serve on 127.0.0.1:5000,
# with the alerts worker (webhooks, silence rules) beside the server.
set -euo pipefail
cd "$(dirname "$0")/.."
# flask run serves here; uWSGI (built from source) is for production only.
scripts/setup.sh requirements.txt --without-uwsgi
export FLASK_APP=wsgi
.venv/bin/flask db upgrade
echo "Serving on http://127.0.0.1:5000 (Swagger UI: http://127.0.0.1:5000/docs)"
.venv/bin/flask alerts worker &
worker=$!
.venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}" &
server=$!
# The two stop together: when either exits, on Ctrl-C, or on SIGTERM.
# shellcheck disable=SC2317  # called by the trap
stop() {
  trap - EXIT INT TERM
  kill -TERM "$server" "$worker" 2>/dev/null || true
  wait
}
trap stop EXIT INT TERM
status=0
wait -n "$server" "$worker" || status=$?
exit "$status"
