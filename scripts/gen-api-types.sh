#!/usr/bin/env bash
# Write the server's OpenAPI document and the PWA's TypeScript types generated from it:
#   pwa/src/openapi/openapi.json   what /schema/openapi.json serves (no server is started)
#   pwa/src/openapi/schema.d.ts    openapi-typescript's types: components["schemas"]["PackageClosed"], ...
# Run after changing a route or an answer's Struct, and commit both files; tests/api/test_api_types.py
# fails while they differ from what the server says. Needs the Python environment and `npm ci` in pwa/.
# Usage: scripts/gen-api-types.sh [OUT_DIR]   (default pwa/src/openapi; the test writes to a temp folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/pwa/src/openapi}" && cd "${1:-$root/pwa/src/openapi}" && pwd)"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
# this checkout's server, whatever the environment has installed
PYTHONPATH="$root/server${PYTHONPATH:+:$PYTHONPATH}" "$python" -m udipick.api.openapi "$out/openapi.json"
cd "$root/pwa"
node node_modules/openapi-typescript/bin/cli.js "$out/openapi.json" --output "$out/schema.d.ts" >/dev/null
