#!/usr/bin/env bash
# The host tools the tests use as oracles: dtc/fdtdump and libfdt (device-tree-compiler,
# libfdt-dev), gcc and readelf. Installs what is missing when it can (root with apt-get);
# otherwise names what to install and fails, so no test runs without its oracle.
set -euo pipefail
missing=()
command -v dtc >/dev/null || missing+=(device-tree-compiler)
command -v fdtdump >/dev/null || missing+=(device-tree-compiler)
[ -f /usr/include/libfdt.h ] || missing+=(libfdt-dev)
command -v gcc >/dev/null || missing+=(gcc)
command -v readelf >/dev/null || missing+=(binutils)
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing host tools: $pkgs" >&2
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
  exit 0
fi
echo "missing host tools for the tests: install $pkgs (e.g. sudo apt-get install $pkgs)" >&2
exit 1
