"""The supervisor's live floor view (``GET /api/v1/live``): a snapshot, then the changes, read by outbox position.

Why the outbox: every pick answer is already an outbox event written in the answer's transaction
(``pick.confirmed.v1``, ``pick.refused.v1``, ``pick.shorted.v1``, ``stock.counted.v1``, ``wave.released.v1``),
numbered gap-free in commit order by the sequencer and announced to every server process by ``NOTIFY
udipick_positions``. Following positions therefore gives each live client every change exactly in commit
order, whichever process (or host) answered the scan, and costs the scan nothing. Exceptions are not events
of their own (the ERP has no use for them, and the ERP stream sends every event): an exception row names the
event of the answer that raised it (``exceptions.event_id``, same transaction), and the live reader joins it
on while it reads that event. What is not an answer to a scan changes rarely and is polled once a second by
each live client (``tick``): resolutions (of the exceptions it showed open) and handhelds' offline queues.

Pure bookkeeping (rates, what changed) lives in ``LiveView`` here; the WebSocket is ``api/live.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import msgspec

from udipick.services.exceptions import SELECT as EXCEPTION_SELECT
from udipick.services.exceptions import DeviceQueueOut, ExceptionOut, exception_of

#: the window of "lines per hour" (lines picked in the last 15 minutes, times 4)
RATE_WINDOW = dt.timedelta(minutes=15)
#: a handheld that has not reported for this long is offline, whatever it said last
DEVICE_SILENT = dt.timedelta(seconds=90)

#: the outbox events the live view follows
LIVE_TYPES = ["pick.confirmed.v1", "pick.refused.v1", "pick.shorted.v1", "stock.counted.v1", "wave.released.v1"]


class TaskRef(msgspec.Struct, rename="camel"):
    task_id: int
    order: str | None
    location: str | None


class PickerOut(msgspec.Struct, rename="camel"):
    """A picker as the floor view shows them: what they work on, their last scan, their pace."""

    user: str
    device: str | None
    current_task: TaskRef | None
    last_scan_at: dt.datetime
    last_verdict: Literal["accepted", "refused", "short"]
    #: the refusal's problem code, when the last scan was refused
    last_code: str | None
    #: distinct order lines this picker picked from in the last 15 minutes, times 4
    lines_per_hour: int


class OrderProgress(msgspec.Struct, rename="camel"):
    wave_id: int
    order: str
    lines: int
    #: lines with no open task left
    lines_done: int
    short_lines: int
    units: int
    units_picked: int


class WaveProgress(msgspec.Struct, rename="camel"):
    wave_id: int
    orders: int
    lines: int
    lines_done: int
    short_lines: int
    units: int
    units_picked: int


class Snapshot(msgspec.Struct, rename="camel", tag="snapshot", tag_field="type"):
    #: the outbox position the snapshot was read at: the changes that follow are the events after it
    head: int
    at: dt.datetime
    waves: list[WaveProgress]
    orders: list[OrderProgress]
    pickers: list[PickerOut]
    #: handhelds offline (or silent for 90 s) with scans waiting in their queue
    devices: list[DeviceQueueOut]
    #: open exceptions, newest first (at most 500)
    exceptions: list[ExceptionOut]


# ---- reads ---------------------------------------------------------------------------------------------

#: per wave and order line: units (not cancelled), units picked, whether a task is open, whether one was short
_LINES = """
SELECT t.wave_id, d.erp_id, t.line_id,
       coalesce(sum(t.quantity) FILTER (WHERE t.status <> 'cancelled'), 0)::int, coalesce(sum(t.picked), 0)::int,
       bool_or(t.status = 'open'), bool_or(t.status = 'short')
  FROM pick_tasks t JOIN outbound_documents d ON d.id = t.document_id
 WHERE {where}
 GROUP BY 1, 2, 3
