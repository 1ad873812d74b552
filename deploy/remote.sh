#!/usr/bin/env bash
# Server half of a deploy, run from the release it belongs to (deploy.sh ships
# the release first); it also works by hand:
#   bash releases/SHA/deploy/remote.sh activate --path /srv/myapp --release SHA [options]
#       venv (from requirements.lock, cached), SQLite backup, migrations, a canary
#       start on a side port, atomic switch of `current`, reload, health wait,
#       rollback on failure
#   bash current/deploy/remote.sh rollback --path /srv/myapp [options]
#       point `current` back at `previous`, reload, wait for health
#   bash releases/SHA/deploy/remote.sh prepare|migrate|canary|go-live --path ... --release SHA
#       the phases of activate one by one, for a deploy to several hosts:
#       prepare (venv, stamp) on each, migrate (backup, migrations) once, then
#       per host canary and go-live (switch, reload, health, rollback of this host)
# Options: --python python3  --env-file /etc/myapp/myapp.env  --keep 5  --backups 5
#   --reload-cmd 'sudo -n systemctl reload-or-restart myapp.service'
#   --health-url http://127.0.0.1:8081/api/v1/health  --health-timeout 60
#   --stats /run/myapp/stats.sock (uWSGI's; '' to rely on health answers alone)
#   --rollback-timeout 120  --canary-timeout 60
#   --worker-cmd 'sudo -n systemctl restart myapp-worker.service myapp-live.service' ('' for none)
# Layout under --path: releases/<sha>/ (code; .venv -> ../../venvs/<key>),
# venvs/<key>/, current -> releases/<sha>, previous -> releases/<sha>.
# This script only orchestrates; what needs Python is in the stdlib-only modules
# beside it (health.py, envfile.py, backup.py: run with --python; stamp.py: run
# with the release's venv).
set -euo pipefail

