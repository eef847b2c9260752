"""Cancelling a wave, an order or a line, as a table: what is released, what goes back, what the lines lose."""

from __future__ import annotations

import pytest

from udipick.domain import errors as e
from udipick.domain.wave_control import (
    CancelPlan,
    LineChange,
    PickedUnits,
    PutBack,
    TaskState,
    check_cancellable,
    order_status_after_wave_cancel,
    plan_cancel,
)

SHELF, RESERVE, STAGING, TOTE = 10, 11, 90, 500


def task(task_id: int, status: str = "open", quantity: int = 5, picked: int = 0, line: int = 1, stock: int = 100):
    return TaskState(task_id, 7, line, stock, quantity, picked, status)


def pick(pick_id: int, task_id: int, quantity: int, *, lot: int | None = 3, serial: int | None = None, **kw):
    values = dict(
        wave_id=2,
        document_id=7,
        item_id=1,
        lot_id=lot,
        serial_id=serial,
        quantity=quantity,
        packed=0,
        put_back=0,
        from_location_id=SHELF,
        staging_location_id=STAGING,
        container_id=None,
    )
    values.update(kw)
    return PickedUnits(pick_id=pick_id, task_id=task_id, **values)


def back(quantity: int, *, lot: int | None = 3, serial: int | None = None, source: int = SHELF, tote=None):
    return PutBack(2, 7, 1, lot, serial, quantity, STAGING, tote, source)


CASES = [
    (
        "an untouched task: its reservation is released, nothing goes back",
        [task(1)],
        [],
        CancelPlan((1,), ((100, 5),), (LineChange(1, 5, 0),), (), ()),
    ),
    (
        "a task half picked: the rest is released, the picked units go back where they came from",
        [task(1, picked=2)],
        [pick(50, 1, 2)],
        CancelPlan((1,), ((100, 3),), (LineChange(1, 5, 2),), ((50, 2),), (back(2),)),
    ),
    (
        "a done task: nothing is reserved any more, all of it goes back",
        [task(1, status="done", picked=5)],
        [pick(50, 1, 3), pick(51, 1, 2)],
        CancelPlan((1,), (), (LineChange(1, 5, 5),), ((50, 3), (51, 2)), (back(5),)),
    ),
    (
        "a short task allocated only what it picked",
        [task(1, status="short", quantity=2, picked=2)],
        [pick(50, 1, 2)],
        CancelPlan((1,), (), (LineChange(1, 2, 2),), ((50, 2),), (back(2),)),
    ),
    (
        "a task short with nothing picked gave its allocation back already",
        [task(1, status="short", quantity=5, picked=0)],
        [],
        CancelPlan((1,), (), (LineChange(1, 0, 0),), (), ()),
    ),
    (
        "a task cancelled before (a hold re-allocated it) is left alone",
        [task(1, status="cancelled"), task(2, line=2, stock=101)],
        [],
        CancelPlan((2,), ((101, 5),), (LineChange(2, 5, 0),), (), ()),
    ),
    (
        "picks of two lots from two places, one into a tote: one put-back per lot, place and tote",
        [task(1, quantity=6, picked=6, status="done")],
        [
            pick(50, 1, 2, lot=3),
            pick(51, 1, 1, lot=4, from_location_id=RESERVE),
            pick(52, 1, 3, lot=3, container_id=TOTE),
        ],
        CancelPlan(
            (1,),
            (),
            (LineChange(1, 6, 6),),
            ((50, 2), (51, 1), (52, 3)),
            (back(2, lot=3), back(1, lot=4, source=RESERVE), back(3, lot=3, tote=TOTE)),
        ),
    ),
    (
        "serials go back one by one",
        [task(1, quantity=2, picked=2, status="done")],
        [pick(50, 1, 1, serial=8), pick(51, 1, 1, serial=9)],
        CancelPlan((1,), (), (LineChange(1, 2, 2),), ((50, 1), (51, 1)), (back(1, serial=8), back(1, serial=9))),
    ),
    (
        "two lines of one order, each loses its own",
        [task(1, line=1, picked=1), task(2, line=2, quantity=3, stock=101)],
        [pick(50, 1, 1)],
        CancelPlan(
            (1, 2),
            ((100, 4), (101, 3)),
            (LineChange(1, 5, 1), LineChange(2, 3, 0)),
            ((50, 1),),
            (back(1),),
        ),
    ),
]


@pytest.mark.parametrize(("tasks", "picks", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_cancel_undoes_the_picking_of_its_scope(tasks, picks, expected):
    assert plan_cancel("order SO-1", tasks, picks) == expected


def test_what_a_cancel_releases_and_puts_back_adds_up():
    plan = plan_cancel("wave 1", [task(1, picked=2), task(2, stock=101)], [pick(50, 1, 2)])
    assert (plan.released, plan.put_back) == (8, 2)


def test_packed_units_make_a_cancel_too_late():
    with pytest.raises(e.NotCancellable) as exc:
        plan_cancel("order SO-1", [task(1, status="done", picked=5)], [pick(50, 1, 5, packed=2)])
    assert exc.value.context == {"target": "order SO-1", "state": "packed", "packed": 2}


def test_packed_units_of_a_task_cancelled_before_do_not_count():
    plan = plan_cancel("order SO-1", [task(1, status="cancelled"), task(2)], [pick(50, 1, 5, packed=5)])
    assert plan.tasks == (2,)


@pytest.mark.parametrize(
    ("status", "cancelled", "error"),
    [
        ("open", False, None),
        ("released", False, None),
        ("done", False, None),
        ("cancelled", False, e.AlreadyCancelled),
        ("open", True, e.AlreadyCancelled),
        ("shipped", False, e.NotCancellable),
    ],
)
def test_what_can_be_cancelled(status, cancelled, error):
    if error is None:
        check_cancellable("order SO-1", status, cancelled=cancelled)
        return
    with pytest.raises(error) as exc:
        check_cancellable("order SO-1", status, cancelled=cancelled)
    assert type(exc.value) is error and exc.value.context["target"] == "order SO-1"


@pytest.mark.parametrize(
    ("status", "other", "after"),
    [
        ("released", False, "open"),
        ("released", True, "released"),
        ("open", False, "open"),
        ("shipped", False, "shipped"),
    ],
)
def test_a_wave_cancel_sends_its_orders_back_to_be_released_again(status, other, after):
    assert order_status_after_wave_cancel(status, other_live_tasks=other) == after
