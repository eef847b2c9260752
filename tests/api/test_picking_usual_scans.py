"""The usual pick scan (a sign-in remembered from the last few seconds) is answered beside the
framework: the same answers, and every check the route's guard makes still made."""

from __future__ import annotations

import types
import uuid

import pytest

from tests.api.test_picking import GLOVE, SYR, gs1, lot_expiry, picker, scan, task_for, wave  # noqa: F401  (fixtures)
from tests.conftest import login
from udipick.api import deps
from udipick.api import picking as picking_api


@pytest.fixture
def route_answers(monkeypatch) -> list[int]:
    """Statuses of the scans the route itself answered (the others were answered beside it)."""
    answered: list[int] = []
    reply_response = picking_api.reply_response

    def counted(reply, **kw):
        answered.append(reply.status)
        return reply_response(reply, **kw)

    monkeypatch.setattr(picking_api, "reply_response", counted)
    return answered


def through_the_route(client, monkeypatch) -> None:
    """The next scan goes to the route: nothing is remembered, and the look-up beside it fails."""
    client.app.state.token_cache.clear()

    async def fails(*_args):
        raise RuntimeError("looked up by the route's guard only")

    monkeypatch.setattr(picking_api, "actor_for_token", fails)


def same_answer(a, b) -> None:
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert {k: v for k, v in a.headers.items() if k != "x-request-id"} == {
        k: v for k, v in b.headers.items() if k != "x-request-id"
    }


async def test_a_remembered_sign_in_is_answered_as_the_route_answers(
    client, wave, picker, demo_db, route_answers, monkeypatch
):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")  # the guard resolves the token and remembers it
    other = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    accepted_id, refused_id = str(uuid.uuid4()), str(uuid.uuid4())
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await scan(client, picker, task, raw, scan_id=accepted_id)).status_code == 200
    assert (await scan(client, picker, task, gs1(GLOVE), scan_id=refused_id)).status_code == 409
    cases = [
        (task, raw, {"scan_id": accepted_id}),  # a replay
        (task, gs1(GLOVE), {"scan_id": refused_id}),  # a stored refusal, replayed
        ({"taskId": task["taskId"] + 1000}, raw, {"location": None}),  # no such task
        (task, f"01{SYR}17261399", {}),  # unreadable: raised, answered by the exception handlers
        (other, raw, {"scan_id": accepted_id}),  # one scan id for two tasks: raised
    ]
    beside = [await scan(client, picker, t, r, **kw) for t, r, kw in cases]
    assert route_answers == []
    routed = []
    for t, r, kw in cases:
        through_the_route(client, monkeypatch)  # the route's guard remembers the token again each time
        routed.append(await scan(client, picker, t, r, **kw))
    assert route_answers == [200, 409, 404]  # the raised errors never reach ``reply_response``
    for a, b in zip(beside, routed, strict=True):
        same_answer(a, b)
    assert [r.status_code for r in beside] == [200, 409, 404, 422, 409]
    assert beside[0].headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "content",
    [
        b'{"clientScanId": "%s"}',
        b'{"clientScanId": "%s", "raw": ""}',
        b'{"clientScanId": "nope", "raw": "x"}',
        b'{"clientScanId": "%s", "raw": 12}',
        b'{"clientScanId": "%s", "raw": "x", "n": 1e999}',
        b"[1, 2]",
        b'{"clientScanId": "%s"',
        b"",
    ],
)
async def test_a_body_the_route_refuses_gets_the_routes_problem(
    client, wave, picker, content, route_answers, monkeypatch
):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    body = content.replace(b"%s", str(uuid.uuid4()).encode())
    path = f"/api/v1/picking/tasks/{task['taskId']}/scans"
    remembered = await client.post(path, content=body, headers={**picker, "content-type": "application/json"})
    through_the_route(client, monkeypatch)
    resolved = await client.post(path, content=body, headers={**picker, "content-type": "application/json"})
    same_answer(remembered, resolved)
    assert 400 <= remembered.status_code < 500
    assert remembered.headers["content-type"].startswith("application/problem+json")


async def test_a_sign_in_no_longer_remembered_is_looked_up_again_beside_the_route(
    client, wave, picker, demo_db, route_answers, monkeypatch
):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await scan(client, picker, task, raw)).status_code == 200
    clock = deps.time.monotonic
    monkeypatch.setattr(deps, "time", types.SimpleNamespace(monotonic=lambda: clock() + deps.TOKEN_CACHE_SECONDS + 1))
    assert (
        deps.remembered_actor(client.app.state, picker["Authorization"].split()[1], picker["X-Device-Id"]) is None
    )  # expired
    assert (await scan(client, picker, task, raw)).status_code == 200
    assert route_answers == []  # looked up again and answered beside the route, not by it
    token = picker["Authorization"].split()[1]
    remembered_until = client.app.state.token_cache[token][1] - deps.time.monotonic()
    # remembered again, for a random 50-100 % of the cache time: sign-ins made together expire apart
    assert 0.5 * deps.TOKEN_CACHE_SECONDS - 0.1 <= remembered_until <= deps.TOKEN_CACHE_SECONDS


async def test_signing_out_ends_a_remembered_sign_in_at_once(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await scan(client, picker, task, raw)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=picker)).status_code == 204
    r = await scan(client, picker, task, raw)
    assert r.status_code == 401 and r.json()["code"] == "not-authenticated"


async def test_a_disabled_user_is_refused_once_the_sign_in_is_no_longer_remembered(
    client, wave, picker, demo_db, monkeypatch
):
    from sqlalchemy import text

    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await scan(client, picker, task, raw)).status_code == 200
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE users SET active = false WHERE username = 'picker'"))
    clock = deps.time.monotonic
    monkeypatch.setattr(deps, "time", types.SimpleNamespace(monotonic=lambda: clock() + deps.TOKEN_CACHE_SECONDS + 1))
    r = await scan(client, picker, task, raw)
    assert r.status_code == 401 and r.json()["code"] == "not-authenticated"


async def test_a_remembered_token_is_still_bound_to_its_device(client, wave, demo_db):
    picker = {**await login(client, "picker", device="tc52-01"), "X-Device-Id": "tc52-01"}
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await scan(client, picker, task, raw)).status_code == 200
    r = await scan(client, {**picker, "X-Device-Id": "tc52-02"}, task, raw)
    assert r.status_code == 401 and "another device" in r.json()["detail"]


async def test_a_remembered_erp_key_may_still_not_pick(client, wave, picker, demo_db):
    from udipick.services.identity import add_api_key

    erp = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-pick', ['erp:write'])}"}
    assert (await client.get("/api/v1/auth/me", headers=erp)).status_code == 200  # remembered now
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, erp, task, gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")))
    assert r.status_code == 403 and r.json()["code"] == "permission-denied"
