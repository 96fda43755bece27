#!/usr/bin/env bash
# No source line over 120 characters (Biome's formatter cannot split a long string or template).
set -euo pipefail
cd "$(dirname "$0")/.."
long=$(git ls-files -co --exclude-standard '*.ts' '*.mjs' '*.js' '*.c' '*.h' | grep -v '^docs/abi/' |
  xargs -r awk 'length > 120 { print FILENAME ":" FNR ": " length " characters" }')
[ -z "$long" ] && exit 0
echo "lines over 120 characters:" >&2
echo "$long" >&2
exit 1
