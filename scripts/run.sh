#!/usr/bin/env bash
# Set up, migrate the SQLite database in instance/, and serve on 127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
# flask run serves here; uWSGI (built from source) is for production only.
scripts/setup.sh requirements.txt --without-uwsgi
export FLASK_APP=wsgi
.venv/bin/flask db upgrade
echo "Serving on http://127.0.0.1:5000 (Swagger UI: http://127.0.0.1:5000/docs)"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
