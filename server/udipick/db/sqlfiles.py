"""udipick's SQL functions: one ``.sql`` file each in ``db/sql/``, applied by a migration, called by name.

The files are the source of truth for the current text of every function and trigger function
(``db/sql/README.md`` says how to change one). One migration, the newest that applies SQL, reads them,
through ``apply``, and records the sha256 of each file it applies: a file edited after that migration
was written no longer matches its digest, so ``alembic upgrade`` refuses to apply it (and
``tests/db/test_sql_files.py`` fails) until a new migration records the new text. Older migrations
carry the text they applied written out, so that a fresh database replays history as it happened.

Run ``python -m udipick.db.sqlfiles`` for the digests of the current files, as a new migration records them.
"""

from __future__ import annotations

import hashlib
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


def apply(op, recorded: Mapping[str, str]) -> None:
    """Execute each recorded file, in the mapping's order, after checking it is still the text recorded.

    ``op`` is Alembic's ``op``; a file's statement is ``CREATE OR REPLACE FUNCTION``, so applying one
    that did not change leaves the function as it was. A migration that changes a function's
    arguments or result drops it first: ``CREATE OR REPLACE`` cannot change those.
    """
    for name, expected in recorded.items():
        sql = text(name)
        if digest(sql) != expected:
            raise StaleMigration(
                f"db/sql/{name} is not the text its migration recorded (sha256 {digest(sql)}, recorded {expected}): "
                "a changed function needs a new migration that applies it (db/sql/README.md)"
            )
        op.execute(sql)


def named_call(function: str, names: Iterable[str]) -> str:
    """``SELECT function(p_a => $1, p_b => $2, ...)`` for parameters named ``p_<name>``.

    Named notation: the call says which value is which parameter, so a parameter renamed in the file
    fails the call by name (``tests/db/test_sql_files.py`` compares them with the database's), and a
    reordered one changes nothing. Prepared once per connection, like the positional form.
    """
    return f"SELECT {function}(" + ", ".join(f"p_{n} => ${i}" for i, n in enumerate(names, 1)) + ")"


if __name__ == "__main__":  # pragma: no cover - a tool for writing migrations
    sys.stdout.write("{\n" + "".join(f'    "{n}": "{d}",\n' for n, d in digests().items()) + "}\n")
