"""Idempotency has one path for every workflow: every scan answer is stored by ``udipick_store_reply`` and
read by ``udipick_scan_reply`` (``services/replay.py``), the pick scan's single-statement write included."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.api.test_picking import STENT, SYR, gs1
from udipick.config import Settings
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.services import picking

#: refuses a row of ``scan_replies`` that does not come from ``udipick_store_reply`` (its call stack says so)
_ONLY_THROUGH_STORE_REPLY = [
    """
CREATE FUNCTION test_only_through_store_reply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  stack text;
BEGIN
  GET DIAGNOSTICS stack = PG_CONTEXT;
  IF stack NOT LIKE '%function udipick_store_reply(%' THEN
    RAISE EXCEPTION 'scan_replies written outside udipick_store_reply: %', stack;
  END IF;
  RETURN NEW;
END $$
""",
    (
        "CREATE TRIGGER test_only_through_store_reply BEFORE INSERT ON scan_replies"
        " FOR EACH ROW EXECUTE FUNCTION test_only_through_store_reply()"
    ),
]


async def _actor(db, name: str) -> Actor:
    async with db() as s:
        uid = await s.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": name})
    return Actor(user_id=uid, username=name, roles=frozenset({"picker", "supervisor"}), device_id=f"{name}-device")


async def test_every_workflow_stores_its_answers_through_udipick_store_reply_and_answers_the_others_scan_ids(
    demo_db, today
):
    async with demo_db.begin() as s:
        for statement in _ONLY_THROUGH_STORE_REPLY:
            await s.execute(text(statement))
    sup = await _actor(demo_db, "supervisor")
    picker = await _actor(demo_db, "picker")
    settings = Settings()
    wave = await picking.release_wave(demo_db, sup, orders=["SO-5002"], today=today)
    tasks = await picking.list_tasks(demo_db, wave_id=wave.wave_id)
    task = next(t for t in tasks if t.item.gtin == SYR)
    other = next(t for t in tasks if t.task_id != task.task_id)
    accepted, refused, shorted = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def pick(scan_id: uuid.UUID, raw: str):
        return await picking.confirm_pick(
            demo_db,
            picker,
            settings,
            task_id=task.task_id,
            client_scan_id=scan_id,
            raw=raw,
            location_raw=None,
            today=today,
        )

    async def short(scan_id: uuid.UUID):
        return await picking.report_short(demo_db, picker, task_id=other.task_id, client_scan_id=scan_id, today=today)

    # the pick write (udipick_pick_accept), a pick refusal (replay.store) and a short pick (replay.once)
    first = [await pick(accepted, gs1(SYR, task.lot)), await pick(refused, gs1(STENT, "NOPE")), await short(shorted)]
    assert [r.status for r in first] == [200, 409, 200], [r.body for r in first]
    assert not any(r.replayed for r in first)
    # each is answered again as it was, whichever path reads it
    again = [await pick(accepted, gs1(SYR, task.lot)), await pick(refused, gs1(STENT, "NOPE")), await short(shorted)]
    assert [(r.status, r.body, r.replayed) for r in again] == [(r.status, r.body, True) for r in first]
    # and a scan id one workflow answered is not another's to use
    with pytest.raises(e.Conflict):
        await pick(shorted, gs1(SYR, task.lot))
    with pytest.raises(e.Conflict):
        await short(accepted)
    async with demo_db() as s:
        stored = (await s.execute(text("SELECT client_scan_id, action FROM scan_replies ORDER BY created_at"))).all()
        events = (
            (await s.execute(text("SELECT type FROM outbox_events WHERE type LIKE 'pick.%' ORDER BY id")))
            .scalars()
            .all()
        )
    assert sorted(stored) == sorted(
        [(accepted, f"pick:{task.task_id}"), (refused, f"pick:{task.task_id}"), (shorted, f"short:{other.task_id}")]
    )
    assert events == ["pick.confirmed.v1", "pick.refused.v1", "pick.shorted.v1"]
