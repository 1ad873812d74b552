#!/usr/bin/env bash
# Deploy one git revision to a server over ssh: the committed tree of that
# revision is rsynced into releases/<sha>, then deploy/remote.sh builds or reuses
# its venv, migrates, starts a canary, switches `current`, reloads, waits for
# /api/v1/health and rolls back on failure. Exits non-zero when the revision is
# not live at the end.
#
#   deploy/deploy.sh --host HOST [options]
#   deploy/deploy.sh --host HOST --rollback      (back to the previous release)
#
# Every option also reads an environment variable (for CI):
#   --host HOST          DEPLOY_HOST       (required)
#   --user USER          DEPLOY_USER       myapp
#   --port PORT          DEPLOY_PORT       22
#   --path DIR           DEPLOY_PATH       /srv/myapp
#   --key FILE           DEPLOY_SSH_KEY    ssh's default keys
#   --known-hosts FILE   DEPLOY_KNOWN_HOSTS  ssh's default; the host key must be in it
#   --revision REV       DEPLOY_REVISION   HEAD
#   --source DIR         DEPLOY_SOURCE     the git checkout holding this script
#   --reload-cmd CMD     DEPLOY_RELOAD_CMD 'sudo -n systemctl reload-or-restart myapp.service'
#   --health-url URL     DEPLOY_HEALTH_URL http://127.0.0.1:8081/api/v1/health (as seen on the server)
#   --health-timeout S   DEPLOY_HEALTH_TIMEOUT 60
#   --env-file FILE      DEPLOY_ENV_FILE   /etc/myapp/myapp.env (on the server)
#   --python PY          DEPLOY_PYTHON     python3 (on the server, builds the venvs)
#   --keep N             DEPLOY_KEEP       5 releases
#   --backups N          DEPLOY_BACKUPS    5 SQLite backups taken before migrating (0: none)
#   --stats SOCKET       DEPLOY_STATS      /run/myapp/stats.sock (uWSGI's, on the server)
#   --rollback-timeout S, --canary-timeout S   120, 60
#   --worker-cmd CMD     DEPLOY_WORKER_CMD 'sudo -n systemctl restart myapp-worker.service' ('' for none)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOST="${DEPLOY_HOST:-}"
USER_NAME="${DEPLOY_USER:-myapp}"
PORT="${DEPLOY_PORT:-22}"
APP_ROOT="${DEPLOY_PATH:-/srv/myapp}"
KEY="${DEPLOY_SSH_KEY:-}"
KNOWN_HOSTS="${DEPLOY_KNOWN_HOSTS:-}"
REVISION="${DEPLOY_REVISION:-HEAD}"
SOURCE="${DEPLOY_SOURCE:-$(dirname "$HERE")}"
REMOTE_ARGS=()
[ -z "${DEPLOY_RELOAD_CMD:-}" ] || REMOTE_ARGS+=(--reload-cmd "$DEPLOY_RELOAD_CMD")
[ -z "${DEPLOY_HEALTH_URL:-}" ] || REMOTE_ARGS+=(--health-url "$DEPLOY_HEALTH_URL")
[ -z "${DEPLOY_HEALTH_TIMEOUT:-}" ] || REMOTE_ARGS+=(--health-timeout "$DEPLOY_HEALTH_TIMEOUT")
[ -z "${DEPLOY_ENV_FILE+x}" ] || REMOTE_ARGS+=(--env-file "$DEPLOY_ENV_FILE")
[ -z "${DEPLOY_PYTHON:-}" ] || REMOTE_ARGS+=(--python "$DEPLOY_PYTHON")
[ -z "${DEPLOY_KEEP:-}" ] || REMOTE_ARGS+=(--keep "$DEPLOY_KEEP")
[ -z "${DEPLOY_BACKUPS:-}" ] || REMOTE_ARGS+=(--backups "$DEPLOY_BACKUPS")
[ -z "${DEPLOY_STATS+x}" ] || REMOTE_ARGS+=(--stats "$DEPLOY_STATS")
[ -z "${DEPLOY_WORKER_CMD+x}" ] || REMOTE_ARGS+=(--worker-cmd "$DEPLOY_WORKER_CMD")
COMMAND=activate

