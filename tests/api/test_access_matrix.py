"""Every endpoint states who may call it, and the server enforces exactly that.

The test walks every route of the real app: anonymous callers get 401 (unless public), each demo
role and each ERP key scope gets 403 where the endpoint's rule excludes it and never 401/403 where
it includes it.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import login
from udipick.domain.access import ROLES, SCOPES, Access


def _endpoints(app) -> list[tuple[str, str, Access]]:
    out = []
    for route in app.routes:
        if route.path.startswith("/schema") or getattr(route, "route_handler_map", None) is None:
            continue
        for method, handler in _handlers(route):
            if method == "OPTIONS":
                continue
            rule = handler.opt.get("access")
            assert rule is not None, f"{method} {route.path} states no access rule"
            out.append((method, re.sub(r"\{[^}]+\}", "1", route.path), rule))
    # signing out revokes the token the walk uses: walk it last
    return sorted(out, key=lambda e: e[1].endswith("/logout"))


def _handlers(route):
    for method, entry in route.route_handler_map.items():
        handler = entry[0] if isinstance(entry, tuple) else entry
        yield method, handler


async def _call(client, method: str, path: str, headers: dict[str, str]):
    if method in ("POST", "PUT", "PATCH"):
        return await client.request(method, path, headers=headers, json={})
    return await client.request(method, path, headers=headers)


async def test_every_endpoint_enforces_its_access_rule(client, demo_db):
    from udipick.services.identity import add_api_key

    app = client.app
    endpoints = _endpoints(app)
    assert len(endpoints) >= 15
    headers = {role: await login(client, role) for role in sorted(ROLES)}
    db = demo_db
    keys = {
        scope: {"Authorization": f"Bearer {await add_api_key(db, f'k-{scope}', [scope])}"} for scope in sorted(SCOPES)
    }
    checked = 0
    # "may pass the guard" is a not-in on purpose: past the guard, the empty body and the id 1 meet each
    # endpoint's own answer (200, 400, 404, 409, 422...), which is not what this matrix tests
    for method, path, rule in endpoints:
        r = await _call(client, method, path, {})
        if rule.public:
            assert r.status_code not in (401, 403), (method, path)
            continue
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["code"] == "not-authenticated"
        for role, h in headers.items():
            r = await _call(client, method, path, h)
            if role in rule.roles:
                assert r.status_code not in (401, 403), (method, path, role, r.text)
            else:
                assert r.status_code == 403, (method, path, role, r.status_code)
                assert r.json()["code"] == "permission-denied"
            checked += 1
        for scope, h in keys.items():
            r = await _call(client, method, path, h)
            if scope in rule.scopes:
                assert r.status_code not in (401, 403), (method, path, scope, r.text)
            else:
                assert r.status_code == 403, (method, path, scope, r.status_code)
            checked += 1
    assert checked > 100


async def test_openapi_states_who_may_call_each_operation(client):
    schema = (await client.get("/schema/openapi.json")).json()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            assert "Who may call:" in op.get("description", ""), (method, path)


async def test_a_token_is_bound_to_its_device(client):
    h = await login(client, "picker", device="scanner-7")
    assert (await client.get("/api/v1/auth/me", headers={**h, "X-Device-Id": "scanner-7"})).status_code == 200
    r = await client.get("/api/v1/auth/me", headers={**h, "X-Device-Id": "scanner-9"})
    assert r.status_code == 401 and "another device" in r.json()["detail"]


async def test_logout_revokes_the_token(client):
    h = await login(client, "picker")
    assert (await client.post("/api/v1/auth/logout", headers=h)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=h)).status_code == 401


async def test_wrong_password_is_refused_and_audited(client, demo_db):
    from sqlalchemy import select

    from udipick.db.models import AuditEntry

    r = await client.post("/api/v1/auth/login", json={"username": "qa", "password": "nope", "deviceId": "d1"})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope", "deviceId": "d1"})
    assert r.status_code == 401
    async with demo_db() as s:
        rows = (
            await s.execute(select(AuditEntry.username, AuditEntry.outcome).where(AuditEntry.action == "login"))
        ).all()
    assert ("qa", "failed") in rows and ("ghost", "failed") in rows


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer udk_x_y", "Bearer udt_forged"])
async def test_bad_credentials_get_a_problem_not_a_crash(client, header):
    r = await client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