# Physical: `current` moves during a rollback, this release's tools must not.
TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
PYTHON=python3
ENV_FILE=/etc/myapp/myapp.env
KEEP=5
BACKUPS=5
RELOAD_CMD="sudo -n systemctl reload-or-restart myapp.service"
HEALTH_URL=http://127.0.0.1:8081/api/v1/health
HEALTH_TIMEOUT=60
ROLLBACK_TIMEOUT=120
CANARY_TIMEOUT=60
STATS=/run/myapp/stats.sock
WORKER_CMD="sudo -n systemctl restart myapp-worker.service myapp-live.service"
APP_ROOT=""
RELEASE=""

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --path) APP_ROOT="$2" ;;
      --release) RELEASE="$2" ;;
      --python) PYTHON="$2" ;;
      --env-file) ENV_FILE="$2" ;;
      --keep) KEEP="$2" ;;
      --backups) BACKUPS="$2" ;;
      --reload-cmd) RELOAD_CMD="$2" ;;
      --health-url) HEALTH_URL="$2" ;;
      --health-timeout) HEALTH_TIMEOUT="$2" ;;
      --canary-timeout) CANARY_TIMEOUT="$2" ;;
      --rollback-timeout) ROLLBACK_TIMEOUT="$2" ;;
      --stats) STATS="$2" ;;
      --worker-cmd) WORKER_CMD="$2" ;;
      *) die "unknown option $1" ;;
    esac
    shift 2 || die "option $1 needs a value"
  done
  [ -n "$APP_ROOT" ] || die "--path is required"
  case "$KEEP" in '' | *[!0-9]* | 0 | 1) die "--keep must be a number >= 2" ;; esac
  case "$BACKUPS" in '' | *[!0-9]*) die "--backups must be a number (0: none)" ;; esac
  case "$ENV_FILE" in /*) ;; *) ENV_FILE="$PWD/$ENV_FILE" ;; esac
  SERVICE_ENV=("$PYTHON" "$TOOLS/envfile.py" --unit MYAPP_CONFIG=production "$ENV_FILE")
}

# Runs a command with the service's environment: the unit's Environment= for
# MYAPP_CONFIG, overridden by the env file read as systemd reads it (never
# sourced: `$`, `&`, quotes and spaces in values stay what systemd makes of them).
service_env() {
  "${SERVICE_ENV[@]}" "$@"
}

# Migrations and the canary run in production, so a release that production
# refuses (unsafe settings) is refused before the switch.
check_env() {
  [ -z "${ENV_CHECKED:-}" ] || return 0
  ENV_CHECKED=1
  local config
  [ -r "$ENV_FILE" ] || die "cannot read $ENV_FILE"
  config="$(service_env printenv MYAPP_CONFIG)" || die "$ENV_FILE is not a valid EnvironmentFile"
  [ "$config" = production ] ||
    die "MYAPP_CONFIG=$config in $ENV_FILE: the service runs production; remove the line"
  [ -n "$(service_env printenv DATABASE_URL)" ] ||
    die "DATABASE_URL is unset: each release would get its own empty SQLite file"
}

# Prints the version /api/v1/health reports at $1; exits 0 once it says ok (and,
# given $2, names exactly that version), 2 when it answers but not ok, 1 when silent.
probe() {
  "$PYTHON" "$TOOLS/health.py" probe "$1" "${2:-}"
}

# Prints how many uWSGI workers were forked at or after epoch second $1 (so run
# what `current` pointed to then) and accept requests; exits 0 when all do, or
# when there is no stats socket to ask.
workers_fresh() {
  if [ -z "$STATS" ] || [ ! -S "$STATS" ]; then
    echo "no stats socket"
    return 0
  fi
  "$PYTHON" "$TOOLS/health.py" workers "$STATS" "$1"
}

# Healthy: STEADY answers in a row are ok and name version $2 (when given), and
# every worker was forked after epoch second $4 (when given). uWSGI ignores a
# reload touched while a chain reload still runs, and a worker recycled mid-way
# may hold the other release: while some worker is older, reload again every 8 s.
STEADY=5
wait_health() {
  local url="$1" want="${2:-}" timeout="$3" since="${4:-}" deadline answer="" workers=""
  local streak=0 touched=$SECONDS
  deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if answer="$(probe "$url" "$want")" && { [ -z "$since" ] || workers="$(workers_fresh "$since")"; }; then
      streak=$((streak + 1))
      if [ "$streak" -ge "$STEADY" ]; then
        log "healthy: $url answers version $answer${workers:+ ($workers)}"
        return 0
      fi
      sleep 0.1
      continue
    fi
    streak=0
    if [ -n "$since" ] && [ $((SECONDS - touched)) -ge 8 ] && ! workers_fresh "$since" >/dev/null; then
      log "not every worker runs the release yet (${workers:-$(workers_fresh "$since")}): reloading again"
      reload || true
      touched=$SECONDS
    fi
    sleep 0.5
  done
  log "not healthy after ${timeout}s at $url (last: $answer${workers:+; $workers}; wanted ${want:-any ok})"
  return 1
}

# One virtualenv per requirements.lock (and Python), shared by the releases that
# use it; --require-hashes: exactly the files CI tested, nothing resolved here.
build_venv() {
  local rel="$1" key venv static
  [ -f "$rel/requirements.lock" ] || die "$rel has no requirements.lock"
  key="$( (cat "$rel/requirements.lock"; "$PYTHON" -VV) | sha256sum | cut -c1-16)"
  venv="venvs/$key"
  if [ -f "$venv/.complete" ]; then
    log "venv: reusing $venv (requirements.lock unchanged)"
  else
    log "venv: building $venv from requirements.lock"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes -r "$rel/requirements.lock" </dev/null
    # A stable path for nginx to serve Swagger UI's assets from.
    static="$(cd "$venv"/lib/python3*/site-packages/flask_restx/static && pwd -P)" ||
      die "flask_restx's static folder is missing from $venv"
    ln -sfn "$static" "$venv/swaggerui"
    touch "$venv/.complete"
  fi
  ln -sfn "../../$venv" "$rel/.venv"
}

# The release's version plus its commit, so /api/v1/health names the live release.
stamp_release() {
  mkdir -p "$1/instance"
  (cd "$1" && .venv/bin/python -m deploy.stamp "$RELEASE" >/dev/null)
}

# The version a release's health check reports (stamped at deploy), else $2.
release_version() {
  cat "$1/.version" 2>/dev/null || printf '%s' "$2"
}

# Migrations cannot be undone on SQLite: a consistent copy first (none for
# PostgreSQL). $2 names the backup: which release was live, which came next.
backup_database() {
  local said
  said="$(cd "$1" && service_env "$PYTHON" "$TOOLS/backup.py" take --keep "$BACKUPS" --label "$2")" ||
    return 1
  log "backup: $said"
}

migrate() {
  log "migrations: flask db upgrade heads"
  (cd "$1" && service_env FLASK_APP=wsgi .venv/bin/flask db upgrade heads </dev/null)
}

