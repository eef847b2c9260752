"""SQL functions live in ``db/sql/*.sql``: the database the migrations build has exactly those functions,
the newest migration that applies SQL recorded exactly those files, and the code calls them by name.

``db/sql/README.md`` says how to change a function; these tests are what catches a step left out.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from udipick.db import sqlfiles
from udipick.db.migrate import alembic_config
from udipick.services import picking, replay

_FUNCTIONS = """
SELECT p.oid, p.proname, pg_get_function_identity_arguments(p.oid) AS identity, pg_get_functiondef(p.oid) AS def
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'udipick\\_%'
 ORDER BY p.proname, identity
"""


def _statement(name: str) -> tuple[str, str]:
    """A file's function name and body (the text between its dollar quotes), checking it is one statement,
    ``CREATE OR REPLACE FUNCTION`` of the function the file is named after, after any comment lines."""
    sql = sqlfiles.text(name)
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("--")).strip()
    m = re.fullmatch(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?AS \$(\w*)\$(.*)\$\2\$;", code, re.DOTALL)
    assert m is not None, f"{name}: one CREATE OR REPLACE FUNCTION statement ending with its dollar-quoted body and ';'"
    assert f"{m.group(1)}.sql" == name, f"{name} defines {m.group(1)}: one function per file, named after it"
    return m.group(1), m.group(3)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def test_each_file_is_one_create_or_replace_function_named_after_it():
    assert sqlfiles.files(), "no files in db/sql"
    for name in sqlfiles.files():
        _statement(name)


async def test_the_migrated_database_has_exactly_the_functions_of_the_files(database_url):
    """After ``alembic upgrade head``: one ``udipick_*`` function per file and no other; its body as
    ``pg_get_functiondef`` renders it is the file's body, character for character; and executing the file
    again changes no function definition (PostgreSQL re-renders the header, so the header is compared as
    PostgreSQL renders both)."""
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        rows = await conn.fetch(_FUNCTIONS)
        by_name: dict[str, list] = {}
        for r in rows:
            by_name.setdefault(r["proname"], []).append(r)
        files = {_statement(n)[0]: n for n in sqlfiles.files()}
        assert sorted(by_name) == sorted(files), (
            f"functions only in the database (define them in db/sql/): {sorted(set(by_name) - set(files))}; "
            f"files without a function (apply them in a migration): {sorted(set(files) - set(by_name))}"
        )
        before = {(r["proname"], r["identity"]): r["def"] for r in rows}
        for function, name in files.items():
            assert len(by_name[function]) == 1, (
                f"{function} has overloads left behind: {[r['identity'] for r in by_name[function]]}"
            )
            rendered = re.search(r"AS \$function\$(.*)\$function\$\s*\Z", by_name[function][0]["def"], re.DOTALL)
            assert rendered is not None, by_name[function][0]["def"]
            assert rendered.group(1) == _statement(name)[1], f"{function}: the database's body is not {name}'s"
            tx = conn.transaction()
            await tx.start()
            try:
                await conn.execute(sqlfiles.text(name))
                after = {(r["proname"], r["identity"]): r["def"] for r in await conn.fetch(_FUNCTIONS)}
            finally:
                await tx.rollback()
            assert after == before, f"{name} defines {function} otherwise than the migrations did"
        # every trigger runs a function of a file (trigger functions are functions like any other)
        triggers = await conn.fetch(
            "SELECT t.tgname, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal"
        )
        assert triggers
        assert {r["proname"] for r in triggers} <= set(files), [tuple(r) for r in triggers]
    finally:
        await conn.close()


def _revisions() -> list[types.ModuleType]:
    """The migration modules, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://x/y"))
    return [rev.module for rev in reversed(list(script.walk_revisions()))]


