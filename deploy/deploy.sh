#!/usr/bin/env bash
# Deploy one git revision to a server over ssh: the committed tree of that
# revision is rsynced into releases/<sha>, then deploy/remote.sh builds or reuses
# its venv, migrates, starts a canary, switches `current`, reloads, waits for
# /api/v1/health and rolls back on failure. Exits non-zero when the revision is
# not live at the end.
#
#   deploy/deploy.sh --host HOST [options]
#   deploy/deploy.sh --host HOST --rollback      (back to the previous release)
#   deploy/deploy.sh --host A --host B --drain-cmd CMD --undrain-cmd CMD [options]
#
# More than one host (app hosts behind one load balancer, one database): the
# release goes to every host and is prepared there, migrations run once (on the
# first host), then one host at a time: canary, drain (CMD HOST: take it out of
# the load balancer), go live (switch, reload, health), put back (CMD HOST).
# When a host fails, it rolls itself back and every host done before it is
# rolled back too (drained, rolled back, put back), and the deploy fails.
#
# Every option also reads an environment variable (for CI):
#   --host HOST          DEPLOY_HOST       (required; repeat, or space-separated
#                                           in DEPLOY_HOST, for several hosts)
#   --drain-cmd CMD      DEPLOY_DRAIN_CMD  run here as CMD HOST before a host's switch
#   --undrain-cmd CMD    DEPLOY_UNDRAIN_CMD run here as CMD HOST after it
#   --user USER          DEPLOY_USER       myapp
#   --port PORT          DEPLOY_PORT       22
#   --path DIR           DEPLOY_PATH       /srv/myapp
#   --key FILE           DEPLOY_SSH_KEY    ssh's default keys
#   --known-hosts FILE   DEPLOY_KNOWN_HOSTS  ssh's default; the host key must be in it
#   --revision REV       DEPLOY_REVISION   HEAD
#   --source DIR         DEPLOY_SOURCE     the git checkout holding this script
#   --reload-cmd CMD     DEPLOY_RELOAD_CMD 'sudo -n systemctl reload-or-restart myapp.service'
#   --health-url URL     DEPLOY_HEALTH_URL http://127.0.0.1:8081/api/v1/health (as seen on the
#                                           server; {host} in it (any option) is the host's name)
#   --health-timeout S   DEPLOY_HEALTH_TIMEOUT 60
#   --env-file FILE      DEPLOY_ENV_FILE   /etc/myapp/myapp.env (on the server)
#   --python PY          DEPLOY_PYTHON     python3 (on the server, builds the venvs)
#   --keep N             DEPLOY_KEEP       5 releases
#   --backups N          DEPLOY_BACKUPS    5 SQLite backups taken before migrating (0: none)
#   --stats SOCKET       DEPLOY_STATS      /run/myapp/stats.sock (uWSGI's, on the server)
#   --rollback-timeout S, --canary-timeout S   120, 60
#   --worker-cmd CMD     DEPLOY_WORKER_CMD 'sudo -n systemctl restart myapp-worker.service myapp-live.service' ('' for none)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
read -r -a HOSTS <<<"${DEPLOY_HOST:-}"
GIVEN_HOSTS=()
DRAIN_CMD="${DEPLOY_DRAIN_CMD:-}"
UNDRAIN_CMD="${DEPLOY_UNDRAIN_CMD:-}"
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
    --host) GIVEN_HOSTS+=("$2") ;;
    --drain-cmd) DRAIN_CMD="$2" ;;
    --undrain-cmd) UNDRAIN_CMD="$2" ;;
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
[ ${#GIVEN_HOSTS[@]} -eq 0 ] || HOSTS=("${GIVEN_HOSTS[@]}")
[ ${#HOSTS[@]} -gt 0 ] || die "--host (or DEPLOY_HOST) is required"

# Quote for the remote shell: ssh joins its arguments into one command line.
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

WORK="$(mktemp -d)"
cleanup() {
  local control
  for control in "$WORK"/control-*; do
    [ ! -S "$control" ] || ssh -o ControlPath="$control" -O exit x 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# One ssh connection per host (ControlMaster) carries the rsync and every remote
# command: $WORK/ssh-<n> connects to HOSTS[n].
for n in "${!HOSTS[@]}"; do
  {
    echo '#!/bin/sh'
    printf 'exec ssh -o BatchMode=yes -o ConnectTimeout=15 -o StrictHostKeyChecking=yes'
    printf ' -o ControlMaster=auto -o ControlPersist=120 -o ControlPath=%s' "$(quote "$WORK/control-$n")"
    printf ' -p %s' "$(quote "$PORT")"
    [ -z "$KEY" ] || printf ' -o IdentitiesOnly=yes -i %s' "$(quote "$KEY")"
    [ -z "$KNOWN_HOSTS" ] || printf ' -o UserKnownHostsFile=%s' "$(quote "$KNOWN_HOSTS")"
    echo ' "$@"'
  } >"$WORK/ssh-$n"
  chmod +x "$WORK/ssh-$n"
done

# Runs the server half on HOSTS[$1] from a release there: the deploy code that
# goes with the release it deploys, its Python modules beside it.
remote() {
  local n="$1" release="$2" command="$3" line
  shift 3
  line="bash $(quote "$APP_ROOT/$release/deploy/remote.sh") $(quote "$command")"
  for arg in --path "$APP_ROOT" "$@" "${REMOTE_ARGS[@]}"; do
    line+=" $(quote "${arg//\{host\}/${HOSTS[$n]}}")"
  done
  "$WORK/ssh-$n" "$USER_NAME@${HOSTS[$n]}" "$line" </dev/null
}

# The load balancer hooks: CMD HOST, run here; a failing hook fails the deploy.
hook() {
  local what="$1" cmd="$2" host="$3"
  [ -n "$cmd" ] || return 0
  echo "deploy: $what $host"
  bash -c "$cmd"' "$@"' hook "$host" </dev/null
}

if [ "$COMMAND" = rollback ]; then
  for n in "${!HOSTS[@]}"; do
    hook drain "$DRAIN_CMD" "${HOSTS[$n]}"
    remote "$n" current rollback
    hook "put back" "$UNDRAIN_CMD" "${HOSTS[$n]}"
  done
  exit
fi

SHA="$(git -C "$SOURCE" rev-parse --verify "$REVISION^{commit}")"
mkdir "$WORK/release"
git -C "$SOURCE" archive --format=tar "$SHA" | tar -x -C "$WORK/release"

ship() {
  local n="$1" target="$USER_NAME@${HOSTS[$1]}"
  echo "deploy: $SHA to $target:$APP_ROOT"
  "$WORK/ssh-$n" "$target" "mkdir -p $(quote "$APP_ROOT/releases")"
  # Unchanged files are hard links to the live release, judged by content
  # (--checksum): git archive stamps every file with its commit's time, so a
  # same-size edit committed in the same second as the live release would pass
  # rsync's size-and-time check and ship stale. The protect filters keep what the
  # server added (venv link, version stamp) when the same sha is sent again.
  rsync -a --checksum --delete --rsh="$WORK/ssh-$n" \
    --filter='P /.venv' --filter='P /.version' --filter='P /instance/' --filter='P __pycache__/' \
    --link-dest="$APP_ROOT/current/" \
    "$WORK/release/" "$target:$APP_ROOT/releases/$SHA/"
}

if [ ${#HOSTS[@]} -eq 1 ] && [ -z "$DRAIN_CMD$UNDRAIN_CMD" ]; then
  ship 0
  remote 0 "releases/$SHA" activate --release "$SHA"
  exit
fi

# Several hosts: every host gets the release and its venv before any switches.
for n in "${!HOSTS[@]}"; do
  ship "$n"
  remote "$n" "releases/$SHA" prepare --release "$SHA"
done
# One database: its backup and migrations once, while every host serves the
# old release (migrations must work with it: see deploy/README.md).
remote 0 "releases/$SHA" migrate --release "$SHA"

# Hosts already switched, rolled back in reverse order if a later one fails.
done_hosts=()
failed=""
for n in "${!HOSTS[@]}"; do
  host="${HOSTS[$n]}"
  if ! remote "$n" "releases/$SHA" canary --release "$SHA"; then
    failed="$host (canary)"
    break
  fi
  hook drain "$DRAIN_CMD" "$host"
  if ! remote "$n" "releases/$SHA" go-live --release "$SHA"; then
    # go-live has rolled this host back already; it can take traffic again.
    hook "put back" "$UNDRAIN_CMD" "$host"
    failed="$host (health check after the switch)"
    break
  fi
  hook "put back" "$UNDRAIN_CMD" "$host"
  done_hosts=("$n" "${done_hosts[@]}")
done

if [ -n "$failed" ]; then
  echo "deploy: $SHA failed on $failed; rolling back ${#done_hosts[@]} host(s) already on it" >&2
  for n in "${done_hosts[@]}"; do
    hook drain "$DRAIN_CMD" "${HOSTS[$n]}"
    remote "$n" current rollback || echo "deploy: ROLLBACK of ${HOSTS[$n]} FAILED" >&2
    hook "put back" "$UNDRAIN_CMD" "${HOSTS[$n]}"
  done
  echo "deploy: $SHA is live on no host" >&2
  exit 1
fi
echo "deploy: $SHA live on ${#HOSTS[@]} hosts"