die() { echo "deploy: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST="$2" ;;
    --user) USER_NAME="$2" ;;
    --port) PORT="$2" ;;
    --path) APP_ROOT="$2" ;;
    --key) KEY="$2" ;;
    --known-hosts) KNOWN_HOSTS="$2" ;;
    --revision) REVISION="$2" ;;
    --source) SOURCE="$2" ;;
    --reload-cmd | --health-url | --health-timeout | --env-file | --python | --keep | \
      --backups | --stats | --rollback-timeout | --canary-timeout | --worker-cmd)
      REMOTE_ARGS+=("$1" "$2") ;;
    --rollback) COMMAND=rollback; shift; continue ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  [ $# -ge 2 ] || die "option $1 needs a value"
  shift 2
done
[ -n "$HOST" ] || die "--host (or DEPLOY_HOST) is required"

# Quote for the remote shell: ssh joins its arguments into one command line.
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

WORK="$(mktemp -d)"
cleanup() {
  [ ! -S "$WORK/control" ] || ssh -o ControlPath="$WORK/control" -O exit x 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# One ssh connection (ControlMaster) carries the rsync and every remote command.
{
  echo '#!/bin/sh'
  printf 'exec ssh -o BatchMode=yes -o ConnectTimeout=15 -o StrictHostKeyChecking=yes'
  printf ' -o ControlMaster=auto -o ControlPersist=120 -o ControlPath=%s' "$(quote "$WORK/control")"
  printf ' -p %s' "$(quote "$PORT")"
  [ -z "$KEY" ] || printf ' -o IdentitiesOnly=yes -i %s' "$(quote "$KEY")"
  [ -z "$KNOWN_HOSTS" ] || printf ' -o UserKnownHostsFile=%s' "$(quote "$KNOWN_HOSTS")"
  echo ' "$@"'
} >"$WORK/ssh"
chmod +x "$WORK/ssh"
TARGET="$USER_NAME@$HOST"

# Runs the server half from a release on the server: the deploy code that goes
# with the release it deploys, its Python modules beside it.
remote() {
  local release="$1" command="$2" line
  shift 2
  line="bash $(quote "$APP_ROOT/$release/deploy/remote.sh") $(quote "$command")"
  for arg in --path "$APP_ROOT" "$@" "${REMOTE_ARGS[@]}"; do line+=" $(quote "$arg")"; done
  "$WORK/ssh" "$TARGET" "$line" </dev/null
}

if [ "$COMMAND" = rollback ]; then
  remote current rollback
  exit
fi

SHA="$(git -C "$SOURCE" rev-parse --verify "$REVISION^{commit}")"
echo "deploy: $SHA to $TARGET:$APP_ROOT"
mkdir "$WORK/release"
git -C "$SOURCE" archive --format=tar "$SHA" | tar -x -C "$WORK/release"

"$WORK/ssh" "$TARGET" "mkdir -p $(quote "$APP_ROOT/releases")"
# Unchanged files are hard links to the live release, judged by content
# (--checksum): git archive stamps every file with its commit's time, so a
# same-size edit committed in the same second as the live release would pass
# rsync's size-and-time check and ship stale. The protect filters keep what the
# server added (venv link, version stamp) when the same sha is sent again.
rsync -a --checksum --delete --rsh="$WORK/ssh" \
  --filter='P /.venv' --filter='P /.version' --filter='P /instance/' --filter='P __pycache__/' \
  --link-dest="$APP_ROOT/current/" \
  "$WORK/release/" "$TARGET:$APP_ROOT/releases/$SHA/"

remote "releases/$SHA" activate --release "$SHA"
