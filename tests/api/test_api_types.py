"""The PWA's API types are generated from the server's OpenAPI document, and the committed copies are current.

``scripts/gen-api-types.sh`` writes ``pwa/src/openapi/openapi.json`` (what ``/schema/openapi.json``
serves) and ``schema.d.ts`` (openapi-typescript's types the screens import). A change to a route or
an answer's Struct without regenerating them fails here, so the handheld never compiles against a
server that no longer exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "pwa" / "src" / "openapi"


def test_the_committed_openapi_document_and_pwa_types_are_what_the_server_generates(tmp_path):
    if not (ROOT / "pwa" / "node_modules" / "openapi-typescript").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT / "pwa", check=True, capture_output=True)
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-api-types.sh"), str(tmp_path)],
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in ("openapi.json", "schema.d.ts"):
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        assert fresh.strip(), name
        assert (COMMITTED / name).read_text(encoding="utf-8") == fresh, (
            f"pwa/src/openapi/{name} is not what the server generates: run scripts/gen-api-types.sh and commit it"
        )
