#!/usr/bin/env bash
# Runs a drcon command on the offline stand-in images, for a machine that reaches no image
# registry: `npm run up:offline` (this with `up`) and `npm run drcon:offline -- scale simple=3`.
# Before `up` it builds the stand-ins that are missing (test/images/build.sh, from Debian's apt
# archive, npm and the Go module proxy). Settings come from test/images/ci.env; a DRCON_*
# variable already set in the environment wins.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ "${1:-}" == "up" ]]; then
  bash "$ROOT/test/images/build.sh"
fi
while IFS='=' read -r key value; do
  [[ "$key" =~ ^DRCON_[A-Z_]+$ ]] || continue
  export "$key=${!key:-$value}"
done <"$ROOT/test/images/ci.env"
exec node "$ROOT/bin/run.js" "$@"
