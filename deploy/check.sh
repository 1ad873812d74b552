#!/usr/bin/env bash
# Static checks of the deployment: systemd-analyze verify and security (exposure
# <= 2.5) on the units, nginx -t on the site, shellcheck on the scripts, actionlint
# on every workflow. Installs the Debian/Ubuntu packages it (and the end-to-end
# deploy tests: sshd, rsync, ip) needs, or fails loudly.
#   deploy/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
THRESHOLD=2.5

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# command -> Debian package; only the missing ones are installed.
need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v rsync >/dev/null || need+=(rsync)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ip >/dev/null || need+=(iproute2)
command -v ssh >/dev/null || need+=(openssh-client)
command -v shellcheck >/dev/null || need+=(shellcheck)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
    { echo "ERROR: could not install ${need[*]} (needs root or sudo, and apt)" >&2; exit 1; }
fi
[ -x .venv/bin/actionlint ] || scripts/setup.sh requirements-dev.txt
[ -x .venv/bin/actionlint ] || { echo "ERROR: actionlint is missing from .venv" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The units name /srv/myapp, which does not exist here: check copies whose paths
# point at stub executables instead.
echo "== systemd-analyze verify"
mkdir -p "$WORK/units" "$WORK/srv/myapp/current/.venv/bin"
for tool in uwsgi flask; do
  printf '#!/bin/sh\n' >"$WORK/srv/myapp/current/.venv/bin/$tool"
  chmod +x "$WORK/srv/myapp/current/.venv/bin/$tool"
done
for unit in deploy/systemd/*; do
  sed "s|/srv/myapp|$WORK/srv/myapp|g" "$unit" >"$WORK/units/${unit##*/}"
done
(cd "$WORK/units" && systemd-analyze verify ./*.service ./*.timer)
echo "ok"

echo "== systemd-analyze security --offline=true (threshold $THRESHOLD)"
failed=0
for unit in deploy/systemd/*.service; do
  score="$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')"
  [ -n "$score" ] || { echo "ERROR: no exposure score for $unit" >&2; exit 1; }
  if awk -v s="$score" -v t="$THRESHOLD" 'BEGIN { exit !(s <= t) }'; then
    echo "${unit##*/}: $score"
  else
    echo "${unit##*/}: $score is above $THRESHOLD" >&2
    failed=1
  fi
done
[ "$failed" = 0 ]

echo "== nginx -t (one host, and the load balancer of several)"
mkdir -p "$WORK/nginx/tmp"
cp /etc/nginx/uwsgi_params /etc/nginx/mime.types "$WORK/nginx/"
sed -e "s|/srv/myapp|$WORK/srv/myapp|g" -e "s|unix:/run/myapp/|unix:$WORK/|g" \
  deploy/nginx/myapp.conf >"$WORK/nginx/site.conf"
# The load balancer's site for several hosts, on another port, two example hosts.
printf 'server 192.0.2.11:8000 max_fails=1 fail_timeout=5s;\nserver 192.0.2.12:8000 max_fails=1 fail_timeout=5s;\n' \
  >"$WORK/nginx/upstream.conf"
printf 'server 192.0.2.11:8001 max_fails=1 fail_timeout=5s;\nserver 192.0.2.12:8001 max_fails=1 fail_timeout=5s;\n' \
  >"$WORK/nginx/live-upstream.conf"
sed -e "s|/etc/nginx/myapp-upstream.conf|$WORK/nginx/upstream.conf|" \
  -e "s|/etc/nginx/myapp-live-upstream.conf|$WORK/nginx/live-upstream.conf|" \
  -e "s|listen 80;|listen 127.0.0.1:8090;|" -e "/listen \[::\]:80;/d" \
  deploy/nginx/myapp-hosts.conf >>"$WORK/nginx/site.conf"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log stderr;
events {}
http {
    include mime.types;
    access_log off;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    include site.conf;
}
EOF
/usr/sbin/nginx -e stderr -t -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"

echo "== shellcheck deploy/*.sh"
shellcheck deploy/*.sh
echo "ok"

echo "== actionlint .github/workflows/*.yml"
.venv/bin/actionlint .github/workflows/*.yml
echo "ok"
