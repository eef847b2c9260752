"""The exception queue on the server: raised with the refusal, shared across devices, filtered by role,
resolved once with a note (audited), never duplicated by a replay."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from tests.api.test_picking import GLOVE, GLOVE_BOX, SYR, gs1, lot_expiry, scan, task_for
from tests.conftest import login


@pytest.fixture
async def wave(client):
    r = await client.post("/api/v1/waves", json={}, headers=await login(client, "supervisor", device="desk-1"))
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def picker(client):
    return await login(client, "picker", device="tc52-01")


async def queue(client, headers, **params) -> list[dict]:
    r = await client.get("/api/v1/exceptions", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def fefo_violation(client, picker, demo_db, scan_id: str | None = None):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, gs1(SYR, "SY2409C", await lot_expiry(demo_db, "SY2409C")), scan_id=scan_id)
    assert r.status_code == 409 and r.json()["code"] == "fefo-violation"
    return task


async def test_a_refused_fefo_scan_is_one_exception_every_supervisor_device_sees_and_a_replay_adds_none(
    client, wave, picker, demo_db
):
    scan_id = str(uuid.uuid4())
    task = await fefo_violation(client, picker, demo_db, scan_id)
    again = await scan(client, picker, task, gs1(SYR, "SY2409C", await lot_expiry(demo_db, "SY2409C")), scan_id=scan_id)
    assert again.headers["Idempotent-Replayed"] == "true"
    # a refusal the picker fixes alone raises nothing
    assert (await scan(client, picker, task, gs1(GLOVE))).json()["code"] == "wrong-item"

    on_desk = await queue(client, await login(client, "supervisor", device="desk-1"))
    on_tablet = await queue(client, await login(client, "admin", device="tablet-9"))
    assert on_desk == on_tablet
    (x,) = on_desk
    assert (
        x.items()
        >= {
            "kind": "fefo-violation",
            "code": "fefo-violation",
            "taskId": task["taskId"],
            "order": "SO-5001",
            "lot": "SY2409C",
            "gtin": SYR,
            "clientScanId": scan_id,
            "user": "picker",
            "device": "tc52-01",
            "status": "open",
            "queued": False,
            "resolvedBy": None,
        }.items()
    )
    assert "Take lot SY2405B" in x["detail"]
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM exceptions")) == 1
        # the exception names the refusal's outbox event (the live view reads it through it)
        assert (
            await s.scalar(text("SELECT o.type FROM exceptions x JOIN outbox_events o ON o.event_id = x.event_id"))
            == "pick.refused.v1"
        )


async def test_pickers_see_no_queue_and_qa_sees_only_the_quality_kinds(client, wave, picker, demo_db):
    await fefo_violation(client, picker, demo_db)
    sup = await login(client, "supervisor", device="desk-1")
    hold = await client.post(
        "/api/v1/holds", json={"scope": "lot", "item": "SYR-10ML", "lot": "SY2405B", "reason": "complaint"}, headers=sup
    )
    assert hold.status_code == 201, hold.text
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await scan(client, picker, task, gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")))
    assert r.json()["code"] == "stock-on-hold", r.text

    assert (await client.get("/api/v1/exceptions", headers=picker)).status_code == 403
    assert [x["kind"] for x in await queue(client, sup)] == ["held", "fefo-violation"]
    qa = await login(client, "qa", device="qa-1")
    assert [x["kind"] for x in await queue(client, qa)] == ["held"]
    assert await queue(client, qa, kind="fefo-violation") == []
    assert [x["kind"] for x in await queue(client, sup, kind="fefo-violation")] == ["fefo-violation"]
    fefo_id = (await queue(client, sup, kind="fefo-violation"))[0]["id"]
    # what QA does not see, QA cannot resolve either
    r = await client.post(f"/api/v1/exceptions/{fefo_id}/resolve", json={"note": "looked at it"}, headers=qa)
    assert r.status_code == 404


async def test_resolving_keeps_note_who_and_when_and_a_second_resolution_is_refused(client, wave, picker, demo_db):
    await fefo_violation(client, picker, demo_db)
    sup = await login(client, "supervisor", device="desk-1")
    (x,) = await queue(client, sup)
    before = dt.datetime.now(dt.UTC)
    r = await client.post(f"/api/v1/exceptions/{x['id']}/resolve", json={"note": "   "}, headers=sup)
    assert r.status_code == 400
    r = await client.post(
        f"/api/v1/exceptions/{x['id']}/resolve", json={"note": "retrained: take the earliest lot"}, headers=sup
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "resolved" and done["resolvedBy"] == "supervisor"
    assert done["note"] == "retrained: take the earliest lot"
    assert dt.datetime.fromisoformat(done["resolvedAt"]) >= before - dt.timedelta(seconds=1)

    admin = await login(client, "admin", device="tablet-9")
    again = await client.post(f"/api/v1/exceptions/{x['id']}/resolve", json={"note": "me too"}, headers=admin)
    assert again.status_code == 409
    assert (
        again.json().items()
        >= {
            "code": "exception-already-resolved",
            "exceptionId": x["id"],
            "resolvedBy": "supervisor",
        }.items()
    )
    assert await queue(client, sup) == []
    assert [y["note"] for y in await queue(client, sup, status="resolved")] == ["retrained: take the earliest lot"]
    assert len(await queue(client, sup, status="all")) == 1
    assert (
        await queue(client, sup, status="all", since=(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat())
        == []
    )
    unknown = await client.post("/api/v1/exceptions/999999/resolve", json={"note": "what"}, headers=sup)
    assert unknown.status_code == 404
    async with demo_db() as s:
        audit = (
            await s.execute(
                text(
                    "SELECT username, device_id, target, outcome, detail FROM audit_log WHERE action = 'exception.resolve'"
                )
            )
        ).all()
    assert [tuple(a) for a in audit] == [
        (
            "supervisor",
            "desk-1",
            f"exception:{x['id']}",
            "ok",
            {"kind": "fefo-violation", "note": "retrained: take the earliest lot"},
        )
    ]


async def test_short_picks_and_count_variances_are_raised_with_their_answers_once(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    assert (await scan(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"))).status_code == 200
    short_id = str(uuid.uuid4())
    for _ in range(2):  # the second is a replay
        r = await client.post(
            f"/api/v1/picking/tasks/{task['taskId']}/short", json={"clientScanId": short_id}, headers=picker
        )
        assert r.status_code == 200, r.text
    count_id = str(uuid.uuid4())
    for _ in range(2):
        r = await client.post(
            "/api/v1/counts",
            json={"clientScanId": count_id, "location": "A-02-01", "item": "GLOVE-NIT-M", "lines": []},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    sup = await login(client, "supervisor", device="desk-1")
    count, short = await queue(client, sup)
    assert (
        short.items()
        >= {
            "kind": "short-pick",
            "taskId": task["taskId"],
            "order": "SO-5002",
            "location": "A-02-01",
            "lot": "GL-77-01",
            "clientScanId": short_id,
        }.items()
    )
    assert count.items() >= {"kind": "count-variance", "location": "A-02-01", "clientScanId": count_id}.items()
    qa = await login(client, "qa", device="qa-1")
    assert [x["kind"] for x in await queue(client, qa)] == ["count-variance"]


async def test_a_queued_offline_scan_refused_on_replay_is_an_exception_though_its_reason_alone_is_not(
    client, wave, picker, demo_db
):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    body = {"clientScanId": str(uuid.uuid4()), "raw": gs1(GLOVE), "queuedAt": "2026-12-06T07:00:00Z"}
    r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=picker)
    assert r.json()["code"] == "wrong-item"
    (x,) = await queue(client, await login(client, "supervisor", device="desk-1"))
    assert x.items() >= {"kind": "offline-refused", "code": "wrong-item", "queued": True}.items()


async def test_a_handheld_reports_its_offline_queue(client, picker):
    r = await client.post("/api/v1/devices/heartbeat", json={"queued": 3, "online": False}, headers=picker)
    assert r.status_code == 200, r.text
    assert r.json().items() >= {"device": "tc52-01", "user": "picker", "queued": 3, "online": False}.items()
    r = await client.post("/api/v1/devices/heartbeat", json={"queued": -1}, headers=picker)
    assert r.status_code == 400
