"""The expiry sweep: stock whose lot expiry has passed is moved to status ``expired`` (issue 19).

Allocation never takes an expired lot anyway (``domain.allocation.ineligibility``), but stock that still
says ``available`` is counted as saleable by anyone reading the stock (the ERP's available-to-promise,
the stock view). The sweep makes the books say what the shelf holds: an ``expire`` ledger movement per
stock row, from its status to ``expired`` at the same place, and ``stock.expired.v1`` per item, lot and
location, in one transaction.

Open pick tasks that hold expired stock lose that reservation and their lines are allocated again FEFO
from other stock, the way a new hold frees the tasks it covers (``picking.release_for_hold``): a task
already partly picked ends ``done`` with what it picked, an untouched one is ``cancelled``, and a line
with no other stock is short. The picker is never sent to an expired unit; were one scanned anyway, its
own barcode's expiry refuses it (``domain.expiry.barcode_expired``).

When: at ``udipick serve`` start and after each midnight, in the server process's local time zone (the
``TZ`` of the process; the same calendar day ``today`` means everywhere else in udipick). Several
workers may run it: an advisory lock makes them take turns, and the second finds nothing left to do.
``udipick stock expire`` runs one sweep by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import msgspec
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.db.ledger import Movement, post_movements
from udipick.db.pg import raw
from udipick.domain.access import Actor
from udipick.domain.expiry import SWEPT_STATUSES, swept
from udipick.services import periodic, picking
from udipick.services.events import StockExpired, emit

log = logging.getLogger(__name__)

#: udipick itself: the ledger's ``expire`` rows name the sweep in ``device_id`` (migration 0023)
SWEEPER = Actor(username="expiry-sweep", device_id="udipick:expiry-sweep")
_LOCK = 7106221340

_EXPIRED = """
SELECT s.id, s.item_id, s.lot_id, s.serial_id, s.location_id, s.container_id, s.status, s.quantity, s.reserved,
       l.lot, l.expiry, i.gtin, i.erp_id, loc.code AS location
  FROM stock s JOIN lots l ON l.id = s.lot_id JOIN items i ON i.id = s.item_id JOIN locations loc ON loc.id = s.location_id
 WHERE l.expiry < $1 AND s.quantity > 0 AND s.status = ANY($2::text[])
 ORDER BY s.id
"""


class SweepSummary(msgspec.Struct, rename="camel"):
    today: dt.date
    #: stock rows moved to ``expired``
    rows: int
    units: int
    #: open pick tasks that held expired stock and were allocated again from other stock
    reallocated_tasks: int


async def sweep(db: async_sessionmaker, *, today: dt.date, actor: Actor = SWEEPER) -> SweepSummary:
    async with db.begin() as session:
        conn = await raw(session)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        found = await conn.fetch(_EXPIRED, today, list(SWEPT_STATUSES))
        rows = [r for r in found if swept(r["status"], r["expiry"], today)]
        if not rows:
            return SweepSummary(today, 0, 0, 0)
        reserved = [r["id"] for r in rows if r["reserved"] > 0]
        reallocated = 0
        if reserved:
            reallocated = await picking.release_for_hold(
                session, "s.id = ANY(CAST(:ids AS bigint[]))", {"ids": reserved}, today
            )
        # locked in id order after the tasks let go; what is still reserved (another workflow's hold on
        # the units) stays where it is until that is done, and the next sweep takes it
        locked = {
            r["id"]: r
            for r in await conn.fetch(
                "SELECT id, quantity, reserved FROM stock WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                [r["id"] for r in rows],
            )
        }
        movements, events, units = [], [], 0
        totals: dict[tuple, int] = {}
        for r in rows:
            now = locked.get(r["id"])
            free = (now["quantity"] - now["reserved"]) if now is not None else 0
            if free <= 0:
                continue
            units += free
            movements.append(
                Movement(
                    "expire",
                    r["item_id"],
                    free,
                    lot_id=r["lot_id"],
                    serial_id=r["serial_id"],
                    from_location_id=r["location_id"],
                    from_container_id=r["container_id"],
                    from_status=r["status"],
                    to_location_id=r["location_id"],
                    to_container_id=r["container_id"],
                    to_status="expired",
                    reason=f"lot {r['lot']} expired on {r['expiry'].isoformat()}",
                    document_type="expiry-sweep",
                    document_id=today.isoformat(),
                )
            )
            key = (r["erp_id"], r["gtin"], r["lot"], r["expiry"], r["location"], r["status"])
            totals[key] = totals.get(key, 0) + free
        for (item, gtin, lot, expiry, location, status), quantity in sorted(totals.items()):
            events.append(
                StockExpired(
                    item=item,
                    gtin=gtin,
                    lot=lot,
                    expiry=expiry,
                    location=location,
                    quantity=quantity,
                    prior_status=status,
                )
            )
        await post_movements(session, actor, movements)
        await emit(session, actor, *events)
    log.info(
        "expiry sweep %s: %d stock rows, %d units expired, %d tasks reallocated",
        today,
        len(movements),
        units,
        reallocated,
    )
    return SweepSummary(today, len(movements), units, reallocated)


def sweeper_in_background(
    db: async_sessionmaker, *, check_every_seconds: float = 60.0, today: Callable[[], dt.date] = dt.date.today
) -> AbstractAsyncContextManager[None]:
    """Sweep once soon after start, then again whenever the local calendar day has turned (checked every
    ``check_every_seconds``, so a sweep follows midnight within that time)."""
    last: list[dt.date] = []

    async def round_() -> None:
        day = today()
        if last and last[0] == day:
            return
        await sweep(db, today=day)
        last[:] = [day]

    return periodic.every("expiry-sweep", check_every_seconds, round_, first_after=5.0)
