#!/usr/bin/env bash
# Regenerate migration 0001 from the models (server/udipick/db/schema.py). Only while 0001 has not
# been released: afterwards every schema change is a new revision. Serialised with a lock, since
# several people may run it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/udipick-regen.lock
flock 9
DB=udipick_autogen_$$
V=server/udipick/db/migrations/versions
tmp=$(mktemp -d)
for f in "$V"/*.py; do case "$f" in *0001_*) rm -f "$f";; *) mv "$f" "$tmp/";; esac; done
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $DB"
trap 'mv "$tmp"/*.py "$V"/ 2>/dev/null || true; psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB"' EXIT
DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$DB .venv/bin/alembic -c alembic.ini revision --autogenerate --rev-id 0001 -m "initial schema" >/dev/null
sed -i 's/^Create Date: .*/Create Date: (generated from the models)/' "$V"/0001_initial_schema.py
