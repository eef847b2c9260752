"""Every domain error has its own HTTP status row, and renders as an RFC 9457 problem."""

from __future__ import annotations

import pytest

from udipick.domain import errors
from udipick.domain.problem import STATUS, problem_body


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


@pytest.mark.parametrize("cls", sorted(_all_subclasses(errors.DomainError), key=lambda c: c.__name__))
def test_every_domain_error_has_a_status_row_and_a_unique_code(cls):
    assert cls in STATUS, f"{cls.__name__} has no row in domain.problem.STATUS"
    assert 400 <= STATUS[cls] < 600
    codes = [c.code for c in _all_subclasses(errors.DomainError)]
    assert codes.count(cls.code) == 1, f"{cls.__name__}.code {cls.code!r} is not unique"


def test_context_becomes_top_level_members_without_overriding_the_standard_ones():
    exc = errors.InsufficientStock("only 3 left", available=3, status="ignored")
    body = problem_body(exc, instance="/x")
    assert body["status"] == 409 and body["available"] == 3
    assert body["type"].endswith("/insufficient-stock") and body["detail"] == "only 3 left"


def test_no_refusal_is_raised_with_a_fact_the_problem_body_would_drop():
    """A context key named like a standard member (``status``, ``code``, ...) never reaches the client:
    ``task-not-open`` once said "This task is already 409". Every call of a domain error in the server's
    source names its facts otherwise (``taskStatus``, ``orderStatus``)."""
    import ast
    from pathlib import Path

    names = {c.__name__ for c in _all_subclasses(errors.DomainError)} | {"DomainError"}
    reserved = {"type", "title", "status", "detail", "code", "instance"}
    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "server" / "udipick").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in names:
                found += [f"{path.name}:{node.lineno} {name}({k.arg}=...)" for k in node.keywords if k.arg in reserved]
    assert found == []
