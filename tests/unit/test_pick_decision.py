"""The whole decision on one pick scan (``domain.picking.decide_pick``), as a table of cases with ``today``
passed in: no database, the task, the scan and the stock at the task's location as values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from msgspec.structs import replace

from udipick.domain import errors as e
from udipick.domain.allocation import Candidate
from udipick.domain.picking import (
    PickDecision,
    PickScan,
    PickTask,
    PickToUndo,
    ReservedSerial,
    check_short_found,
    check_undo,
    decide_pick,
)

TODAY = dt.date(2026, 11, 25)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


TASK = PickTask(
    task_id=7,
    status="open",
    quantity=5,
    picked=0,
    order="SO-1",
    order_status="released",
    item_id=1,
    item_name="Syringe",
    gtin="00614141010011",
    location_id=101,
    location="A-01",
    location_barcode="LOC-A-01",
    stock_id=1,
    lot_id=11,
    lot="EARLY",
    expiry=day(100),
    serial_id=None,
    min_shelf_life_days=30,
    allow_bonded=False,
    staging_id=900,
)


def row(stock_id: int, lot: str, expiry_in: int, available: int = 5, **kw: Any) -> Candidate:
    base: dict[str, Any] = dict(
        stock_id=stock_id,
        item_id=1,
        lot_id=10 + stock_id,
        lot=lot,
        expiry=day(expiry_in),
        lot_status="released",
        serial_id=None,
        serial=None,
        location_id=101,
        location="A-01",
        location_type="pick",
        pick_sequence=3,
        location_frozen=False,
        available=available,
    )
    base.update(kw)
    return Candidate(**base)


#: the stock of the task's item at A-01; the task reserved all of row 1 (its own reservation counts as available to it)
HERE = (
    row(1, "EARLY", 100, available=0),
    row(2, "SAME", 100),
    row(3, "SOONER", 90),
    row(4, "LATER", 300),
    row(5, "OLD", -1),
    row(6, "SHORT", 10),
    row(7, "HELD", 200, hold="suspected damage"),
    row(8, "QUAR", 200, lot_status="quarantine"),
    row(9, "RECALL", 200, lot_status="recalled"),
    row(10, "EMPTY", 95, available=0),
    row(12, "INBOX", 80, in_container=True),  # still on its licence plate: not stock on the shelf
)


def scan(lot: str | None = "EARLY", **kw: Any) -> PickScan:
    base: dict[str, Any] = dict(
        gtin="00614141010011", lot=lot, serial=None, count=1, item_id=1, item_name="Syringe", lot_tracked=True
    )
    base.update(kw)
    return PickScan(**base)


def everywhere(**change: Any) -> tuple[Candidate, ...]:
    return tuple(replace(c, **change) for c in HERE)


def decide(task: PickTask = TASK, scanned: PickScan | None = None, stock=HERE, *, every_row: bool = True, **kw: Any):
    return decide_pick(task, scanned or scan(), stock, every_row=every_row, today=TODAY, **kw)


def accepted(
    lot: str,
    *,
    units: int = 1,
    swapped: bool = False,
    overridden: bool = False,
    stock_id: int | None = None,
    picked: int | None = None,
) -> dict[str, Any]:
    return {
        "lot": lot,
        "units": units,
        "swapped": swapped,
        "overridden": overridden,
        "stock_id": stock_id,
        "picked": picked if picked is not None else units,
    }


def _outcome(d: PickDecision) -> dict[str, Any]:
    v = d.verdict
    return {
        "lot": v.candidate.lot,
        "units": v.units,
        "swapped": v.swapped,
        "overridden": v.fefo_overridden,
        "stock_id": d.stock_id,
        "picked": d.picked,
    }


CASES: list[tuple[str, dict[str, Any], Any]] = [
    # ---- accepted
    ("the allocated lot", {}, accepted("EARLY", stock_id=1)),
    ("a lot expiring the same day, swapped", {"scanned": scan("SAME")}, accepted("SAME", swapped=True, stock_id=1)),
    ("a lot expiring earlier, swapped", {"scanned": scan("SOONER")}, accepted("SOONER", swapped=True, stock_id=1)),
    (
        "a later lot with a supervisor's override",
        {"scanned": scan("LATER"), "override_fefo": True},
        accepted("LATER", swapped=True, overridden=True, stock_id=1),
    ),
    ("a pack counts its base units", {"scanned": scan(pack_quantity=5)}, accepted("EARLY", units=5, stock_id=1)),
    (
        "a count in the barcode times the pack",
        {"scanned": scan(pack_quantity=2, count=2)},
        accepted("EARLY", units=4, stock_id=1),
    ),
    (
        "an item without lots: no lot in the scan means the allocated one",
        {"scanned": scan(None, lot_tracked=False)},
        accepted("EARLY", stock_id=1),
    ),
    (
        "the task's earlier picks count",
        {"task": replace(TASK, picked=3), "scanned": scan(pack_quantity=2)},
        accepted("EARLY", units=2, stock_id=1, picked=5),
    ),
    ("the location label confirms the place", {"location_raw": " LOC-A-01 "}, accepted("EARLY", stock_id=1)),
    # ---- one scan, a confirmed quantity (issue 21)
    ("one scan, five units confirmed", {"scanned": scan(confirmed=5)}, accepted("EARLY", units=5, stock_id=1)),
    (
        "a box of 2 scanned, 4 units confirmed: two boxes",
        {"scanned": scan(pack_quantity=2, confirmed=4)},
        accepted("EARLY", units=4, stock_id=1),
    ),
    (
        "a quantity of an earlier lot is swapped like its single scan",
        {"scanned": scan("SOONER", confirmed=3)},
        accepted("SOONER", units=3, swapped=True, stock_id=1),
    ),
    (
        "a serialised unit confirmed as one is a usual scan",
        {"scanned": scan(serial="S1", serial_tracked=True, confirmed=1)},
        (e.LotNotAtLocation, {"scannedLot": "EARLY"}),
    ),
    # ---- FEFO
    (
        "a later lot is a FEFO violation naming the allocated lot",
        {"scanned": scan("LATER")},
        (
            e.FefoViolation,
            {
                "takeLot": "EARLY",
                "takeLocation": "A-01",
                "takeExpiry": day(100),
                "scannedLot": "LATER",
                "scannedExpiry": day(300),
            },
        ),
    ),
    (
        "with the allocated row gone ineligible, the violation names the first eligible lot here",
        {"scanned": scan("LATER"), "stock": (replace(HERE[0], hold="count"), *HERE[1:])},
        (e.FefoViolation, {"takeLot": "SOONER", "takeLocation": "A-01", "takeExpiry": day(90)}),
    ),
    # ---- the stock scanned
    ("expired", {"scanned": scan("OLD")}, (e.LotExpired, {"lot": "OLD", "location": "A-01", "expiry": day(-1)})),
    (
        "short-dated for this order",
        {"scanned": scan("SHORT")},
        (e.ShelfLifeTooShort, {"lot": "SHORT", "remainingDays": 10, "requiredDays": 30}),
    ),
    ("held", {"scanned": scan("HELD")}, (e.StockOnHold, {"lot": "HELD", "reason": "suspected damage"})),
    ("quarantined", {"scanned": scan("QUAR")}, (e.LotQuarantined, {"lot": "QUAR", "lotStatus": "quarantine"})),
    ("recalled", {"scanned": scan("RECALL")}, (e.LotRecalled, {"lot": "RECALL"})),
    ("a frozen location", {"stock": everywhere(location_frozen=True)}, (e.LocationFrozen, {"location": "A-01"})),
    (
        "a location blocked for the item after a short pick",
        {"stock": everywhere(blocked=True)},
        (e.LocationFrozen, {"location": "A-01"}),
    ),
    (
        "bonded stock for an order that may not take it",
        {"stock": everywhere(location_type="bonded")},
        (e.LotQuarantined, {"lotStatus": "bonded-not-allowed"}),
    ),
    (
        "a lot with nothing left here",
        {"scanned": scan("EMPTY")},
        (e.InsufficientStock, {"available": 0, "lot": "EMPTY", "location": "A-01"}),
    ),
    (
        "a lot udipick does not know here",
        {"scanned": scan("NOPE")},
        (e.LotNotAtLocation, {"scannedLot": "NOPE", "takeLot": "EARLY", "takeLocation": "A-01"}),
    ),
    (
        "a lot still on its licence plate is not stock on the shelf",
        {"scanned": scan("INBOX")},
        (e.LotNotAtLocation, {"scannedLot": "INBOX"}),
    ),
    # ---- the unit scanned
    (
        "another item",
        {"scanned": scan(item_id=2, gtin="00614141010028")},
        (
            e.WrongItem,
            {
                "expectedItem": "Syringe",
                "expectedGtin": "00614141010011",
                "expectedAgency": "gs1",
                "expectedCode": "00614141010011",
                "expectedDi": None,
                "scannedGtin": "00614141010028",
                "takeLocation": "A-01",
            },
        ),
    ),
    (
        "another item, the task's registered with MA: named by its MA DI",
        {
            "task": replace(TASK, udi_agency="ma", udi_di="MA.156.M0.100001.10000012"),
            "scanned": scan(item_id=2, gtin="00614141010028"),
        },
        (
            e.WrongItem,
            {
                "expectedGtin": "00614141010011",
                "expectedAgency": "ma",
                "expectedCode": "MA.156.M0.100001.10000012",
                "expectedDi": "MA.156.M0.100001.10000012",
            },
        ),
    ),
    (
        "another item, the task's registered with AHM: named by its AHM DI",
        {"task": replace(TASK, udi_agency="ahm", udi_di="AHM.1000001.2000001"), "scanned": scan(item_id=None)},
        (e.WrongItem, {"expectedAgency": "ahm", "expectedCode": "AHM.1000001.2000001"}),
    ),
    (
        "an MA item the ERP sent without its DI is named by its GTIN, not by nothing",
        {"task": replace(TASK, udi_agency="ma"), "scanned": scan(item_id=None)},
        (e.WrongItem, {"expectedAgency": "gs1", "expectedCode": "00614141010011", "expectedDi": None}),
    ),
    (
        "an item udipick does not know",
        {"scanned": scan(item_id=None, item_name=None, gtin="00000000000017")},
        (e.WrongItem, {"scannedGtin": "00000000000017"}),
    ),
    ("over-pick", {"scanned": scan(count=6)}, (e.OverPick, {"remaining": 5, "scannedUnits": 6})),
    (
        "a quantity over the remainder is an over-pick",
        {"task": replace(TASK, picked=2), "scanned": scan(confirmed=4)},
        (e.OverPick, {"remaining": 3, "scannedUnits": 4}),
    ),
    (
        "a quantity of a later lot is a FEFO violation as its single scan",
        {"scanned": scan("LATER", confirmed=2)},
        (e.FefoViolation, {"takeLot": "EARLY", "scannedLot": "LATER"}),
    ),
    (
        "a quantity of a held lot is refused as its single scan",
        {"scanned": scan("HELD", confirmed=2)},
        (e.StockOnHold, {}),
    ),
    (
        "a quantity more than the lot has at the location",
        {"task": replace(TASK, quantity=9), "scanned": scan("SAME", confirmed=6)},
        (e.InsufficientStock, {"available": 5, "lot": "SAME"}),
    ),
    (
        "a quantity that is not whole packs",
        {"scanned": scan(pack_quantity=2, confirmed=3)},
        (e.QuantityNotWholePacks, {"packUnits": 2, "quantity": 3}),
    ),
    (
        "a quantity on a serialised unit's scan",
        {"scanned": scan(serial="S1", serial_tracked=True, confirmed=2)},
        (e.SerialsOneByOne, {"quantity": 2}),
    ),
    (
        "a quantity on another item's scan is the wrong item",
        {"scanned": scan(item_id=2, confirmed=2)},
        (e.WrongItem, {}),
    ),
    (
        "over-pick by pack",
        {"task": replace(TASK, picked=4), "scanned": scan(pack_quantity=2)},
        (e.OverPick, {"remaining": 1, "scannedUnits": 2}),
    ),
    (
        "a serial already picked",
        {"scanned": scan(serial="S1", serial_status="picked")},
        (e.SerialAlreadyPicked, {"serial": "S1"}),
    ),
    (
        "a serial already packed",
        {"scanned": scan(serial="S1", serial_status="packed")},
        (e.SerialAlreadyPicked, {"serial": "S1"}),
    ),
    (
        "a serial already shipped",
        {"scanned": scan(serial="S1", serial_status="shipped")},
        (e.SerialAlreadyShipped, {"serial": "S1"}),
    ),
    (
        "a serial on hold",
        {"scanned": scan(serial="S1", serial_status="hold")},
        (e.StockOnHold, {"serial": "S1", "reason": "serial hold"}),
    ),
    (
        "a serial rejected by QC",
        {"scanned": scan(serial="S1", serial_status="rejected")},
        (e.LotQuarantined, {"serial": "S1", "lotStatus": "rejected"}),
    ),
    ("a lot-tracked item scanned without its lot", {"scanned": scan(None)}, (e.MissingLot, {"needs": ["lot"]})),
    (
        "a serialised item scanned without its serial",
        {"scanned": scan(serial_tracked=True)},
        (e.MissingSerial, {"needs": ["serial"]}),
    ),
    # ---- the task and the place, first
    (
        "a task already done",
        {"task": replace(TASK, status="done"), "scanned": scan(item_id=2)},
        (e.TaskNotOpen, {"taskId": 7, "taskStatus": "done"}),
    ),
    (
        "a task whose wave, order or line was cancelled, even with the right unit in hand",
        {"task": replace(TASK, status="cancelled", order_status="cancelled")},
        (e.TaskCancelled, {"taskId": 7, "order": "SO-1"}),
    ),
    (
        "an order put back",
        {"task": replace(TASK, order_status="cancelled")},
        (e.OrderNotReleased, {"order": "SO-1", "orderStatus": "cancelled"}),
    ),
    (
        "another location's label",
        {"location_raw": "LOC-B-07", "scanned": scan(item_id=2)},
        (e.WrongLocation, {"expectedLocation": "A-01", "scannedLocation": "B-07", "takeLocation": "A-01"}),
    ),
    ("a label that is no location", {"location_raw": "TOTE-1"}, (e.WrongLocation, {"scannedLocation": "TOTE-1"})),
    ("a warehouse without a staging location", {"task": replace(TASK, staging_id=None)}, (e.Conflict, {})),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_pick_scan_is_decided(kwargs, expected):
    if isinstance(expected, dict):
        assert _outcome(decide(**kwargs)) == expected
        return
    error, context = expected
    with pytest.raises(error) as exc:
        decide(**kwargs)
    assert type(exc.value) is error
    assert {k: exc.value.context.get(k) for k in context} == context


def test_without_every_row_a_decision_that_needs_the_first_eligible_lot_asks_for_them():
    stock = (replace(HERE[0], hold="count"), *HERE[1:])
    assert decide(scanned=scan("LATER"), stock=stock, every_row=False) is None
    assert decide(scanned=scan("LATER"), stock=HERE[1:], every_row=False) is None  # the task's own row is gone
    assert decide(stock=HERE[:1], every_row=False) is not None  # the usual case: the task's own row suffices


def test_the_first_eligible_lot_is_the_first_in_fefo_order_with_stock():
    # SOONER has nothing free; the next in FEFO order is one of two lots expiring the same day: lots compare by
    # code point, so "B-LOT" comes before "b-LOT"
    stock = (
        replace(HERE[0], hold="count"),
        row(3, "SOONER", 90, available=0),
        row(21, "b-LOT", 95),
        row(22, "B-LOT", 95),
        HERE[3],
    )
    with pytest.raises(e.FefoViolation) as exc:
        decide(scanned=scan("LATER"), stock=stock)
    assert exc.value.context["takeLot"] == "B-LOT"


def test_a_serialised_unit_another_task_of_the_line_reserved_is_traded():
    serial_task = replace(TASK, quantity=1, stock_id=31, lot_id=11, lot="EARLY", serial_id=301)
    mine = row(31, "EARLY", 100, available=0, lot_id=11, serial_id=301, serial="S-301")
    theirs = row(32, "EARLY", 100, available=0, lot_id=11, serial_id=302, serial="S-302")
    other = ReservedSerial(task_id=8, stock_id=32, lot_id=11, serial_id=302)
    scanned = scan(serial="S-302", serial_status="in_stock", serial_tracked=True)
    d = decide(serial_task, scanned, (mine, theirs), trade=other)
    assert d is not None
    assert (d.stock_id, d.serial_id, d.trade, d.verdict.candidate.serial, d.verdict.swapped) == (
        32,
        302,
        other,
        "S-302",
        False,
    )
    # without the other task's reservation the same unit has nothing free for this task
    with pytest.raises(e.InsufficientStock):
        decide(serial_task, scanned, (mine, theirs), trade=None)


# ---- undo of a pick scan and a short pick's count (issue 21) -------------------------------------------

UNDO = PickToUndo(
    task_id=7,
    pick_task_id=7,
    picked_by=3,
    undone=False,
    packed=0,
    put_back=0,
    age_seconds=5.0,
    latest=True,
    task_status="done",
    order="SO-1",
    order_status="released",
)

UNDO_CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("the picker's last pick, seconds ago", {}, None),
    ("at the window's last second", {"age_seconds": 30.0}, None),
    ("an open task", {"task_status": "open"}, None),
    ("after the window", {"age_seconds": 30.5}, (e.UndoTooLate, {"undoSeconds": 30})),
    ("another picker's pick", {"picked_by": 4}, (e.UndoNotLast, {"taskId": 7})),
    ("a pick of another task", {"pick_task_id": 8}, (e.UndoNotLast, {"taskId": 7})),
    ("not the picker's last", {"latest": False}, (e.UndoNotLast, {})),
    ("undone already", {"undone": True}, (e.UndoNotLast, {})),
    ("packed", {"packed": 1}, (e.UndoAfterPacking, {})),
    ("handed to a put-back", {"put_back": 1}, (e.UndoAfterPacking, {})),
    ("a task reported short since", {"task_status": "short"}, (e.TaskNotOpen, {"taskStatus": "short"})),
    ("an order cancelled since", {"order_status": "cancelled"}, (e.OrderNotReleased, {"orderStatus": "cancelled"})),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in UNDO_CASES], ids=[c[0] for c in UNDO_CASES])
def test_an_undo_is_allowed_only_for_the_pickers_last_pick_within_the_window(change, expected):
    pick = replace(UNDO, **change)
    if expected is None:
        check_undo(pick, user_id=3, window_seconds=30)
        return
    error, context = expected
    with pytest.raises(error) as exc:
        check_undo(pick, user_id=3, window_seconds=30)
    assert type(exc.value) is error
    assert {k: exc.value.context.get(k) for k in context} == context


@pytest.mark.parametrize(("found", "ok"), [(0, True), (3, True), (5, True), (6, False), (-1, False)])
def test_a_short_pick_finds_between_none_and_the_remainder(found, ok):
    if ok:
        check_short_found(found, 5)
    else:
        with pytest.raises(e.FoundOverRemaining):
            check_short_found(found, 5)


@pytest.mark.parametrize(
    ("required", "tote", "picked", "refused"),
    [
        (False, None, 0, False),  # the site does not ask for totes
        (True, "TOTE-7", 0, False),  # a tote was scanned for the order
        (True, None, 0, True),  # the first unit of the order, no tote: refused
        (True, None, 3, False),  # started before the setting was turned on: its units are already out
    ],
)
def test_a_site_that_requires_totes_refuses_an_orders_first_pick_without_one(required, tote, picked, refused):
    from udipick.domain.picking import check_tote

    if not refused:
        check_tote(required=required, tote=tote, picked=picked, order="SO-1", task_id=7)
        return
    with pytest.raises(e.ToteRequired) as raised:
        check_tote(required=required, tote=tote, picked=picked, order="SO-1", task_id=7)
    assert raised.value.context == {"order": "SO-1", "taskId": 7}
