"""The layers import one way: api/integrations -> services -> db -> domain (docs: STYLE.md, "Layout").

Read from the source with ``ast``, nothing imported or executed, so a cycle or a stray query shows up here
before it shows up as a tangle. Every import counts, the ones inside a function too: a lazy import is
still a dependency, only a later one.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "udipick"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted (``udipick.api.events``)
    target: str  # what it imports, dotted, names included (``udipick.services.outbox.head_position``)
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(path: Path, source: str | None = None) -> list[Import]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno, type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.extend(Import(module, f"{base}.{alias.name}", node.lineno, type_only) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    text = path.read_text(encoding="utf-8") if source is None else source
    visit(ast.parse(text, filename=str(path)), False)
    return found


def _layer_files(layer: str) -> list[Path]:
    root = PACKAGE / layer
    # migrations are Alembic's scripts, not importable modules of the layer
    return sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)


def _imports(layer: str) -> list[Import]:
    return [i for p in _layer_files(layer) for i in _imports_of(p)]


def _layer_of(target: str) -> str | None:
    parts = target.split(".")
    return parts[1] if parts[0] == "udipick" and len(parts) > 1 else None


def _show(found: list[Import]) -> str:
    return "\n".join(f"  {i.module}:{i.line} imports {i.target}" for i in found)


def test_every_layer_has_modules_to_check():
    for layer in ("domain", "services", "db", "api", "integrations"):
        assert _layer_files(layer), f"no modules under {layer}/: the checks below would pass on nothing"


def test_domain_imports_nothing_from_udipick_but_domain():
    """Pure rules: tested as tables, no database, no framework, no settings object."""
    found = [i for i in _imports("domain") if _layer_of(i.target) not in (None, "domain")]
    assert not found, "domain/ reaches out of itself:\n" + _show(found)


def test_services_import_neither_api_nor_integrations():
    """A service gets a label renderer, a printer or an HTTP client as an adapter it is handed (a Protocol
    declared in services/), so integrations may build on services without a cycle."""
    found = [i for i in _imports("services") if _layer_of(i.target) in ("api", "integrations", "cli")]
    assert not found, "services/ imports an outer layer:\n" + _show(found)


def test_db_imports_neither_services_nor_api():
    found = [i for i in _imports("db") if _layer_of(i.target) in ("services", "api", "integrations", "cli")]
    assert not found, "db/ imports an outer layer:\n" + _show(found)


#: api modules that may import a database driver, and why. Only for dependency injection and start-up,
#: never to run a statement: the check below for SQL text and statement calls still applies to them.
API_DRIVER_IMPORTS = {
    # the request-scoped ``db`` dependency and the per-request token cache are typed as a sessionmaker;
    # it is handed to services unopened
    ("udipick.api.deps", "sqlalchemy.ext.asyncio.async_sessionmaker"): "the type of the injected `db` dependency",
    ("udipick.api.erp", "sqlalchemy.ext.asyncio.async_sessionmaker"): "the type of `db` handed to the bulk loaders",
    # each new hot-pool connection is handed to the services' ``prepare_statements`` before its first scan
    # (under ``TYPE_CHECKING``: an annotation only)
    ("udipick.api.app", "asyncpg"): "the type of the connection `prepare_hot_statements` hands to services",
}

DRIVERS = ("sqlalchemy", "asyncpg")


def test_api_imports_no_database_driver_but_the_listed_type_imports():
    found = [
        i
        for i in _imports("api")
        if i.target.split(".")[0] in DRIVERS
        and (i.module, i.target) not in API_DRIVER_IMPORTS
        and (i.module, i.target.split(".")[0]) not in API_DRIVER_IMPORTS
    ]
    assert not found, "api/ imports a database driver (move the query into a service):\n" + _show(found)


def test_the_listed_api_driver_imports_are_still_there():
    """An exception nobody needs any more is removed, so the list stays the truth."""
    present = {(i.module, i.target) for i in _imports("api")} | {
        (i.module, i.target.split(".")[0]) for i in _imports("api")
    }
    stale = [key for key in API_DRIVER_IMPORTS if key not in present]
    assert not stale, f"no longer imported, drop from API_DRIVER_IMPORTS: {stale}"


#: a string that is a statement: SQL verbs as udipick writes them, at the start of the literal
_SQL = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\(|LISTEN\s|NOTIFY\s)"
)
#: calls that run a statement, on a SQLAlchemy session or connection or on an asyncpg connection
_RUNS_SQL = {"execute", "scalar", "scalars", "fetch", "fetchval", "fetchrow", "executemany"}


def _sql_in(path: Path, source: str | None = None) -> list[str]:
    found = []
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value):
            found.append(f"  {_module_name(path)}:{node.lineno} SQL text {node.value[:60]!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _RUNS_SQL:
            found.append(f"  {_module_name(path)}:{node.lineno} runs a statement (.{node.func.attr}(...))")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("text", "select"):
            found.append(f"  {_module_name(path)}:{node.lineno} builds a statement ({node.func.id}(...))")
    return found


#: api modules not yet free of statements, each with the reason it is left (the lead owns the list)
API_SQL_LEFT: dict[str, str] = {}


@pytest.mark.parametrize("path", _layer_files("api"), ids=lambda p: p.name)
def test_api_runs_no_sql(path: Path):
    """Controllers call one service per use case and shape HTTP; the queries live in services/."""
    if _module_name(path) in API_SQL_LEFT:
        pytest.skip(API_SQL_LEFT[_module_name(path)])
    found = _sql_in(path)
    assert not found, "SQL in a controller (move it into a service):\n" + "\n".join(found)


def test_the_walker_sees_lazy_relative_and_type_only_imports_and_statements():
    """The checks above are only as good as the walker: it must see every kind of import."""
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import asyncpg\n"
        "from . import sibling\n"
        "from ..db import models\n"
        "if TYPE_CHECKING:\n"
        "    from sqlalchemy.ext.asyncio import AsyncSession\n"
        "def f():\n"
        "    from udipick.integrations.labels import render_label\n"
    )
    # parsed as if it were a services module; nothing is written into the package
    probe = PACKAGE / "services" / "_walker_probe.py"
    found = [(i.target, i.type_only) for i in _imports_of(probe, source)]
    assert found == [
        ("__future__.annotations", False),
        ("typing.TYPE_CHECKING", False),
        ("asyncpg", False),
        ("udipick.services.sibling", False),
        ("udipick.db.models", False),
        ("sqlalchemy.ext.asyncio.AsyncSession", True),
        ("udipick.integrations.labels.render_label", False),
    ]
    assert _sql_in(probe, source) == []
    statements = 'q = "SELECT gln FROM warehouses"\nasync def g(conn):\n    await conn.fetchval(q)\n    text("x")\n'
    assert len(_sql_in(probe, statements)) == 3
