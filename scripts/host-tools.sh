#!/usr/bin/env bash
# The host tools the tests use as oracles: dtc/fdtdump and libfdt (device-tree-compiler,
# libfdt-dev), gcc and readelf; and the headless browser the HTML report is tested in
# (chromium-headless-shell, driven by playwright-core). Installs what is missing when it can
# (root with apt-get); otherwise names what to install and fails, so no test runs without it.
set -euo pipefail
missing=()
command -v dtc >/dev/null || missing+=(device-tree-compiler)
command -v fdtdump >/dev/null || missing+=(device-tree-compiler)
[ -f /usr/include/libfdt.h ] || missing+=(libfdt-dev)
command -v gcc >/dev/null || missing+=(gcc)
command -v readelf >/dev/null || missing+=(binutils)
# The browser's recommends (a desktop's worth of services) are not needed to render a page.
browser=()
[ -x /usr/bin/chromium-headless-shell ] || browser+=(chromium-headless-shell)
[ ${#missing[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ] && exit 0
pkgs=""
[ ${#missing[@]} -eq 0 ] || pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing host tools: $pkgs${browser[*]}" >&2
  apt-get update -qq
  # shellcheck disable=SC2086
  [ -z "$pkgs" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
  [ ${#browser[@]} -eq 0 ] ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${browser[@]}" >/dev/null
  exit 0
fi
pkgs="$pkgs${browser[*]}"
echo "missing host tools for the tests: install $pkgs (e.g. sudo apt-get install $pkgs)" >&2
exit 1
