#!/usr/bin/env bash
# Install, then start udipick with the demo warehouse on an embedded PostgreSQL (no DATABASE_URL needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/udipick serve --demo --host "${UDIPICK_HOST:-0.0.0.0}" --port "${UDIPICK_PORT:-8000}"
