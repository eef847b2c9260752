#!/usr/bin/env bash
# Install what the tests need, then run the whole suite. Uses UDIPICK_TEST_DATABASE_URL when set,
# otherwise an embedded PostgreSQL started by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
UDIPICK_WITH_BROWSER=1 bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
