"""Sign-outs, deactivated users and revoked keys end at once on every server process (security review, finding 7).

Two apps on one database stand in for two server processes: each remembers the sign-ins it resolved
(``api.deps.TokenCache``), and a change made through one is refused by the other at its next
request. The only wait is for PostgreSQL's notification to arrive (a bounded poll, well under a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from tests.conftest import login
from tests.conftest import test_settings as settings_for_tests
from udipick.api.app import create_app
from udipick.db.models import AuditEntry

NOTIFIED_WITHIN = 1.0


@contextlib.asynccontextmanager
async def two_processes(database_url: str) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient]]:
    a = create_app(settings_for_tests(), database_url=database_url)
    b = create_app(settings_for_tests(), database_url=database_url)
    async with AsyncTestClient(app=a) as on_a, AsyncTestClient(app=b) as on_b:
        yield on_a, on_b


@pytest.fixture
async def processes(demo_database_url):
    async with two_processes(demo_database_url) as pair:
        yield pair


async def heard(client: AsyncTestClient, since: int | None) -> float:
    """Wait until ``client``'s process has heard a change notified after it read ``since``; returns the seconds waited."""
    t0 = time.monotonic()
    while generation(client) == since:
        assert time.monotonic() - t0 < NOTIFIED_WITHIN, "the change was not heard within a second"
        await asyncio.sleep(0.005)
    return time.monotonic() - t0


def generation(client: AsyncTestClient) -> int | None:
    return getattr(client.app.state.get("token_cache"), "generation", None)


async def test_a_sign_out_on_one_process_is_refused_at_once_on_the_other(processes):
    on_a, on_b = processes
    picker = await login(on_a, "picker")
    assert (await on_a.get("/api/v1/auth/me", headers=picker)).status_code == 200
    assert (await on_b.get("/api/v1/auth/me", headers=picker)).status_code == 200  # both remember it now
    before = generation(on_b)
    assert (await on_a.post("/api/v1/auth/logout", headers=picker)).status_code == 204
    await heard(on_b, before)
    r = await on_b.get("/api/v1/auth/me", headers=picker)
    assert r.status_code == 401 and r.json()["code"] == "not-authenticated"
    assert (await on_a.get("/api/v1/auth/me", headers=picker)).status_code == 401


async def test_a_sign_out_forgets_only_that_sign_in(processes):
    on_a, on_b = processes
    picker, qa = await login(on_a, "picker"), await login(on_a, "qa")
    for h in (picker, qa):
        assert (await on_b.get("/api/v1/auth/me", headers=h)).status_code == 200
    before = generation(on_b)
    await on_a.post("/api/v1/auth/logout", headers=picker)
    await heard(on_b, before)
    assert qa["Authorization"].split()[1] in on_b.app.state.token_cache  # still remembered: no burst of look-ups


