#!/usr/bin/env bash
# Install what udipick needs on a fresh clone: Debian libraries (as root), a virtualenv with the
# package, and (when present) the PWA build. Idempotent; sourced by run-demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_debs=()
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
have_deb fonts-noto-cjk || need_debs+=(fonts-noto-cjk)  # Chinese text in label previews
if [ "${UDIPICK_WITH_BROWSER:-0}" = 1 ]; then have_deb chromium || need_debs+=(chromium); fi  # browser tests
if [ ${#need_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian packages: ${need_debs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
  else
    echo "udipick needs Debian packages: ${need_debs[*]} (run: sudo apt-get install -y ${need_debs[*]})" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.udipick-installed
# constraints.txt pins every dependency to the versions the suite last passed with, so a new upstream
# release changes nothing until someone refreshes it (pip freeze --exclude-editable > constraints.txt)
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import udipick, litestar, asyncpg" # fails loudly if the install did not take
  touch "$stamp"
fi

if [ -f pwa/package.json ]; then
  bash scripts/build-pwa.sh
fi
