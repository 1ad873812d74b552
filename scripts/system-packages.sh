#!/usr/bin/env bash
# Install the missing Debian/Ubuntu packages named in a list (default
# scripts/system-packages.txt): with apt-get when root, else name them and the
# command in one line and fail.
#   scripts/system-packages.sh [list-file]
set -euo pipefail
cd "$(dirname "$0")/.."
LIST="${1:-scripts/system-packages.txt}"
[ -r "$LIST" ] || { echo "ERROR: cannot read the package list $LIST" >&2; exit 2; }
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$LIST")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
command="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ERROR: missing system packages ${missing[*]}; install them as root: $command" >&2
  exit 1
fi
echo "== $command"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
