"""Races between a pick scan's lock-free read and its write function, made deterministic: a hook runs
the competing change just before ``udipick_pick_accept``. (Found in review of the one-read, one-write
pick scan.)"""

from __future__ import annotations

import contextlib
import uuid

import pytest
from sqlalchemy import text

from tests.api.test_picking import STENT, SYR, gs1
from udipick.config import Settings
from udipick.domain.access import Actor
from udipick.services import picking


async def _actor(db, name: str) -> Actor:
    async with db() as s:
        uid = await s.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": name})
    return Actor(user_id=uid, username=name, roles=frozenset({"picker", "supervisor"}), device_id=f"{name}-device")


class _Proxy:
    def __init__(self, conn, hook):
        self._conn, self._hook = conn, hook

    def __getattr__(self, name):
        return getattr(self._conn, name)

    async def execute(self, sql, *args):
        if sql == picking._ACCEPT and self._hook is not None:
            hook, self._hook = self._hook, None
            await hook()
        return await self._conn.execute(sql, *args)


def _hooked(monkeypatch, hook):
    real = picking.pg_connection

    @contextlib.asynccontextmanager
    async def wrapped(db):
        async with real(db) as conn:
            yield _Proxy(conn, hook)

    monkeypatch.setattr(picking, "pg_connection", wrapped)


async def test_a_tote_assigned_between_read_and_write_takes_the_first_unit_too(demo_db, monkeypatch, today):
    sup = await _actor(demo_db, "supervisor")
    picker = await _actor(demo_db, "picker")
    settings = Settings()
    wave = await picking.release_wave(demo_db, sup, orders=["SO-5002"], today=today)
    task = next(t for t in await picking.list_tasks(demo_db, wave_id=wave.wave_id) if t.item.gtin == SYR)
    assert task.tote is None and task.remaining >= 2

    async def assign():
        await picking.assign_tote(
            demo_db, settings, wave_id=wave.wave_id, order="SO-5002", raw="TOTE-0042", today=today
        )

    _hooked(monkeypatch, assign)
    r1 = await picking.confirm_pick(
        demo_db,
        picker,
        settings,
        task_id=task.task_id,
        client_scan_id=uuid.uuid4(),
        raw=gs1(SYR, task.lot),
        location_raw=None,
        today=today,
    )
    assert r1.status == 200, r1.body
    monkeypatch.undo()
    r2 = await picking.confirm_pick(
        demo_db,
        picker,
        settings,
        task_id=task.task_id,
        client_scan_id=uuid.uuid4(),
        raw=gs1(SYR, task.lot),
        location_raw=None,
        today=today,
    )
    assert r2.status == 200, r2.body
    async with demo_db() as s:
        t = (
            await s.execute(
                text(
                    "SELECT t.tote_id, c.code FROM pick_tasks t LEFT JOIN containers c ON c.id = t.tote_id"
                    " WHERE t.id = :id"
                ),
                {"id": task.task_id},
            )
        ).one()
        picks = (
            await s.execute(
                text(
                    "SELECT p.id, c.code AS tote FROM picks p LEFT JOIN containers c ON c.id = p.container_id"
                    " WHERE p.task_id = :id ORDER BY p.id"
                ),
                {"id": task.task_id},
            )
        ).all()
        ev = (
            (
                await s.execute(
                    text("SELECT data->>'tote' FROM outbox_events WHERE type = 'pick.confirmed.v1' ORDER BY id")
                )
            )
            .scalars()
            .all()
        )
    # the write saw the task's tote change and read again: both units went into the tote, and said so
    assert t.code == "TOTE-0042"
    assert [p.tote for p in picks] == ["TOTE-0042", "TOTE-0042"]
    assert ev[-2:] == ["TOTE-0042", "TOTE-0042"]


async def test_a_serial_on_hold_is_refused_for_that_reason(demo_db, today):
    sup = await _actor(demo_db, "supervisor")
    picker = await _actor(demo_db, "picker")
    settings = Settings()
    await picking.release_wave(demo_db, sup, orders=["SO-5001"], today=today)
    task = next(
        t
        for t in await picking.list_tasks(demo_db, wave_id=None)
        if t.order == "SO-5001" and t.item.erp_id == "STENT-DES-3018"
    )
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE serials SET status = 'hold' WHERE serial = :s"), {"s": task.serial})
    sid = uuid.uuid4()
    r = await picking.confirm_pick(
        demo_db,
        picker,
        settings,
        task_id=task.task_id,
        client_scan_id=sid,
        raw=gs1(STENT, task.lot, serial=task.serial),
        location_raw=None,
        today=today,
    )
    async with demo_db() as s:
        stored = await s.scalar(text("SELECT count(*) FROM scan_replies WHERE client_scan_id = :i"), {"i": sid})
    assert r.body.get("code") == "stock-on-hold", r.body  # not 8 retries and then "stock changed, scan again"
    assert stored == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            "INSERT INTO holds (scope, lot_id, reason, placed_by) VALUES ('lot', :lot, 'suspected damage', :user)",
            "stock-on-hold",
        ),
        (
            "INSERT INTO holds (scope, location_id, reason, placed_by) VALUES ('location', :location, 'spill', :user)",
            "stock-on-hold",
        ),
        ("UPDATE lots SET status = 'quarantine' WHERE id = :lot", "lot-quarantined"),
        ("UPDATE locations SET frozen = true WHERE id = :location", "location-frozen"),
        (
            "INSERT INTO location_blocks (location_id, item_id, reason) VALUES (:location, :item, 'short pick')",
            "location-frozen",
        ),
    ],
    ids=["lot hold", "location hold", "lot quarantined", "location frozen", "location blocked"],
)
async def test_a_fact_the_verdict_judged_that_changes_before_the_write_is_judged_again(
    demo_db, monkeypatch, change, code, today
):
    """``udipick_pick_accept`` compares the facts the verdict judged the stock on with what they are now; when one
    changed, the scan is read and decided again, and refused for what it is now."""
    sup = await _actor(demo_db, "supervisor")
    picker = await _actor(demo_db, "picker")
    settings = Settings()
    wave = await picking.release_wave(demo_db, sup, orders=["SO-5002"], today=today)
    task = next(t for t in await picking.list_tasks(demo_db, wave_id=wave.wave_id) if t.item.gtin == SYR)
    async with demo_db() as s:
        where = (
            (
                await s.execute(
                    text(
                        "SELECT lot_id AS lot, location_id AS location, item_id AS item FROM pick_tasks WHERE id = :id"
                    ),
                    {"id": task.task_id},
                )
            )
            .one()
            ._asdict()
        )

    async def meanwhile():
        async with demo_db.begin() as s:
            await s.execute(text(change), {**where, "user": sup.user_id})

    _hooked(monkeypatch, meanwhile)
    r = await picking.confirm_pick(
        demo_db,
        picker,
        settings,
        task_id=task.task_id,
        client_scan_id=uuid.uuid4(),
        raw=gs1(SYR, task.lot),
        location_raw=None,
        today=today,
    )
    assert r.status == 409, r.body
    assert r.body["code"] == code, r.body
    async with demo_db() as s:
        assert await s.scalar(text("SELECT picked FROM pick_tasks WHERE id = :id"), {"id": task.task_id}) == 0
