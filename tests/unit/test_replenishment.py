"""Replenishment planning and the confirm verdict, as tables of cases with ``today`` passed in."""

from __future__ import annotations

import datetime as dt

import pytest
from msgspec.structs import replace

from udipick.domain import errors as e
from udipick.domain.allocation import Candidate
from udipick.domain.replenishment import (
    ItemNeed,
    LocationScan,
    MoveScan,
    OpenTask,
    PickFace,
    TaskView,
    choose_face,
    judge_replenishment_scan,
    plan_item,
    plan_replenishment,
)

TODAY = dt.date(2026, 11, 25)
FACE = PickFace(item_id=1, location_id=10, location="A-01", pick_sequence=100)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def reserve(stock_id: int, lot: str, expiry_in: int | None, available: int = 100, **kw) -> Candidate:
    base = dict(
        stock_id=stock_id,
        item_id=1,
        lot_id=stock_id,
        lot=lot,
        expiry=day(expiry_in) if expiry_in is not None else None,
        lot_status="released",
        serial_id=None,
        serial=None,
        location_id=500 + stock_id,
        location=f"R-{stock_id:02d}",
        location_type="reserve",
        pick_sequence=500 + stock_id,
        location_frozen=False,
        available=available,
    )
    base.update(kw)
    return Candidate(**base)


def on_face(stock_id: int, available: int, expiry_in: int | None = 300, **kw) -> Candidate:
    where = dict(
        location_id=FACE.location_id, location=FACE.location, location_type="pick", pick_sequence=FACE.pick_sequence
    )
    return reserve(stock_id, f"F{stock_id}", expiry_in, available, **{**where, **kw})


def moves(plan) -> list[tuple[str, str, int, int | None]]:
    return [(m.candidate.lot, m.to.location, m.quantity, m.task_id) for m in plan.moves]


