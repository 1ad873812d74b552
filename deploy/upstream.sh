#!/usr/bin/env bash
# Takes one app host out of nginx's upstream (drain) or puts it back, on the
# load balancer; deploy.sh runs it per host when deploying to several hosts:
#   deploy/deploy.sh --host A --host B \
#     --drain-cmd 'ssh lb sudo /usr/local/bin/myapp-upstream drain' \
#     --undrain-cmd 'ssh lb sudo /usr/local/bin/myapp-upstream undrain'
#
#   upstream.sh [options] drain|undrain HOST
#     --file FILE    the upstream's server lines   /etc/nginx/myapp-upstream.conf
#     --nginx CMD    how to call nginx             nginx
#     --pid FILE     nginx's pid file              /run/nginx.pid
#     --timeout S    longest wait for the drain    60
#
# drain marks HOST's `server HOST...;` line `down`, checks the configuration
# (nginx -t), reloads nginx and waits until every nginx worker that ran before
# the reload has exited: those finish the requests they hold, so when this
# returns no request is on its way to HOST. It refuses to take down the last
# host still up. undrain removes the mark and reloads.
set -euo pipefail

FILE=/etc/nginx/myapp-upstream.conf
NGINX=nginx
PID_FILE=/run/nginx.pid
TIMEOUT=60

die() { echo "upstream: $*" >&2; exit 2; }

while [ $# -gt 2 ]; do
  case "$1" in
    --file) FILE="$2" ;;
    --nginx) NGINX="$2" ;;
    --pid) PID_FILE="$2" ;;
    --timeout) TIMEOUT="$2" ;;
    *) die "unknown option $1" ;;
  esac
  shift 2
done
[ $# -eq 2 ] || die "usage: upstream.sh [options] drain|undrain HOST"
ACTION="$1"
HOST="$2"
# Host names and addresses only: the name goes into a sed pattern.
[[ "$HOST" =~ ^[A-Za-z0-9.:_-]+$ ]] || die "not a host name: $HOST"
PATTERN="^[[:space:]]*server[[:space:]]+${HOST//./\\.}(:[0-9]+)?[[:space:]]"
grep -Eq "$PATTERN" "$FILE" || die "no 'server $HOST' line in $FILE"

# The pids of nginx's workers now (children of the master).
workers() {
  local master
  master="$(cat "$PID_FILE")"
  cat "/proc/$master/task/$master/children" 2>/dev/null || true
}

apply() {
  local before="$1"
  if ! $NGINX -t -q; then
    cp "$before" "$FILE"
    die "nginx -t refused the changed $FILE; put the old one back"
  fi
  local old
  old="$(workers)"
  $NGINX -s reload
  # Old workers stop taking requests at once and exit when their last one ends.
  local deadline=$((SECONDS + TIMEOUT)) pid
  for pid in $old; do
    while [ -d "/proc/$pid" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    [ ! -d "/proc/$pid" ] || die "nginx worker $pid still runs after ${TIMEOUT}s"
  done
}

backup="$(mktemp)"
trap 'rm -f "$backup"' EXIT
cp "$FILE" "$backup"
case "$ACTION" in
  drain)
    up="$(grep -E '^[[:space:]]*server[[:space:]]' "$FILE" | grep -Evc '[[:space:]]down[[:space:];]' || true)"
    if ! grep -E "$PATTERN" "$FILE" | grep -Eq '[[:space:]]down[[:space:];]'; then
      [ "$up" -gt 1 ] || die "$HOST is the last host up; not draining it"
      sed -E -i "/$PATTERN/ s/[[:space:]]*;/ down;/" "$FILE"
    fi
    ;;
  undrain)
    sed -E -i "/$PATTERN/ s/[[:space:]]+down([[:space:]]*;)/\1/" "$FILE"
    ;;
  *) die "unknown action $ACTION (drain or undrain)" ;;
esac
apply "$backup"
echo "upstream: $ACTION $HOST done"
