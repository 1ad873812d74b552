#!/usr/bin/env bash
# One-time setup of an empty Debian 12 / Ubuntu 24.04 server, as root. Safe to
# run again: it never overwrites /etc/myapp/myapp.env.
#   scp -r deploy root@HOST:/root/myapp-deploy
#   ssh root@HOST /root/myapp-deploy/bootstrap.sh --domain api.example.com \
#       --deploy-key 'ssh-ed25519 AAAA... github-actions' [--database-url URL]
# Creates: user myapp (runs the service and receives deploys over ssh),
# /srv/myapp/{releases,venvs}, /etc/myapp/myapp.env (secrets, mode 0400), the
# systemd units (enabled), the nginx site, and a sudo rule that lets myapp
# reload or restart its own service and nothing else.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DOMAIN=""
DEPLOY_KEY=""
DATABASE_URL="sqlite:////var/lib/myapp/myapp.sqlite"

while [ $# -gt 0 ]; do
  case "$1" in
    --domain) DOMAIN="$2" ;;
    --deploy-key) DEPLOY_KEY="$2" ;;
    --database-url) DATABASE_URL="$2" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -n "$DOMAIN" ] || { echo "--domain is required" >&2; exit 2; }
[ -n "$DEPLOY_KEY" ] || { echo "--deploy-key (a public key line) is required" >&2; exit 2; }

echo "== packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# uWSGI is built from source by pip: it needs a compiler and Python's headers.
# Redis (loopback only, Debian's default) is the rate limits' and the live
# streams' shared store: the stream relay reads the events uWSGI publishes there.
apt-get install -y -qq --no-install-recommends \
  python3 python3-venv python3-dev build-essential nginx rsync sudo ca-certificates \
  redis-server >/dev/null

echo "== user and directories"
id myapp >/dev/null 2>&1 ||
  useradd --system --create-home --home-dir /home/myapp --shell /bin/bash myapp
# nginx reads the static assets and connects to the socket through group myapp.
usermod -a -G myapp www-data
install -d -o myapp -g myapp -m 0750 /srv/myapp /srv/myapp/releases /srv/myapp/venvs
install -d -o myapp -g myapp -m 0700 /home/myapp/.ssh
# systemd's StateDirectory; made now because the first migration runs before
# the service has ever started.
install -d -o myapp -g myapp -m 0700 /var/lib/myapp
# `restrict`: no forwarding, no pty; rsync and the deploy commands need neither.
printf 'restrict %s\n' "$DEPLOY_KEY" >/home/myapp/.ssh/authorized_keys
chown myapp:myapp /home/myapp/.ssh/authorized_keys
chmod 0600 /home/myapp/.ssh/authorized_keys

echo "== secrets: /etc/myapp/myapp.env"
install -d -o root -g myapp -m 0750 /etc/myapp
if [ ! -f /etc/myapp/myapp.env ]; then
  umask 077
  cat >/etc/myapp/myapp.env <<EOF
# Read by systemd (EnvironmentFile) and, the same way, by deploy/envfile.py for
# the migrations and the canary. KEY=value lines, taken literally: no \$ or &
# expansion; a value in '...' is verbatim; a backslash escapes the next character.
MYAPP_CONFIG=production
DATABASE_URL=$DATABASE_URL
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
# Comma-separated browser origins allowed by CORS; none by default.
CORS_ORIGINS=
# Shared store of rate limits and live streams (the relay needs it); another
# host's Redis when there are several app hosts.
REDIS_URL=redis://127.0.0.1:6379/0
EOF
  chown myapp:myapp /etc/myapp/myapp.env
  chmod 0400 /etc/myapp/myapp.env
  umask 022
fi

echo "== systemd units"
install -m 0644 "$HERE"/systemd/myapp.service "$HERE"/systemd/myapp-worker.service \
  "$HERE"/systemd/myapp-live.service \
  "$HERE"/systemd/myapp-prune.service "$HERE"/systemd/myapp-prune.timer /etc/systemd/system/
systemctl daemon-reload
# Both start at the first deploy (reload-or-restart, restart).
systemctl enable myapp.service myapp-worker.service myapp-live.service
systemctl enable --now myapp-prune.timer

echo "== sudo: myapp may reload or restart myapp.service, restart myapp-worker.service and myapp-live.service, nothing else"
cat >/etc/sudoers.d/myapp <<'EOF'
myapp ALL=(root) NOPASSWD: /usr/bin/systemctl reload-or-restart myapp.service, /usr/bin/systemctl restart myapp.service, /usr/bin/systemctl restart myapp-worker.service myapp-live.service
EOF
chmod 0440 /etc/sudoers.d/myapp
visudo -cf /etc/sudoers.d/myapp >/dev/null

echo "== nginx site for $DOMAIN"
sed "s/server_name example.com;/server_name $DOMAIN;/" "$HERE/nginx/myapp.conf" \
  >/etc/nginx/sites-available/myapp
ln -sfn /etc/nginx/sites-available/myapp /etc/nginx/sites-enabled/myapp
rm -f /etc/nginx/sites-enabled/default
nginx -t
systemctl reload nginx

echo "Done. Next: the first deploy (deploy/README.md, 'First deploy')."