# Serve the release once with its own myapp.ini on a free loopback port, with the
# service's environment: a release that cannot load, that production refuses or
# that is unhealthy fails here, before it gets any traffic.
canary() {
  local rel="$APP_ROOT/$1" port pid version="" log_file="$1.canary.log"
  port="$("$PYTHON" "$TOOLS/health.py" free-port)"
  log "canary: uWSGI from $1/myapp.ini on 127.0.0.1:$port"
  # Not through the function: $! must be uWSGI's master (envfile.py execs it),
  # not a subshell, or the kill below misses it and the canary lives on.
  "${SERVICE_ENV[@]}" -u MYAPP_SOCKET -u MYAPP_RELOAD_FILE -u MYAPP_STATS \
    MYAPP_DIR="$rel" MYAPP_HTTP="127.0.0.1:$port" MYAPP_PROCESSES=1 MYAPP_THREADS=1 \
    "$rel/.venv/bin/uwsgi" --ini "$rel/myapp.ini" >"$log_file" 2>&1 </dev/null 9>&- &
  pid=$!
  # Up to CANARY_TIMEOUT to start; once it answers, 5 s to answer ok.
  local deadline=$((SECONDS + CANARY_TIMEOUT)) ok=1 status
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "canary: uWSGI exited; last lines of $log_file:"
      tail -n 20 "$log_file" | sed 's/^/  | /'
      break
    fi
    status=0
    version="$(probe "http://127.0.0.1:$port/api/v1/health")" || status=$?
    if [ "$status" = 0 ]; then
      ok=0
      break
    fi
    if [ "$status" = 2 ] && [ "$deadline" -gt $((SECONDS + 5)) ]; then
      deadline=$((SECONDS + 5))
    fi
    sleep 0.3
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$ok" != 0 ]; then
    log "canary: /api/v1/health never answered ok (${version:-no answer})"
    return 1
  fi
  log "canary: healthy, version $version"
  CANARY_VERSION="$version"
  rm -f "$log_file"
}

# rename(2) over the old symlink: there is never a moment without `current`.
point() {
  ln -sfn "$2" "$1.new"
  mv -Tf "$1.new" "$1"
}

# Point `current` at $1 and reload; prints the first epoch second in which every
# worker forked is sure to run it. The pause also puts the reload file's mtime,
# which uWSGI compares in whole seconds, past any earlier touch.
switch_and_reload() {
  local since
  point current "$1"
  log "switched: current -> $1" >&2
  since=$(($(date +%s) + 1))
  sleep 1
  reload >&2 || return 1
  echo "$since"
}