def test_only_the_newest_migration_that_applies_sql_reads_the_files_and_it_recorded_them_as_they_are():
    """Editing a file without a migration that applies it fails here (and ``alembic upgrade`` refuses the
    file); a migration that applied files before a newer one carries its texts (``SQL_TEXTS``), so a fresh
    database replays history as it happened."""
    modules = _revisions()
    appliers = [m for m in modules if hasattr(m, "SQL_FILES")]
    assert appliers, "no migration applies db/sql/"
    newest = appliers[-1]
    assert not hasattr(newest, "SQL_TEXTS"), f"{newest.revision} is the newest applying migration: it reads the files"
    assert list(newest.SQL_FILES) == list(dict.fromkeys(newest.SQL_FILES))
    assert sorted(newest.SQL_FILES) == sqlfiles.files(), (
        f"migration {newest.revision} applies {sorted(newest.SQL_FILES)}, db/sql/ holds {sqlfiles.files()}: "
        "a new file needs a migration that applies it"
    )
    changed = [n for n, d in sqlfiles.digests().items() if newest.SQL_FILES[n] != d]
    assert changed == [], (
        f"{changed} changed since migration {newest.revision} recorded them: add a migration that applies the "
        "files with their new digests (python -m udipick.db.sqlfiles) and give "
        f"{newest.revision} its texts (db/sql/README.md)"
    )
    for m in appliers[:-1]:
        texts = getattr(m, "SQL_TEXTS", None)
        assert texts is not None and sorted(texts) == sorted(m.SQL_FILES), (
            f"migration {m.revision} applied files before {newest.revision} did: it carries the texts it applied "
            "(SQL_TEXTS, python -m udipick.db.sqlfiles texts ...)"
        )
        assert {n: sqlfiles.digest(t) for n, t in texts.items()} == dict(m.SQL_FILES), (
            f"{m.revision}: a text is not the one recorded"
        )
    for m in modules[modules.index(newest) + 1 :]:
        source = Path(m.__file__).read_text(encoding="utf-8")
        assert not re.search(r"CREATE\s+(OR\s+REPLACE\s+)?FUNCTION", source, re.IGNORECASE), (
            f"migration {m.revision} defines a function in its own text: put it in db/sql/ and apply the files"
        )


@pytest.mark.parametrize("module", _revisions(), ids=lambda m: m.revision)
def test_no_migration_reads_another_migration_or_a_file_itself(module):
    source = Path(module.__file__).read_text(encoding="utf-8")
    for what in ("importlib", "spec_from_file_location", "__file__", "read_text", "open(", "Path("):
        assert what not in source, f"migration {module.revision} uses {what}: it carries the text it applies"


def test_applying_a_file_that_changed_after_its_migration_recorded_it_is_refused():
    executed: list[str] = []
    op = types.SimpleNamespace(execute=executed.append)
    name = sqlfiles.files()[0]
    with pytest.raises(sqlfiles.StaleMigration, match=name):
        sqlfiles.apply(op, {name: "0" * 64})
    assert executed == []
    sqlfiles.apply(op, {name: sqlfiles.digest(sqlfiles.text(name))})
    assert executed == [sqlfiles.text(name)]
    # a frozen migration applies its own copy, checked against its record the same way
    with pytest.raises(sqlfiles.StaleMigration, match=name):
        sqlfiles.apply(op, {name: sqlfiles.digest(sqlfiles.text(name))}, texts={name: sqlfiles.text(name) + " "})


def _parameters(arguments: str) -> list[str]:
    """Parameter names from ``pg_get_function_arguments`` (``p_a integer, p_b text DEFAULT NULL::text``)."""
    return [a.split()[0] for a in re.split(r",\s*(?![^()]*\))", arguments) if a.strip()]


@pytest.mark.parametrize(
    ("statement", "fields", "function"),
    [
        (picking._ACCEPT, picking.PickAccept._fields, "udipick_pick_accept"),
        (replay.STORE_REPLY, replay.StoreReply._fields, "udipick_store_reply"),
    ],
    ids=["pick write", "store reply"],
)
async def test_the_code_calls_each_write_function_by_the_names_of_its_parameters(
    database_url, statement, fields, function
):
    """A parameter renamed, added or dropped in the file fails here by name, not as a wrong value in the
    wrong place at run time."""
    called = re.findall(r"(\w+) => \$(\d+)", statement)
    assert statement.startswith(f"SELECT {function}(")
    assert [int(i) for _, i in called] == list(range(1, len(fields) + 1)), statement
    assert [n for n, _ in called] == [f"p_{f}" for f in fields]
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        arguments = await conn.fetch(
            "SELECT pg_get_function_arguments(p.oid) FROM pg_proc p WHERE p.proname = $1 AND p.pronamespace = 'public'::regnamespace",
            function,
        )
    finally:
        await conn.close()
    assert len(arguments) == 1
    declared = _parameters(arguments[0][0])
    assert sorted(n for n, _ in called) == sorted(declared), (
        f"called but not declared: {sorted({n for n, _ in called} - set(declared))}; "
        f"declared but not called: {sorted(set(declared) - {n for n, _ in called})}"
    )