# ---- how much, from where -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "need", "stock", "open_tasks", "expected", "missing", "reason"),
    [
        ("the face holds enough", ItemNeed(1, 50), [on_face(1, 50), reserve(2, "R1", 100)], [], None, None, None),
        (
            "demand from reserve is moved to the face",
            ItemNeed(1, 70),
            [reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 70, None)],
            0,
            None,
        ),
        (
            "free units on the face are netted",
            ItemNeed(1, 70),
            [on_face(1, 30), reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 40, None)],
            0,
            None,
        ),
        (
            "units reserved on the face are not free",
            ItemNeed(1, 70),
            [on_face(1, 0), reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 70, None)],
            0,
            None,
        ),
        (
            "the minimum alone triggers",
            ItemNeed(1, 0, minimum=25),
            [on_face(1, 5), reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 20, None)],
            0,
            None,
        ),
        (
            "demand plus minimum",
            ItemNeed(1, 10, minimum=25),
            [reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 35, None)],
            0,
            None,
        ),
        (
            "earliest expiry first, spilling into the next lot",
            ItemNeed(1, 150),
            [reserve(2, "LATE", 400), reserve(3, "EARLY", 100), reserve(4, "MID", 200)],
            [],
            [("EARLY", "A-01", 100, None), ("MID", "A-01", 50, None)],
            0,
            None,
        ),
        (
            "lots without expiry go last",
            ItemNeed(1, 10),
            [reserve(2, "NOEXP", None), reserve(3, "EXP", 900)],
            [],
            [("EXP", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "expired reserve is never moved",
            ItemNeed(1, 10),
            [reserve(2, "OLD", -1), reserve(3, "OK", 300)],
            [],
            [("OK", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "short-dated for the item is never moved",
            ItemNeed(1, 10, min_shelf_life_days=60),
            [reserve(2, "SHORT", 59), reserve(3, "OK", 60)],
            [],
            [("OK", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "held lot is never moved",
            ItemNeed(1, 10),
            [reserve(2, "HELD", 10, lot_status="hold"), reserve(3, "OK", 300)],
            [],
            [("OK", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "stock under an active hold is never moved",
            ItemNeed(1, 10),
            [reserve(2, "HELD", 10, hold="complaint"), reserve(3, "OK", 300)],
            [],
            [("OK", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "quarantined and recalled lots are never moved",
            ItemNeed(1, 10),
            [
                reserve(2, "Q", 10, lot_status="quarantine"),
                reserve(3, "X", 11, lot_status="recalled"),
                reserve(4, "OK", 300),
            ],
            [],
            [("OK", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "a frozen reserve location is skipped",
            ItemNeed(1, 10),
            [reserve(2, "FROZEN", 10, location_frozen=True), reserve(3, "OK", 300)],
            [],
            [("OK", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "serialised rows are never moved",
            ItemNeed(1, 1),
            [reserve(2, "S", 10, available=1, serial_id=7, serial="SN7")],
            [],
            [],
            1,
            "no-stock",
        ),
        (
            "expired units on the face do not count",
            ItemNeed(1, 10),
            [on_face(1, 50, expiry_in=-3), reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "held units on the face do not count",
            ItemNeed(1, 10),
            [on_face(1, 50, hold="damaged"), reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "units on their way count",
            ItemNeed(1, 70),
            [reserve(2, "R1", 100)],
            [OpenTask(9, 1, 2, 502, 10, 70)],
            None,
            None,
            None,
        ),
        (
            "units of a lot held since cannot arrive",
            ItemNeed(1, 70),
            [reserve(2, "R1", 100, hold="complaint"), reserve(3, "R3", 100)],
            [OpenTask(9, 1, 2, 502, 10, 70, stock_id=2)],
            [("R3", "A-01", 70, None)],
            0,
            None,
        ),
        (
            "the open task of the same lot, source and face is raised",
            ItemNeed(1, 100),
            [reserve(2, "R1", 100, available=30)],
            [OpenTask(9, 1, 2, 502, 10, 70)],
            [("R1", "A-01", 30, 9)],
            0,
            None,
        ),
        (
            "another lot gets its own task",
            ItemNeed(1, 100),
            [reserve(3, "R3", 50)],
            [OpenTask(9, 1, 2, 502, 10, 70)],
            [("R3", "A-01", 30, None)],
            0,
            None,
        ),
        (
            "open tasks of other items are not this item's",
            ItemNeed(1, 10),
            [reserve(2, "R1", 100)],
            [OpenTask(9, 2, 2, 502, 10, 70)],
            [("R1", "A-01", 10, None)],
            0,
            None,
        ),
        (
            "reserve too small: the rest is missing",
            ItemNeed(1, 150),
            [reserve(2, "R1", 100)],
            [],
            [("R1", "A-01", 100, None)],
            50,
            "no-stock",
        ),
        (
            "missing for the reason most reserve was refused",
            ItemNeed(1, 50),
            [reserve(2, "OLD", -1, available=80), reserve(3, "HELD", 30, lot_status="hold", available=10)],
            [],
            [],
            50,
            "expired",
        ),
    ],
)
def test_planning(case, need, stock, open_tasks, expected, missing, reason):
    plan = plan_item(need, stock, [FACE], open_tasks, today=TODAY)
    if expected is None:
        assert plan is None, case
        return
    assert moves(plan) == expected, case
    assert (plan.missing, plan.reason) == (missing, reason), case
    assert sum(m.quantity for m in plan.moves) + plan.missing == plan.short


@pytest.mark.parametrize(
    ("faces", "expected"),
    [
        ([], None),
        ([replace(FACE, location_id=11, location="A-02", pick_sequence=200), FACE], "A-01"),
        ([replace(FACE, frozen=True), replace(FACE, location_id=11, location="A-02", pick_sequence=200)], "A-02"),
        (
            [replace(FACE, blocked=True), replace(FACE, location_id=11, location="A-02", pick_sequence=200, held=True)],
            None,
        ),
        (
            [replace(FACE, location_id=12, location="A-03"), replace(FACE, location_id=11, location="A-02")],
            "A-02",
        ),  # tie: by code
    ],
)
def test_the_face_is_the_first_usable_one_on_the_pick_path(faces, expected):
    face = choose_face(faces)
    assert (face.location if face else None) == expected


@pytest.mark.parametrize(
    ("faces", "reason"),
    [([], "no-pick-face"), ([replace(FACE, frozen=True)], "pick-face-unusable")],
)
def test_an_item_without_a_usable_face_is_reported_not_moved(faces, reason):
    plan = plan_item(ItemNeed(1, 40), [reserve(2, "R1", 100)], faces, [], today=TODAY)
    assert plan.face is None and plan.moves == () and (plan.missing, plan.reason) == (40, reason)


def test_items_are_planned_independently():
    other_face = replace(FACE, item_id=2, location_id=20, location="B-01")
    stock = [
        reserve(2, "R1", 100),
        reserve(3, "R2", 100, item_id=2),
        on_face(4, 100, item_id=2, location_id=20, location="B-01"),
    ]
    plans = plan_replenishment([ItemNeed(1, 10), ItemNeed(2, 10)], stock, [FACE, other_face], [], today=TODAY)
    assert [(p.item_id, moves(p)) for p in plans] == [(1, [("R1", "A-01", 10, None)])]


# ---- the confirm verdict ------------------------------------------------------------------------------

TASK = TaskView(
    task_id=1,
    item_id=1,
    item_name="Syringe",
    gtin="00614141010012",
    lot_tracked=True,
    lot="R1",
    from_location="R-02",
    from_barcode="LOC-R-02",
    to_location="A-01",
    to_barcode="LOC-A-01",
    remaining=70,
)
SOURCE = reserve(2, "R1", 100, available=30)  # 100 on the shelf, 70 of them reserved for the task
HERE = LocationScan("LOC-R-02", "R-02")
FACE_SCAN = LocationScan("LOC-A-01", "A-01")
GOOD = MoveScan(source=HERE, item_id=1, gtin=TASK.gtin, lot="R1", units=None, destination=FACE_SCAN)


@pytest.mark.parametrize(
    ("case", "scan", "task", "source", "code", "context"),
    [
        (
            "another source location",
            replace(GOOD, source=LocationScan("LOC-R-03", "R-03")),
            TASK,
            SOURCE,
            "wrong-location",
            {"expectedLocation": "R-02", "scannedLocation": "R-03"},
        ),
        (
            "not a location label",
            replace(GOOD, source=LocationScan("", "TOTE-1")),
            TASK,
            SOURCE,
            "wrong-location",
            {"scannedLocation": "TOTE-1"},
        ),
        (
            "another item",
            replace(GOOD, item_id=2, gtin="00614141010029"),
            TASK,
            SOURCE,
            "wrong-item",
            {"expectedItem": "Syringe", "takeLocation": "R-02"},
        ),
        ("an unknown item", replace(GOOD, item_id=None), TASK, SOURCE, "wrong-item", {}),
        ("no lot on the label", replace(GOOD, lot=None), TASK, SOURCE, "missing-lot", {"needs": ["lot"]}),
        (
            "another lot",
            replace(GOOD, lot="R9"),
            TASK,
            SOURCE,
            "wrong-lot",
            {"takeLot": "R1", "takeLocation": "R-02", "scannedLot": "R9"},
        ),
        (
            "the lot went on hold",
            GOOD,
            TASK,
            replace(SOURCE, hold="complaint"),
            "stock-on-hold",
            {"reason": "complaint"},
        ),
        ("the lot expired", GOOD, TASK, replace(SOURCE, expiry=day(-1)), "lot-expired", {"lot": "R1"}),
        ("the lot was recalled", GOOD, TASK, replace(SOURCE, lot_status="recalled"), "lot-recalled", {}),
        ("the source was frozen", GOOD, TASK, replace(SOURCE, location_frozen=True), "location-frozen", {}),
        (
            "more than the task needs",
            replace(GOOD, units=71),
            TASK,
            SOURCE,
            "over-pick",
            {"remaining": 70, "scannedUnits": 71},
        ),
        (
            "another destination",
            replace(GOOD, destination=LocationScan("LOC-A-02", "A-02")),
            TASK,
            SOURCE,
            "wrong-location",
            {"expectedLocation": "A-01", "scannedLocation": "A-02"},
        ),
        ("the face was frozen", GOOD, replace(TASK, to_frozen=True), SOURCE, "location-frozen", {"location": "A-01"}),
        (
            "the face was blocked for a count",
            GOOD,
            replace(TASK, to_blocked=True),
            SOURCE,
            "location-frozen",
            {"location": "A-01"},
        ),
    ],
)
def test_confirm_refusals(case, scan, task, source, code, context):
    with pytest.raises(e.DomainError) as refused:
        judge_replenishment_scan(task, scan, source, today=TODAY)
    assert refused.value.code == code, case
    assert refused.value.context.items() >= context.items(), (case, refused.value.context)


@pytest.mark.parametrize(
    ("case", "scan", "task", "units"),
    [
        ("all the task still needs", GOOD, TASK, 70),
        ("part of it", replace(GOOD, units=20), TASK, 20),
        ("exactly the rest", replace(GOOD, units=70), TASK, 70),
        ("an item without lots", replace(GOOD, lot=None), replace(TASK, lot=None, lot_tracked=False), 70),
    ],
)
def test_confirm_accepts(case, scan, task, units):
    assert judge_replenishment_scan(task, scan, SOURCE, today=TODAY) == units, case


def test_the_tasks_own_reservation_counts_as_on_the_shelf():
    # every unit of the row is reserved for this task: nothing free, and still movable
    assert judge_replenishment_scan(TASK, GOOD, replace(SOURCE, available=0), today=TODAY) == 70
    with pytest.raises(e.InsufficientStock):
        judge_replenishment_scan(
            TASK, GOOD, replace(SOURCE, available=-5), today=TODAY
        )  # the books lost units meanwhile