elapsed() {
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

reload() {
  log "reload: $RELOAD_CMD"
  # 9>&-: a service the command starts must not inherit (and hold) the deploy lock.
  bash -c "$RELOAD_CMD" </dev/null 9>&-
}

# The alerts worker and the stream relay run `current` too: restart them onto
# the release now live. Their failure leaves the web release live; the warning
# names the command to run.
restart_worker() {
  [ -n "$WORKER_CMD" ] || return 0
  log "worker: $WORKER_CMD"
  bash -c "$WORKER_CMD" </dev/null 9>&- ||
    log "WARNING: the alerts worker and stream relay were not restarted onto $(readlink current); run: $WORKER_CMD"
}

# Keep current, previous and the newest $KEEP releases, and the venvs they use.
prune() {
  local keep_current keep_previous rel count=0
  keep_current="$(readlink current || true)"
  keep_previous="$(readlink previous || true)"
  # shellcheck disable=SC2012
  for rel in $(ls -1dt releases/*/ 2>/dev/null | sed 's:/$::'); do
    count=$((count + 1))
    if [ "$count" -le "$KEEP" ] || [ "$rel" = "$keep_current" ] || [ "$rel" = "$keep_previous" ]; then
      continue
    fi
    log "prune: $rel"
    rm -rf "$rel" "$rel.canary.log"
  done
  local used venv
  used="$(for rel in releases/*/; do readlink "$rel.venv" 2>/dev/null || true; done | sed 's:^\.\./\.\./::' | sort -u)"
  for venv in venvs/*/; do
    venv="${venv%/}"
    [ -d "$venv" ] || continue
    if ! grep -qxF "$venv" <<<"$used"; then
      log "prune: $venv"
      rm -rf "$venv"
    fi
  done
}

# What a host needs before the migrations (once per deploy) and its canary.
prepare() {
  build_venv "$1"
  stamp_release "$1"
}

# Switch `current` from $2 to release $1, reload and wait for health; on failure
# switch back to $2 (and `previous` back to $3) and fail.
go_live() {
  local rel="$1" live="$2" earlier="$3" live_version="$4" start since
  start=$(date +%s%N)
  touch "$rel"
  [ -z "$live" ] || point previous "$live"
  if since="$(switch_and_reload "$rel")" &&
    wait_health "$HEALTH_URL" "$CANARY_VERSION" "$HEALTH_TIMEOUT" "$since"; then
    log "deployed $RELEASE: healthy $(elapsed "$start") s after the switch"
    return 0
  fi
  [ -n "$live" ] || die "first release failed its health check and there is nothing to roll back to"
  log "ROLLBACK to $live"
  [ -z "$earlier" ] || point previous "$earlier"
  start=$(date +%s%N)
  since="$(switch_and_reload "$live")" || since=$(date +%s)
  if wait_health "$HEALTH_URL" "$(release_version "$live" "$live_version")" "$ROLLBACK_TIMEOUT" "$since"; then
    log "rolled back to $live: healthy $(elapsed "$start") s after the switch back"
  else
    log "the previous release is not healthy either"
  fi
  die "release $RELEASE failed its health check; rolled back to $live"
}

# The phases of a deploy, each its own command so that deploy.sh can run them
# host by host: prepare (every host), migrate (once), canary and go-live (one
# host at a time). `activate` runs them all on a single host.
release_dir() {
  [ -n "$RELEASE" ] || die "--release is required"
  REL="releases/$RELEASE"
  [ -f "$REL/myapp.ini" ] || die "$APP_ROOT/$REL is missing or incomplete"
}

phase_prepare() {
  release_dir
  check_env
  prepare "$REL"
}

phase_migrate() {
  release_dir
  check_env
  local live
  live="$(readlink current || true)"
  backup_database "$REL" "$(basename "${live:-none}" | cut -c1-12)-to-${RELEASE:0:12}" ||
    die "the database backup failed; nothing was migrated or switched"
  migrate "$REL" || die "migrations failed; nothing was switched"
}

phase_canary() {
  release_dir
  check_env
  canary "$REL" || die "the new release is unhealthy; nothing was switched, $(readlink current || echo nothing) stays live"
}

# Switch to the release and wait for health (rolling this host back on failure).
phase_go_live() {
  release_dir
  local live earlier live_version
  live="$(readlink current || true)"
  earlier="$(readlink previous || true)"
  if [ "$live" = "$REL" ]; then
    log "$REL is already live; checking health"
    wait_health "$HEALTH_URL" "" "$HEALTH_TIMEOUT"
    return
  fi
  live_version="$(probe "$HEALTH_URL")" || live_version=""
  log "live: ${live:-nothing} (${live_version:-not answering})"
  CANARY_VERSION="$(release_version "$REL" "")"
  go_live "$REL" "$live" "$earlier" "$live_version"
  restart_worker
  prune
}

activate() {
  release_dir
  if [ "$(readlink current || true)" = "$REL" ]; then
    phase_go_live
    return
  fi
  phase_prepare
  phase_migrate
  phase_canary
  phase_go_live
}

rollback() {
  local live target
  live="$(readlink current || true)"
  target="$(readlink previous || true)"
  if [ -z "$target" ] || [ ! -d "$target" ]; then
    die "no previous release to roll back to"
  fi
  local start since
  start=$(date +%s%N)
  point previous "$live"
  since="$(switch_and_reload "$target")"
  wait_health "$HEALTH_URL" "$(release_version "$target" "")" "$ROLLBACK_TIMEOUT" "$since"
  log "rolled back to $target: healthy $(elapsed "$start") s after the switch"
  restart_worker
}

main() {
  local command="${1:-}"
  shift || true
  parse_args "$@"
  mkdir -p "$APP_ROOT/releases" "$APP_ROOT/venvs"
  cd "$APP_ROOT"
  exec 9>.deploy.lock
  flock -n 9 || die "another deploy is running in $APP_ROOT"
  case "$command" in
    activate) activate ;;
    prepare) phase_prepare ;;
    migrate) phase_migrate ;;
    canary) phase_canary ;;
    go-live) phase_go_live ;;
    rollback) rollback ;;
    *) die "usage: remote.sh activate|prepare|migrate|canary|go-live|rollback --path DIR [options]" ;;
  esac
}

main "$@"