"""
#: every line of every wave with an open task (the partial index of open tasks serves it)
LINES_OPEN = _LINES.format(where="t.wave_id IN (SELECT DISTINCT wave_id FROM pick_tasks WHERE status = 'open')")
#: the lines of these tasks (``$1``) and of these waves (``$2``): the line and wave indexes, not the whole wave
LINES_OF = _LINES.format(
    where="t.line_id = ANY(ARRAY(SELECT line_id FROM pick_tasks WHERE id = ANY($1::bigint[])))"
    " OR t.wave_id = ANY($2::int[])"
)

#: per picker and order line, the last pick in the rate window (BRIN index on ``picks.picked_at``)
_PICKERS = """
SELECT u.username, p.device_id, d.erp_id, ol.line_no, max(p.picked_at) AS at,
       (array_agg(p.task_id ORDER BY p.picked_at DESC))[1] AS task_id,
       (array_agg(loc.code ORDER BY p.picked_at DESC))[1] AS location
  FROM picks p
  JOIN users u ON u.id = p.picked_by
  JOIN outbound_documents d ON d.id = p.document_id
  JOIN outbound_lines ol ON ol.id = p.line_id
  JOIN locations loc ON loc.id = p.from_location_id
 WHERE p.picked_at > $1
 GROUP BY 1, 2, 3, 4
"""

DEVICES = (
    "SELECT device_id, username, queued, online, reported_at FROM device_queues"
    " WHERE queued > 0 AND (NOT online OR reported_at < $1) ORDER BY device_id"
)

#: the followed events after a position, each with the exception it raised (if any)
EVENTS = (
    "SELECT o.position, o.type, o.occurred_at, o.username, o.device_id, o.data::text, x.* FROM outbox_events o"
    " LEFT JOIN LATERAL (" + EXCEPTION_SELECT + " WHERE x.event_id = o.event_id LIMIT 1) x ON true"
    " WHERE o.position > $1 AND o.type = ANY($2::text[]) ORDER BY o.position LIMIT $3"
)

RESOLVED = (
    "SELECT id, resolved_at, resolved_by_name, resolution_note FROM exceptions"
    " WHERE id = ANY($1::bigint[]) AND resolved_at IS NOT NULL ORDER BY id"
)


async def devices(conn: asyncpg.Connection, now: dt.datetime) -> list[DeviceQueueOut]:
    return [DeviceQueueOut(*r) for r in await conn.fetch(DEVICES, now - DEVICE_SILENT)]


# ---- bookkeeping, one per server process ---------------------------------------------------------------------


@dataclass
class _Picker:
    device: str | None
    task: TaskRef | None
    at: dt.datetime
    verdict: Literal["accepted", "refused", "short"]
    code: str | None
    #: order line -> when this picker last picked from it (within the rate window)
    lines: dict[tuple[str, int], dt.datetime] = field(default_factory=dict)


@dataclass
class LiveView:
    """What the live clients are shown: pickers' rolling rates, the open exceptions (by id), the device list."""

    by_user: dict[str, _Picker] = field(default_factory=dict)
    open_exceptions: dict[int, ExceptionOut] = field(default_factory=dict)
    devices: list[DeviceQueueOut] = field(default_factory=list)

    def seed(self, user, device, line, at, task_id, location) -> None:
        p = self.by_user.get(user)
        if p is None or at > p.at:
            task = TaskRef(task_id, line[0], location)
            if p is None:
                p = self.by_user[user] = _Picker(device, task, at, "accepted", None)
            else:
                p.device, p.task, p.at = device, task, at
        p.lines[line] = max(at, p.lines.get(line, at))

    def scanned(
        self,
        user: str,
        device: str | None,
        at: dt.datetime,
        task: TaskRef | None,
        verdict: Literal["accepted", "refused", "short"],
        code: str | None,
        line: tuple[str, int] | None,
    ) -> PickerOut:
        p = self.by_user.get(user)
        if p is None:
            p = self.by_user[user] = _Picker(device, task, at, verdict, code)
        p.device, p.at, p.verdict, p.code = device, at, verdict, code
        if task is not None:
            p.task = task
        if line is not None:
            p.lines[line] = at
        return self._out(user, p, at)

    def _out(self, user: str, p: _Picker, now: dt.datetime) -> PickerOut:
        since = now - RATE_WINDOW
        for k in [k for k, t in p.lines.items() if t <= since]:
            del p.lines[k]
        per_hour = round(len(p.lines) * (dt.timedelta(hours=1) / RATE_WINDOW))
        return PickerOut(user, p.device, p.task, p.at, p.verdict, p.code, per_hour)

    def pickers(self, now: dt.datetime) -> list[PickerOut]:
        return [self._out(u, p, now) for u, p in sorted(self.by_user.items())]


