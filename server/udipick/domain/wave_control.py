"""Cancelling a wave, an order or an order line: what is released, what goes back, what the lines owe.

Pure: the service reads the tasks and picks of the cancelled scope under lock, this module decides,
the service writes the result with its outbox events in one transaction. A cancel undoes the scope's
picking: every task that is not cancelled already is cancelled; what an open task still reserves is
released on its stock row; units already picked (at staging, in a tote) are handed to put-back
tasks that carry them back to the location they were picked from, one task per wave, order, item, lot,
serial, staging place and source location. Units packed into a carton cannot be put back this way
(the carton is closed around them, its SSCC may be on a label already): such a cancel is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from udipick.domain import errors as e

#: an order in these states has nothing udipick could still undo
_TOO_LATE = ("shipped",)


@dataclass(frozen=True, slots=True)
class TaskState:
    """A pick task of the scope, as read under lock."""

    task_id: int
    document_id: int
    line_id: int
    stock_id: int
    quantity: int
    picked: int
    status: str  # open, done, short, cancelled


@dataclass(frozen=True, slots=True)
class PickedUnits:
    """One confirmed pick of a task of the scope: where its units are now."""

    pick_id: int
    task_id: int
    wave_id: int
    document_id: int
    item_id: int
    lot_id: int | None
    serial_id: int | None
    quantity: int
    packed: int
    put_back: int
    #: where the units were taken from (where they go back to)
    from_location_id: int
    #: where they are now: staging, in the tote if they were picked into one
    staging_location_id: int
    container_id: int | None


@dataclass(frozen=True, slots=True)
class PutBack:
    wave_id: int
    document_id: int
    item_id: int
    lot_id: int | None
    serial_id: int | None
    quantity: int
    from_location_id: int
    from_container_id: int | None
    to_location_id: int


@dataclass(frozen=True, slots=True)
class LineChange:
    """What an order line no longer has: units allocated to it and units picked for it."""

    line_id: int
    allocated: int
    picked: int


@dataclass(frozen=True, slots=True)
class CancelPlan:
    #: tasks to mark cancelled
    tasks: tuple[int, ...]
    #: (stock row, units) whose reservation is released
    releases: tuple[tuple[int, int], ...]
    lines: tuple[LineChange, ...]
    #: (pick, units) handed to a put-back task
    picks: tuple[tuple[int, int], ...]
    put_backs: tuple[PutBack, ...]

    @property
    def released(self) -> int:
        return sum(q for _, q in self.releases)

    @property
    def put_back(self) -> int:
        return sum(p.quantity for p in self.put_backs)


def check_cancellable(target: str, status: str, *, cancelled: bool = False) -> None:
    """Refuse a cancel of what is cancelled already or too late to undo (``target`` names it: "wave 3",
    "order SO-1", "line 2 of order SO-1")."""
    if cancelled or status == "cancelled":
        raise e.AlreadyCancelled(f"{target} is already cancelled", target=target)
    if status in _TOO_LATE:
        raise e.NotCancellable(f"{target} has {status}: it can no longer be cancelled", target=target, state=status)


def plan_cancel(target: str, tasks: list[TaskState], picks: list[PickedUnits]) -> CancelPlan:
    """Undo the picking of ``tasks`` (the scope's tasks) and of their ``picks``.

    An open task releases what it still reserves (``quantity - picked``); a task's picked units leave
    its line's allocated and picked counts as they go to a put-back. A done or short task allocated
    only what it picked (a short pick released the rest), so it gives back exactly its picks.
    """
    live = {t.task_id: t for t in tasks if t.status != "cancelled"}
    mine = [p for p in picks if p.task_id in live]
    packed = sum(p.packed for p in mine)
    if packed:
        raise e.NotCancellable(
            f"{target}: {packed} unit(s) are packed into cartons already; it can no longer be cancelled",
            target=target,
            state="packed",
            packed=packed,
        )
    releases: list[tuple[int, int]] = []
    allocated: dict[int, int] = {}
    picked: dict[int, int] = {}
    for t in sorted(live.values(), key=lambda t: t.task_id):
        held = t.quantity if t.status == "open" else t.picked
        allocated[t.line_id] = allocated.get(t.line_id, 0) + held
        if t.status == "open" and t.quantity > t.picked:
            releases.append((t.stock_id, t.quantity - t.picked))
    handed: list[tuple[int, int]] = []
    groups: dict[tuple[int, int, int, int | None, int | None, int, int | None, int], int] = {}
    for p in sorted(mine, key=lambda p: p.pick_id):
        units = p.quantity - p.packed - p.put_back
        if units <= 0:
            continue
        handed.append((p.pick_id, units))
        line = live[p.task_id].line_id
        picked[line] = picked.get(line, 0) + units
        key = (
            p.wave_id,
            p.document_id,
            p.item_id,
            p.lot_id,
            p.serial_id,
            p.staging_location_id,
            p.container_id,
            p.from_location_id,
        )
        groups[key] = groups.get(key, 0) + units
    put_backs = tuple(
        PutBack(
            wave_id=wave,
            document_id=doc,
            item_id=item,
            lot_id=lot,
            serial_id=serial,
            quantity=units,
            from_location_id=staging,
            from_container_id=container,
            to_location_id=source,
        )
        for (wave, doc, item, lot, serial, staging, container, source), units in groups.items()
    )
    lines = tuple(
        LineChange(line, allocated.get(line, 0), picked.get(line, 0)) for line in sorted(set(allocated) | set(picked))
    )
    return CancelPlan(
        tasks=tuple(sorted(live)),
        releases=tuple(releases),
        lines=lines,
        picks=tuple(handed),
        put_backs=put_backs,
    )


def order_status_after_wave_cancel(status: str, *, other_live_tasks: bool) -> str:
    """A wave's cancel does not cancel its orders: they go back to ``open`` to be released again, unless
    another wave still has work for them (then they stay ``released``)."""
    if status != "released":
        return status
    return "released" if other_live_tasks else "open"