async def test_a_deactivated_user_is_refused_at_once_everywhere_and_may_not_sign_in(processes, demo_db):
    on_a, on_b = processes
    admin, picker = await login(on_a, "admin"), await login(on_a, "picker", device="HH-7")
    assert (await on_b.get("/api/v1/auth/me", headers=picker)).status_code == 200
    before = generation(on_b)
    r = await on_a.post("/api/v1/admin/users/picker/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    await heard(on_b, before)
    assert (await on_b.get("/api/v1/auth/me", headers=picker)).status_code == 401
    signin = {"username": "picker", "password": "picker-demo", "deviceId": "HH-7"}
    assert (await on_b.post("/api/v1/auth/login", json=signin)).status_code == 401
    # reactivated: a new sign-in works, the ended one stays ended
    r = await on_b.post("/api/v1/admin/users/picker/activate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is True
    assert (await on_a.post("/api/v1/auth/login", json=signin)).status_code == 200
    assert (await on_a.get("/api/v1/auth/me", headers=picker)).status_code == 401
    async with demo_db() as s:
        audited = (
            await s.execute(
                select(AuditEntry.username, AuditEntry.action, AuditEntry.target, AuditEntry.detail)
                .where(AuditEntry.action.in_(["user.deactivated", "user.activated"]))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert audited == [
        ("admin", "user.deactivated", "user:picker", {"signInsRevoked": 1}),
        ("admin", "user.activated", "user:picker", None),
    ]


async def test_a_revoked_key_is_refused_at_once_everywhere(processes, demo_db):
    from udipick.services.identity import add_api_key

    on_a, on_b = processes
    key = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-old', ['erp:read'])}"}
    admin_key = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-admin', ['admin'])}"}
    assert (await on_b.get("/api/v1/auth/me", headers=key)).status_code == 200
    before = generation(on_b)
    revoked = await on_a.post("/api/v1/admin/api-keys/erp-old/revoke", headers=admin_key)
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    await heard(on_b, before)
    r = await on_b.get("/api/v1/auth/me", headers=key)
    assert r.status_code == 401 and r.json()["code"] == "not-authenticated"
    again = await on_b.post("/api/v1/admin/api-keys/erp-old/revoke", headers=admin_key)
    assert again.status_code == 200 and again.json()["revokedAt"] == revoked.json()["revokedAt"]  # nothing changed
    async with demo_db() as s:
        audited = (
            await s.execute(
                select(AuditEntry.action, AuditEntry.target, AuditEntry.api_key_id).where(
                    AuditEntry.action == "api_key.revoked"
                )
            )
        ).all()
    assert len(audited) == 1 and audited[0][1] == "api_key:erp-old" and audited[0][2] is not None


async def test_while_the_listening_connection_is_lost_nothing_is_remembered(processes, demo_database_url):
    on_a, on_b = processes
    picker = await login(on_a, "picker")
    assert (await on_b.get("/api/v1/auth/me", headers=picker)).status_code == 200
    cache = on_b.app.state.token_cache
    before = generation(on_b)
    dsn = demo_database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        hub_pid = on_b.app.state.outbox_hub._conn.get_server_pid()
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", hub_pid)
        await heard(on_b, before)  # lost (and maybe back already): what was remembered is gone
        assert picker["Authorization"].split()[1] not in cache
        # a sign-out that no process could hear (written behind udipick's back): still refused
        await conn.execute("UPDATE device_tokens SET revoked_at = now()")
    finally:
        await conn.close()
    assert (await on_b.get("/api/v1/auth/me", headers=picker)).status_code == 401
    # listening again: sign-ins are remembered again (the scan's fast path is back)
    t0 = time.monotonic()
    while not cache.listening:
        assert time.monotonic() - t0 < 10, "the listening connection did not come back"
        await asyncio.sleep(0.01)
    fresh = await login(on_b, "qa")
    assert (await on_b.get("/api/v1/auth/me", headers=fresh)).status_code == 200
    assert fresh["Authorization"].split()[1] in cache


async def test_the_lists_never_show_a_hash_or_a_key(client, demo_db):
    from udipick.services.identity import add_api_key

    admin = await login(client, "admin")
    key = await add_api_key(demo_db, "erp-listed", ["erp:write"])
    users = await client.get("/api/v1/admin/users", headers=admin)
    keys = await client.get("/api/v1/admin/api-keys", headers=admin)
    assert users.status_code == 200 and keys.status_code == 200
    assert {u["username"] for u in users.json()} >= {"admin", "picker", "qa", "receiver", "supervisor"}
    assert set(users.json()[0]) == {"username", "displayName", "roles", "active", "createdAt", "language"}
    assert [k["name"] for k in keys.json()] == ["erp-listed"]
    assert set(keys.json()[0]) == {"name", "prefix", "scopes", "createdAt", "revokedAt"}
    assert key.split("_", 2)[1] == keys.json()[0]["prefix"]
    async with demo_db() as s:
        secrets_ = [
            *(await s.scalars(text("SELECT password_hash FROM users"))),
            *(await s.scalars(text("SELECT key_hash FROM api_keys"))),
        ]
    for body in (users.text, keys.text):
        assert "argon2" not in body and key.split("_", 2)[2] not in body
        assert not any(secret in body for secret in secrets_)


async def test_unknown_users_and_keys_are_404_problems(client):
    admin = await login(client, "admin")
    r = await client.post("/api/v1/admin/users/nobody/deactivate", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "unknown-user" and r.json()["username"] == "nobody"
    r = await client.post("/api/v1/admin/api-keys/nothing/revoke", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "unknown-api-key"


async def test_a_look_up_that_overlaps_a_change_is_not_remembered(client, monkeypatch):
    """The look-up may have read the token before the sign-out committed: its answer must not outlive the notification."""
    from udipick.api import deps
    from udipick.services.identity import token_digest

    picker = await login(client, "picker")
    token = picker["Authorization"].split()[1]
    cache = client.app.state.token_cache
    look_up = deps.resolve_bearer

    async def heard_meanwhile(db, bearer, device):
        actor = await look_up(db, bearer, device)
        cache.forget(
            f"token:{token_digest(bearer)}"
        )  # the sign-out's notification arrives while the answer is on its way
        return actor

    monkeypatch.setattr(deps, "resolve_bearer", heard_meanwhile)
    assert (await client.get("/api/v1/auth/me", headers=picker)).status_code == 200
    assert token not in cache
    monkeypatch.setattr(deps, "resolve_bearer", look_up)
    assert (await client.get("/api/v1/auth/me", headers=picker)).status_code == 200
    assert token in cache  # an undisturbed look-up is remembered


async def test_the_last_active_administrator_cannot_be_deactivated_and_another_can(processes, demo_db):
    """Nobody could add users, revoke keys or unlock names again: the last administrator is refused as
    ``last-admin`` and stays active, while an administrator with a colleague may be deactivated."""
    from udipick.services import identity

    on_a, _ = processes
    admin = await login(on_a, "admin")
    r = await on_a.post("/api/v1/admin/users/admin/deactivate", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "last-admin", r.text
    assert (await on_a.get("/api/v1/auth/me", headers=admin)).status_code == 200  # still signed in

    await identity.add_user(demo_db, "admin2", "Correct-horse-battery-staple-9", ["admin"])
    r = await on_a.post("/api/v1/admin/users/admin/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    with pytest.raises(identity.LastAdministrator):
        await identity.set_user_active(demo_db, None, "admin2", False)