class LiveChange(msgspec.Struct, rename="camel"):
    """One followed event as the live client receives it (``type``: ``pick``, ``short``, ``count`` or
    ``wave``), with the exception it raised and the picker's new state."""

    type: str
    position: int
    at: dt.datetime
    user: str | None
    device: str | None
    #: the event as the ERP receives it (``docs/events.md``)
    event: str
    data: msgspec.Raw
    exception: ExceptionOut | None = None
    picker: PickerOut | None = None


_KIND = {
    "pick.confirmed.v1": "pick",
    "pick.refused.v1": "pick",
    "pick.shorted.v1": "short",
    "stock.counted.v1": "count",
    "wave.released.v1": "wave",
}

_data_decoder = msgspec.json.Decoder(dict)


def change_of(row, view: LiveView) -> tuple[LiveChange, int | None, int | None]:
    """A row of ``EVENTS`` as a live change; also the task and the wave whose progress it moved."""
    position, type_, at, user, device, data = row[:6]
    x = row[6:]
    exc = exception_of(tuple(x)) if x[0] is not None else None
    if exc is not None and exc.status == "open":
        view.open_exceptions[exc.id] = exc
    body = _data_decoder.decode(data)
    task_id = body.get("taskId")
    wave_id = body.get("waveId") if type_ == "wave.released.v1" else None
    picker = None
    if user is not None and type_ in ("pick.confirmed.v1", "pick.refused.v1", "pick.shorted.v1"):
        task = TaskRef(task_id, body.get("order"), body.get("location")) if task_id is not None else None
        if type_ == "pick.confirmed.v1":
            picker = view.scanned(user, device, at, task, "accepted", None, (body["order"], body["lineNo"]))
        elif type_ == "pick.refused.v1":
            picker = view.scanned(user, device, at, task, "refused", body.get("code"), None)
        else:
            picker = view.scanned(user, device, at, task, "short", "short-pick", None)
    change = LiveChange(_KIND[type_], position, at, user, device, type_, msgspec.Raw(data.encode()), exc, picker)
    return change, task_id, wave_id


class Changes(msgspec.Struct, rename="camel", tag="changes", tag_field="type"):
    """The changes read in one page, in outbox position order."""

    changes: list[LiveChange]


class Resolved(msgspec.Struct, rename="camel", tag="resolved", tag_field="type"):
    id: int
    resolved_at: dt.datetime
    resolved_by: str
    note: str


class Progress(msgspec.Struct, rename="camel", tag="progress", tag_field="type"):
    waves: list[WaveProgress]
    orders: list[OrderProgress]


class Devices(msgspec.Struct, rename="camel", tag="devices", tag_field="type"):
    devices: list[DeviceQueueOut]


async def read_changes(conn: asyncpg.Connection, after: int, limit: int) -> list[tuple]:
    """The followed events after ``after`` (``EVENTS``), at most ``limit``, for ``change_of``."""
    return [tuple(r) for r in await conn.fetch(EVENTS, after, LIVE_TYPES, limit)]


#: (units not cancelled, units picked, a task is open, a task was short) of one order line in one wave
_LineState = tuple[int, int, bool, bool]


