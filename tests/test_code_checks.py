"""The code checks CI runs with the tests: ruff (lint and format) and mypy (strict for ``domain/``).

Each tool runs as its own process from the repository root, with the interpreter running the tests (so the
versions pinned in ``constraints.txt``), and reads its configuration from ``pyproject.toml``; a test fails with
the tool's own report. None writes a cache: a check of the tree as it is, never of what a cache remembers.

A suppression is a small rule exception, so it says why on its own line: ``# type: ignore[code]  # reason``
(mypy reads nothing after the bracket but another comment) and ``# noqa: CODE  reason`` (ruff stops reading at
the first word that is not a code, so the reason may follow as ``(...)``, ``- ...`` or ``# ...``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("server", "tests", "bench")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def _assert_quiet(result: subprocess.CompletedProcess[str]) -> None:
    # a warning on stderr with exit status 0 (a deprecated setting, say) counts as a report too
    if result.returncode != 0 or result.stderr.strip():
        pytest.fail(
            f"{' '.join(result.args[2:])} exited {result.returncode}:\n{result.stdout}{result.stderr}", pytrace=False
        )


def test_ruff_finds_nothing_to_lint() -> None:
    _assert_quiet(_run("ruff", "check", "--no-cache", *SOURCES))


def test_ruff_format_would_change_nothing() -> None:
    _assert_quiet(_run("ruff", "format", "--check", "--no-cache", *SOURCES))


def test_mypy_finds_no_type_error() -> None:
    # the packages, strictness and search path come from [tool.mypy]; /dev/null as cache directory writes none
    _assert_quiet(_run("mypy", "--cache-dir", os.devnull))


# ---- a reason on every suppression --------------------------------------------------------------------------

_DIRECTIVE = re.compile(r"#\s*(?:type:\s*ignore|noqa)\b", re.IGNORECASE)
_EXPLAINED_IGNORE = re.compile(r"#\s*type:\s*ignore\[[\w\s,-]+\]\s*#(?P<reason>.*)", re.IGNORECASE)
_EXPLAINED_NOQA = re.compile(r"#\s*noqa:\s*[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*(?P<reason>.*)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{3,}")


def unexplained(comment: str) -> bool:
    """True when ``comment`` holds a ``type: ignore`` or ``noqa`` without error codes, or without a reason after
    them: some words of text before the next directive, if any."""
    for directive in _DIRECTIVE.finditer(comment):
        explained = _EXPLAINED_IGNORE.match(comment, directive.start()) or _EXPLAINED_NOQA.match(
            comment, directive.start()
        )
        if explained is None:
            return True
        reason = _DIRECTIVE.split(explained["reason"], maxsplit=1)[0]
        if not _WORD.search(reason):
            return True
    return False


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("# type: ignore[arg-type]  # INSERT ... RETURNING always gives the new id", False),
        ("# type: ignore[misc, name-defined]  # the body type is chosen at run time", False),
        ("# noqa: BLE001  (a bad run must not end the loop)", False),
        ("# noqa: BLE001 - a scan must never take the request down", False),
        ("# noqa: F401, E402  # imported to register its tables", False),
        ("# type: ignore[arg-type]  # reason  # noqa: E501 (long line)", False),
        ("# a comment that mentions neither", False),
        ("# type: ignore[arg-type]", True),
        ("# type: ignore[arg-type]  #", True),
        ("# type: ignore[arg-type]  # (x)", True),
        ("# type: ignore[arg-type] because mypy ignores this text", True),
        ("# type: ignore  # no error code: it would hide every error on the line", True),
        ("# noqa: F401", True),
        ("# noqa: BLE001  (ok)", True),
        ("# noqa  # every rule, no code", True),
        ("# NOQA: E501", True),
        ("# type: ignore[arg-type]  # explained  # noqa: E501", True),
    ],
)
def test_a_suppression_needs_codes_and_a_reason(comment: str, expected: bool) -> None:
    assert unexplained(comment) is expected


def test_every_suppression_in_server_says_why() -> None:
    found = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        with tokenize.open(path) as source:
            for token in tokenize.generate_tokens(source.readline):
                if token.type == tokenize.COMMENT and unexplained(token.string):
                    found.append(f"{path.relative_to(ROOT)}:{token.start[0]}: {token.string}")
    if found:
        pytest.fail(
            "say why on the line: '# type: ignore[code]  # reason' or '# noqa: CODE  (reason)':\n" + "\n".join(found),
            pytrace=False,
        )
