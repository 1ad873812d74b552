#!/usr/bin/env bash
# Refresh the web client's vendored libraries from npm's published packages:
#   scripts/vendor-web.sh [uplot-version] [axe-core-version]
# uPlot (MIT) is served to users: myapp/web/static/vendor/uplot/.
# axe-core (MPL-2.0) is for the browser tests only: myapp/web/testing/axe/.
# Only the built files and their licences are copied; no build step, no node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
UPLOT_VERSION="${1:-1.6.32}"
AXE_VERSION="${2:-4.14.1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

unpack() {  # unpack <package> <version>: the npm tarball, extracted into $work/<package>
  (cd "$work" && npm pack --silent "$1@$2" >/dev/null)
  mkdir -p "$work/$1"
  tar -xzf "$work/$1-$2.tgz" -C "$work/$1" --strip-components=1
}

unpack uplot "$UPLOT_VERSION"
dest=myapp/web/static/vendor/uplot
rm -rf "$dest" && mkdir -p "$dest"
cp "$work/uplot/dist/uPlot.iife.min.js" "$work/uplot/dist/uPlot.min.css" "$dest/"
cp "$work/uplot/LICENSE" "$dest/LICENSE.txt"  # served: MIT asks for the notice with every copy
echo "uPlot $UPLOT_VERSION from npm (dist/uPlot.iife.min.js, dist/uPlot.min.css)" > "$dest/VERSION"

unpack axe-core "$AXE_VERSION"
dest=myapp/web/testing/axe
rm -rf "$dest" && mkdir -p "$dest"
cp "$work/axe-core/axe.min.js" "$dest/"
cp "$work/axe-core/LICENSE" "$dest/LICENSE"
echo "axe-core $AXE_VERSION from npm (axe.min.js)" > "$dest/VERSION"

echo "vendored uPlot $UPLOT_VERSION and axe-core $AXE_VERSION"
