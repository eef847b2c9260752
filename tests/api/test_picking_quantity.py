"""Issue 21 over HTTP on real PostgreSQL: one scan with a confirmed quantity (decided as a scan of that
many units, whole packs, never serials), undo of the picker's last pick scan as a reversing ledger
movement with its own event, and a short pick that says what was found."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.api.test_picking import GLOVE_BOX, STENT, SYR, events, gs1, lot_expiry, picker, scan, task_for, wave
from tests.conftest import login

__all__ = ["picker", "wave"]  # fixtures


async def confirm(client, headers, task: dict, raw: str, quantity: int, *, scan_id: str | None = None):
    body = {
        "clientScanId": scan_id or str(uuid.uuid4()),
        "raw": raw,
        "locationRaw": task["location"]["barcode"],
        "quantity": quantity,
    }
    return await client.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=headers)


async def undo(client, headers, task: dict, scan_id: str, *, undo_id: str | None = None):
    return await client.post(
        f"/api/v1/picking/tasks/{task['taskId']}/undo",
        json={"clientScanId": undo_id or str(uuid.uuid4()), "scanId": scan_id},
        headers=headers,
    )


async def syringe_stock(db) -> list[tuple]:
    async with db() as s:
        return [
            tuple(r)
            for r in (
                await s.execute(
                    text(
                        "SELECT loc.code, s.status, s.quantity, s.reserved FROM stock s JOIN locations loc ON loc.id = s.location_id"
                        " JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'SY2405B' AND s.quantity > 0 ORDER BY loc.code"
                    )
                )
            ).all()
        ]


async def test_one_scan_with_a_quantity_picks_that_many_in_one_ledger_row(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await confirm(client, picker, task, gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B")), 30)
    assert r.status_code == 200, r.text
    assert r.json().items() >= {"units": 30, "picked": 30, "remaining": 0, "taskStatus": "done"}.items()
    assert r.json()["undoSeconds"] == 30
    assert await syringe_stock(demo_db) == [("A-01-02", "available", 90, 10), ("SHIP-01", "picked", 30, 0)]
    async with demo_db() as s:
        ledger = (
            await s.execute(text("SELECT movement, quantity FROM stock_ledger WHERE document_id = 'SO-5001'"))
        ).all()
    assert [tuple(r) for r in ledger] == [("pick", 30)]
    (ev,) = await events(demo_db, "pick.confirmed.v1")
    assert ev["quantity"] == 30


async def test_a_quantity_over_the_remainder_is_refused_and_picks_nothing(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await confirm(client, picker, task, raw, 28)).status_code == 200
    r = await confirm(client, picker, task, raw, 3)
    assert r.status_code == 409 and r.json()["code"] == "over-pick", r.text
    assert r.json()["remaining"] == 2 and r.json()["scannedUnits"] == 3
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert task["picked"] == 28


async def test_a_quantity_of_a_later_lot_is_refused_for_fefo_as_its_single_scan(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await confirm(client, picker, task, gs1(SYR, "SY2409C", await lot_expiry(demo_db, "SY2409C")), 5)
    assert r.status_code == 409 and r.json()["code"] == "fefo-violation"
    assert r.json()["takeLot"] == "SY2405B"


async def test_a_quantity_on_a_pack_scan_is_whole_packs(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    # biggest first: the handheld says "20 = 2 boxes of 10" with the biggest that fits
    assert [(p["level"], p["quantity"]) for p in task["packs"]] == [("case", 100), ("box", 10)]
    assert task["packs"][1]["gtin"] == GLOVE_BOX
    odd = await confirm(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"), 15)
    assert odd.status_code == 422 and odd.json()["code"] == "quantity-not-whole-packs", odd.text
    assert odd.json()["packUnits"] == 10
    r = await confirm(client, picker, task, gs1(GLOVE_BOX, "GL-77-01"), 20)
    assert r.status_code == 200 and r.json()["units"] == 20 and r.json()["taskStatus"] == "done", r.text


async def test_a_quantity_on_a_serialised_unit_is_refused(client, wave, picker):
    task = next(
        t
        for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json()
        if t["order"] == "SO-5001" and t["item"]["erpId"] == "STENT-DES-3018"
    )
    r = await confirm(client, picker, task, gs1(STENT, "ST-A1", serial=task["serial"]), 2)
    assert r.status_code == 422 and r.json()["code"] == "serials-one-by-one", r.text


async def test_a_quantity_out_of_range_is_a_problem_not_a_pick(client, wave, picker):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    r = await confirm(client, picker, task, gs1(SYR, "SY2405B"), 0)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")


async def test_undo_puts_the_units_back_through_the_ledger_and_tells_the_erp(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    scan_id = str(uuid.uuid4())
    assert (await confirm(client, picker, task, raw, 30, scan_id=scan_id)).status_code == 200
    undo_id = str(uuid.uuid4())
    r = await undo(client, picker, task, scan_id, undo_id=undo_id)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "taskId": task["taskId"],
        "scanId": scan_id,
        "units": 30,
        "picked": 0,
        "remaining": 30,
        "location": "A-01-02",
        "lot": "SY2405B",
        "serial": None,
    }
    # the stock and the reservation are as before the pick; the ledger holds both movements
    assert await syringe_stock(demo_db) == [("A-01-02", "available", 120, 40)]
    async with demo_db() as s:
        ledger = (
            await s.execute(
                text(
                    "SELECT movement, quantity, f.code, from_status, t.code, to_status FROM stock_ledger m"
                    " JOIN locations f ON f.id = m.from_location_id JOIN locations t ON t.id = m.to_location_id"
                    " WHERE document_id = 'SO-5001' ORDER BY m.id"
                )
            )
        ).all()
        line = await s.scalar(
            text(
                "SELECT quantity_picked FROM outbound_lines ol JOIN pick_tasks t ON t.line_id = ol.id WHERE t.id = :t"
            ),
            {"t": task["taskId"]},
        )
    assert [tuple(r) for r in ledger] == [
        ("pick", 30, "A-01-02", "available", "SHIP-01", "picked"),
        ("move", 30, "SHIP-01", "picked", "A-01-02", "available"),
    ]
    assert line == 0
    again = await task_for(client, picker, "SO-5001", "SYR-10ML")
    assert (again["status"], again["picked"], again["remaining"]) == ("open", 0, 30)
    # the pick stays in the stream; the reversal is an event of its own
    (confirmed,) = await events(demo_db, "pick.confirmed.v1")
    (undone,) = await events(demo_db, "pick.undone.v1")
    assert undone["undoneClientScanId"] == confirmed["clientScanId"] == scan_id
    assert (undone["quantity"], undone["lot"], undone["location"], undone["item"]) == (
        30,
        "SY2405B",
        "A-01-02",
        "SYR-10ML",
    )
    # the same undo sent again: the first answer, nothing more
    replay = await undo(client, picker, task, scan_id, undo_id=undo_id)
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == r.json()
    # a second undo of the same scan (a new id) is refused; the task can be picked again
    twice = await undo(client, picker, task, scan_id)
    assert twice.status_code == 409 and twice.json()["code"] == "undo-not-last"
    assert len(await events(demo_db, "pick.undone.v1")) == 1
    assert (await confirm(client, picker, again, raw, 30)).status_code == 200


async def test_undo_takes_back_only_the_pickers_last_scan(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert (await scan(client, picker, task, raw, scan_id=first)).status_code == 200
    assert (await scan(client, picker, task, raw, scan_id=second)).status_code == 200
    r = await undo(client, picker, task, first)
    assert r.status_code == 409 and r.json()["code"] == "undo-not-last"
    supervisor = await login(client, "supervisor")
    r = await undo(client, supervisor, task, second)
    assert r.status_code == 409 and r.json()["code"] == "undo-not-last"
    r = await undo(client, picker, task, second)
    assert r.status_code == 200 and r.json()["picked"] == 1
    # ... and then the one before it is the last
    r = await undo(client, picker, task, first)
    assert r.status_code == 200 and r.json()["picked"] == 0


async def test_undo_is_refused_after_the_window_and_once_packed(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    late = str(uuid.uuid4())
    assert (await scan(client, picker, task, raw, scan_id=late)).status_code == 200
    async with demo_db.begin() as s:  # the pick was confirmed 31 s ago (the window is 30 s)
        await s.execute(
            text("UPDATE picks SET picked_at = now() - interval '31 seconds' WHERE client_scan_id = :c"), {"c": late}
        )
    r = await undo(client, picker, task, late)
    assert r.status_code == 409 and r.json()["code"] == "undo-too-late" and r.json()["undoSeconds"] == 30

    packed = str(uuid.uuid4())
    assert (await scan(client, picker, task, raw, scan_id=packed)).status_code == 200
    async with demo_db.begin() as s:  # a packer packed it meanwhile (what packing writes on the pick)
        await s.execute(text("UPDATE picks SET packed = quantity WHERE client_scan_id = :c"), {"c": packed})
    r = await undo(client, picker, task, packed)
    assert r.status_code == 409 and r.json()["code"] == "undo-after-packing"
    assert len(await events(demo_db, "pick.undone.v1")) == 0
    assert (await task_for(client, picker, "SO-5001", "SYR-10ML"))["picked"] == 2


async def test_a_short_pick_carries_what_was_found_and_refuses_more_than_the_remainder(client, wave, picker, demo_db):
    task = await task_for(client, picker, "SO-5002", "GLOVE-NIT-M")
    url = f"/api/v1/picking/tasks/{task['taskId']}/short"
    too_many = await client.post(url, json={"clientScanId": str(uuid.uuid4()), "found": 21}, headers=picker)
    assert too_many.status_code == 422 and too_many.json()["code"] == "found-over-remaining", too_many.text
    assert too_many.json()["remaining"] == 20
    r = await client.post(url, json={"clientScanId": str(uuid.uuid4()), "found": 3}, headers=picker)
    assert r.status_code == 200, r.text
    (ev,) = await events(demo_db, "pick.shorted.v1")
    assert (ev["expected"], ev["found"]) == (20, 3)
    async with demo_db() as s:
        detail = await s.scalar(text("SELECT detail FROM exceptions WHERE kind = 'short-pick'"))
        counts = await s.scalar(text("SELECT count(*) FROM count_tasks WHERE origin = 'short-pick'"))
    assert "found 3" in detail
    assert counts == 1


async def test_an_undone_pick_is_not_a_line_worked_in_the_kpis(client, wave, picker, demo_db):
    import datetime as dt

    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    scan_id = str(uuid.uuid4())
    raw = gs1(SYR, "SY2405B", await lot_expiry(demo_db, "SY2405B"))
    assert (await confirm(client, picker, task, raw, 5, scan_id=scan_id)).status_code == 200
    supervisor = await login(client, "supervisor")
    today = dt.datetime.now(dt.UTC).date()
    period = {"from": str(today - dt.timedelta(days=1)), "to": str(today + dt.timedelta(days=1))}

    async def worked() -> tuple[list, dict]:
        r = await client.get("/api/v1/kpis", params=period, headers=supervisor)
        assert r.status_code == 200, r.text
        figures = r.json()["figures"]
        lines = [f for f in figures if f["kpi"] == "lines_per_hour"]
        (short,) = [f for f in figures if f["kpi"] == "short_pick_rate"]
        return lines, short

    lines, short = await worked()
    assert [(f["subject"], f["numerator"]) for f in lines] == [("picker", 1)]
    assert short["denominator"] == 1
    assert (await undo(client, picker, task, scan_id)).status_code == 200
    lines, short = await worked()
    assert lines == [] and short["denominator"] == 0
