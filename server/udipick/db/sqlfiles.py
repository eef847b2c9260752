"""udipick's SQL functions: one ``.sql`` file each in ``db/sql/``, applied by a migration, called by name.

The files are the source of truth for the current text of every function and trigger function
(``db/sql/README.md`` says how to change one). One migration, the newest that applies SQL, reads them,
through ``apply``, and records the sha256 of each file it applies (``SQL_FILES``): a file edited after
that migration was written no longer matches its digest, so ``alembic upgrade`` refuses to apply it
(and ``tests/db/test_sql_files.py`` fails) until a new migration records the new text. Once a newer
migration applies files, the older one carries the texts it applied (``SQL_TEXTS``, checked against the
same digests), so that a fresh database replays history as it happened and a later edit of a file
cannot change what an old revision did.

``python -m udipick.db.sqlfiles`` prints the current files' digests, as a new migration records them;
``python -m udipick.db.sqlfiles texts <migration.py>`` prints the texts a migration recorded (from the
files, or from git history when a file has changed since), as ``SQL_TEXTS`` for that migration.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


def files() -> list[str]:
    """The names of the function files, sorted."""
    return sorted(p.name for p in SQL_DIR.glob("*.sql"))


def text(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def digest(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def digests() -> dict[str, str]:
    """Every file's sha256, by name."""
    return {name: digest(text(name)) for name in files()}


class StaleMigration(RuntimeError):
    """A file differs from the text its migration recorded: the file was edited without a new migration."""


def apply(op, recorded: Mapping[str, str], texts: Mapping[str, str] | None = None) -> None:
    """Execute each recorded file, in the mapping's order, after checking it is the text recorded.

    ``op`` is Alembic's ``op``. The newest applying migration reads the files (``texts`` None); an
    older one passes the texts it applied. A file's statement is ``CREATE OR REPLACE FUNCTION``, so
    applying one that did not change leaves the function as it was. A migration that changes a
    function's arguments or result drops it first: ``CREATE OR REPLACE`` cannot change those.
    """
    for name, expected in recorded.items():
        sql = text(name) if texts is None else texts[name]
        if digest(sql) != expected:
            where = f"db/sql/{name}" if texts is None else f"the copy of {name} a migration carries"
            raise StaleMigration(
                f"{where} is not the text its migration recorded (sha256 {digest(sql)}, recorded {expected}): "
                "a changed function needs a new migration that applies it (db/sql/README.md)"
            )
        op.execute(sql)


def recorded_text(name: str, expected: str) -> str:
    """The text of ``name`` whose sha256 is ``expected``: the file, or its version in git history (a tool
    for writing migrations; migrations themselves never call it)."""
    if digest(sql := text(name)) == expected:
        return sql
    path = SQL_DIR / name
    cwd = SQL_DIR.parent
    commits = subprocess.run(
        ["git", "log", "--format=%H", "--", str(path)], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.split()
    for commit in commits:
        shown = subprocess.run(
            ["git", "show", f"{commit}:./sql/{name}"], cwd=cwd, capture_output=True, text=True, check=False
        )
        if shown.returncode == 0 and digest(shown.stdout) == expected:
            return shown.stdout
    raise LookupError(f"no version of {name} in the files or git history has sha256 {expected}")


def named_call(function: str, names: Iterable[str]) -> str:
    """``SELECT function(p_a => $1, p_b => $2, ...)`` for parameters named ``p_<name>``.

    Named notation: the call says which value is which parameter, so a parameter renamed in the file
    fails the call by name (``tests/db/test_sql_files.py`` compares them with the database's), and a
    reordered one changes nothing. Prepared once per connection, like the positional form.
    """
    return f"SELECT {function}(" + ", ".join(f"p_{n} => ${i}" for i, n in enumerate(names, 1)) + ")"


def _literal(sql: str) -> str:
    """A Python literal of ``sql``: triple-quoted as the migrations write SQL when that reads back the same."""
    return f'"""{sql}"""' if '"""' not in sql and "\\" not in sql and not sql.endswith('"') else repr(sql)


def _main(argv: list[str]) -> None:
    if argv[:1] == ["texts"] and len(argv) == 2:
        spec = importlib.util.spec_from_file_location("udipick_migration", argv[1])
        assert spec is not None and spec.loader is not None
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        sys.stdout.write(
            "SQL_TEXTS = {\n"
            + "".join(f'    "{n}": {_literal(recorded_text(n, d))},\n' for n, d in migration.SQL_FILES.items())
            + "}\n"
        )
    elif not argv:
        sys.stdout.write("SQL_FILES = {\n" + "".join(f'    "{n}": "{d}",\n' for n, d in digests().items()) + "}\n")
    else:
        sys.exit("usage: python -m udipick.db.sqlfiles [texts MIGRATION.py]")


if __name__ == "__main__":  # pragma: no cover - a tool for writing migrations
    _main(sys.argv[1:])