@dataclass
class Floor:
    """The floor as the live clients of one server process see it, kept at outbox position ``position``.

    One per process, whatever the number of live clients: the changes are read and encoded once and every
    client gets the same frames, and a client that connects gets a snapshot made from this state at
    ``position`` with nothing awaited in between, so the changes it receives next are exactly the events
    after its snapshot's ``head`` (no gap, no repeat). Progress is kept per order line and re-read only for
    the lines the changes touched (``refresh_progress``); orders and waves are sums of their lines here.
    """

    position: int = 0
    view: LiveView = field(default_factory=LiveView)
    lines: dict[tuple[int, int], _LineState] = field(default_factory=dict)  # (wave, line id) -> state
    order_lines: dict[tuple[int, str], set[int]] = field(default_factory=dict)  # (wave, order) -> line ids
    wave_orders: dict[int, set[str]] = field(default_factory=dict)
    touched_tasks: set[int] = field(default_factory=set)
    touched_waves: set[int] = field(default_factory=set)

    async def load(self, conn: asyncpg.Connection, head: int) -> None:
        """The floor as of outbox position ``head`` (read first by the caller: anything committed after it comes
        again as a change, so nothing falls between the load and the changes)."""
        now = dt.datetime.now(dt.UTC)
        self.position = head
        self._set_lines(await conn.fetch(LINES_OPEN))
        for r in await conn.fetch(_PICKERS, now - RATE_WINDOW):
            self.view.seed(
                r["username"], r["device_id"], (r["erp_id"], r["line_no"]), r["at"], r["task_id"], r["location"]
            )
        rows = await conn.fetch(EXCEPTION_SELECT + " WHERE x.resolved_at IS NULL ORDER BY x.id DESC LIMIT 500")
        self.view.open_exceptions.update((x.id, x) for x in (exception_of(tuple(r)) for r in rows))
        self.view.devices = await devices(conn, now)

    def _set_lines(self, rows) -> set[int]:
        waves = set()
        for wave, order, line, *state in rows:
            self.lines[(wave, line)] = tuple(state)  # type: ignore[assignment]  # the row's four columns
            self.order_lines.setdefault((wave, order), set()).add(line)
            self.wave_orders.setdefault(wave, set()).add(order)
            waves.add(wave)
        return waves

    def apply(self, rows: list[tuple]) -> list[LiveChange]:
        """Rows of ``EVENTS`` after ``position``, in order, as live changes; notes what their progress moved."""
        changes = []
        for row in rows:
            change, task_id, wave_id = change_of(row, self.view)
            changes.append(change)
            if task_id is not None:
                self.touched_tasks.add(task_id)
            if wave_id is not None:
                self.touched_waves.add(wave_id)
        return changes

    def _order(self, wave: int, order: str) -> OrderProgress:
        out = OrderProgress(wave, order, 0, 0, 0, 0, 0)
        for line in self.order_lines[(wave, order)]:
            units, picked, is_open, short = self.lines[(wave, line)]
            out.lines += 1
            out.lines_done += not is_open
            out.short_lines += short
            out.units += units
            out.units_picked += picked
        return out

    def _wave(self, wave: int) -> tuple[WaveProgress, list[OrderProgress]]:
        orders = [self._order(wave, o) for o in sorted(self.wave_orders[wave])]
        w = WaveProgress(wave, len(orders), 0, 0, 0, 0, 0)
        for o in orders:
            w.lines += o.lines
            w.lines_done += o.lines_done
            w.short_lines += o.short_lines
            w.units += o.units
            w.units_picked += o.units_picked
        return w, orders

    def progress(self, waves) -> Progress:
        out = Progress([], [])
        for wave in sorted(waves):
            w, orders = self._wave(wave)
            out.waves.append(w)
            out.orders.extend(orders)
        return out

    async def refresh_progress(self, conn: asyncpg.Connection) -> Progress | None:
        """Re-read the lines of the tasks and waves the changes since the last call touched (not whole waves):
        the new progress of their waves, or None when nothing was touched."""
        if not (self.touched_tasks or self.touched_waves):
            return None
        tasks, waves = self.touched_tasks, self.touched_waves
        self.touched_tasks, self.touched_waves = set(), set()
        rows = await conn.fetch(LINES_OF, list(tasks), list(waves))
        return self.progress(self._set_lines(rows) | waves & self.wave_orders.keys())

    def snapshot(self, now: dt.datetime) -> Snapshot:
        """What a client that connects now is shown first; the changes after ``position`` follow it."""
        progress = self.progress(self.wave_orders)
        waves = [w for w in progress.waves if w.lines_done < w.lines]  # the waves with an open task
        keep = {w.wave_id for w in waves}
        orders = [o for o in progress.orders if o.wave_id in keep]
        opened = sorted(self.view.open_exceptions.values(), key=lambda x: -x.id)[:500]
        pickers = self.view.pickers(now)
        return Snapshot(self.position, now, waves, orders, pickers, self.view.devices, opened)

    async def resolutions(self, conn: asyncpg.Connection) -> list[Resolved]:
        """The exceptions shown open that were resolved since (each told once)."""
        view = self.view
        if not view.open_exceptions:
            return []
        out = [Resolved(*r) for r in await conn.fetch(RESOLVED, list(view.open_exceptions))]
        for r in out:
            view.open_exceptions.pop(r.id, None)
        return out

    async def devices_changed(self, conn: asyncpg.Connection) -> Devices | None:
        """The offline handhelds with scans waiting, when the list differs from the one shown."""
        devices_now = await devices(conn, dt.datetime.now(dt.UTC))
        if [(d.device, d.queued) for d in devices_now] == [(d.device, d.queued) for d in self.view.devices]:
            return None
        self.view.devices = devices_now
        return Devices(devices_now)
