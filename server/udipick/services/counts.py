"""Counting one item at one location: book the differences, lift the "count required" block.

A short pick blocks the location for the item (``location_blocks``); allocation and the pick
verdict refuse it there until this count says what is really on the shelf. Load (under the same
per-item advisory lock the allocator takes, then the stock rows ``FOR UPDATE``) → decide
(``domain.counting``) → write the differences as ``count`` ledger movements, clear the block and
emit ``stock.counted.v1`` and ``stock.adjusted.v1`` in one transaction, once per ``clientScanId``.

A loss that would cut into units open pick tasks hold is refused (``count-below-reserved``, naming
the tasks): the picker reports those tasks short (they are re-allocated or backordered), then the
count is sent again with a new scan id. Cancelling other people's picks silently is a supervisor's
decision, not a side effect of a count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.ledger import Movement, post_movements
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.barcodes import ScanConfig, interpret
from udipick.domain.counting import (
    Booked,
    Counted,
    CountLine,
    check_counted,
    check_found_serial,
    compare_count,
    counted_status,
    reservation_shortfalls,
)
from udipick.services import replay
from udipick.services.events import StockAdjusted, StockCounted, emit
from udipick.services.exceptions import Raised, raise_in
from udipick.services.picking import lock_items
from udipick.services.receiving.common import identify_item

COUNTED_STATUS = "available"


class CountedLine(msgspec.Struct, rename="camel"):
    """One lot (or serial) that was on the books or found: ``difference`` = counted - expected, booked as it is."""

    lot: str | None
    serial: str | None
    expected: int
    counted: int
    difference: int


class CountResult(msgspec.Struct, rename="camel"):
    location: str
    item: str
    gtin: str
    lines: list[CountedLine]
    #: lines whose difference was booked (ledger movements ``count``)
    adjusted: int
    #: "count required" blocks of the item at the location that the count lifted
    blocks_cleared: int


@dataclass(frozen=True, slots=True)
class _Item:
    id: int
    erp_id: str
    gtin: str
    lot_tracked: bool
    serial_tracked: bool


@dataclass(frozen=True, slots=True)
class _Bucket:
    stock_id: int
    lot_id: int | None
    lot: str | None
    expiry: Any
    serial_id: int | None
    serial: str | None
    quantity: int
    reserved: int


def _gtin_key(raw: str) -> str | None:
    """GTIN-8/12/13/14 as the 14 digits udipick stores (GS1 General Specifications §3.2)."""
    return raw.zfill(14) if raw.isdigit() and len(raw) in (8, 12, 13, 14) else None


def _gain_status(line: CountLine, expiry: Any) -> str:
    """Units found are booked available, unless their lot is past its expiry: then ``expired`` (issue 19:
    a count never books expired units as available). Losses come out of the available stock counted."""
    return counted_status(expiry, dt.date.today()) if line.difference > 0 else COUNTED_STATUS


async def _location(session: AsyncSession, raw: str) -> tuple[int, str]:
    row = (
        await session.execute(
            text("SELECT id, code FROM locations WHERE code = :c OR barcode = :c ORDER BY code = :c DESC, id LIMIT 1"),
            {"c": raw},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"no location {raw}", location=raw, pointer="/location")
    return row.id, row.code


async def _scanned_item(session: AsyncSession, raw: str, config: ScanConfig | None) -> _Item:
    """The item a scanned code names (MA or AHM code, GS1 or HIBC barcode), by the rule every scan path uses
    (``domain.udi_di.item_key`` → ``scans.match_item``, refusals as receiving's ``identify_item``)."""
    try:
        scan = interpret(raw, today=dt.date.today(), config=config or ScanConfig())
    except e.UnreadableBarcode as exc:
        raise e.NotFound(
            f"no item {raw}: not an ERP item id or GTIN, nor a barcode udipick reads ({exc})", item=raw, pointer="/item"
        ) from None
    match = await identify_item(session, scan)
    if match.pack_quantity != 1:
        raise e.InvalidCount(
            f"{raw} is a pack of {match.pack_quantity}: a count is in base units; scan the unit's code, give the item"
            f" id or its each-level GTIN {match.gtin}",
            item=match.erp_id,
            gtin=match.gtin,
            pointer="/item",
        )
    return _Item(match.item_id, match.erp_id, match.gtin, match.lot_tracked, match.serial_tracked)


async def _item(session: AsyncSession, raw: str, config: ScanConfig | None = None) -> _Item:
    """The item a count names: its ERP id, its each-level GTIN, or a scanned code (``_scanned_item``)."""
    gtin = _gtin_key(raw)
    row = (
        await session.execute(
            text(
                "SELECT i.id, i.erp_id, i.gtin, i.lot_tracked, i.serial_tracked, coalesce(g.quantity, 1) AS per_pack"
                "  FROM items i LEFT JOIN item_gtins g ON g.item_id = i.id AND g.gtin = :g"
                " WHERE i.erp_id = :x OR i.gtin = :g OR g.gtin IS NOT NULL ORDER BY i.erp_id = :x DESC, i.id LIMIT 1"
            ),
            {"x": raw, "g": gtin},
        )
    ).first()
    if row is None:
        if gtin is not None:
            raise e.UnknownGtin(f"no item with GTIN {gtin}", gtin=gtin, pointer="/item")
        return await _scanned_item(session, raw, config)
    if row.per_pack != 1:
        raise e.InvalidCount(
            f"{raw} is a pack of {row.per_pack}: a count is in base units; give the item id or its each-level GTIN {row.gtin}",
            item=row.erp_id,
            gtin=row.gtin,
            pointer="/item",
        )
    return _Item(row.id, row.erp_id, row.gtin, row.lot_tracked, row.serial_tracked)


_BOOK = """
SELECT s.id AS stock_id, s.lot_id, l.lot, l.expiry, s.serial_id, se.serial, s.status, s.container_id, s.quantity, s.reserved
  FROM stock s
  LEFT JOIN lots l ON l.id = s.lot_id
  LEFT JOIN serials se ON se.id = s.serial_id
 WHERE s.location_id = :loc AND s.item_id = :item AND (s.quantity > 0 OR s.reserved > 0)
 ORDER BY s.id
   FOR UPDATE OF s
"""


async def _book(session: AsyncSession, location_id: int, location: str, item: _Item) -> list[_Bucket]:
    """The item's stock at the location, locked. Only loose saleable stock is counted this way:
    quarantined or held units and units still on a licence plate are not what a picker counts."""
    rows = (await session.execute(text(_BOOK), {"loc": location_id, "item": item.id})).all()
    other = next((r for r in rows if r.status != COUNTED_STATUS or r.container_id is not None), None)
    if other is not None:
        where = "on a licence plate" if other.container_id is not None else f"in status {other.status}"
        raise e.Conflict(
            f"{location} also holds {item.erp_id} {where}: that stock is not counted here; finish QC or putaway first",
            location=location,
            item=item.erp_id,
            stockStatus=other.status,
        )
    return [_Bucket(r.stock_id, r.lot_id, r.lot, r.expiry, r.serial_id, r.serial, r.quantity, r.reserved) for r in rows]


async def _found_lots(session: AsyncSession, item: _Item, names: set[str]) -> dict[str, tuple[int, Any]]:
    """Lots found on the shelf that the books do not have here: only lots udipick received may be counted in."""
    rows = (
        await session.execute(
            text("SELECT id, lot, expiry FROM lots WHERE item_id = :i AND lot = ANY(CAST(:l AS text[]))"),
            {"i": item.id, "l": sorted(names)},
        )
    ).all()
    found = {r.lot: (r.id, r.expiry) for r in rows}
    for name in sorted(names):
        if name not in found:
            raise e.UnknownLot(
                f"lot {name} of {item.erp_id} was never received: check the label, or receive the units first",
                item=item.erp_id,
                lot=name,
                pointer="/lines",
            )
    return found


async def _found_serial(session: AsyncSession, item: _Item, line: CountLine) -> tuple[int, int | None, str | None, Any]:
    assert line.serial is not None
    row = (
        await session.execute(
            text(
                "SELECT se.id, se.status, se.lot_id, l.lot, l.expiry,"
                "       (SELECT loc.code FROM stock s JOIN locations loc ON loc.id = s.location_id"
                "         WHERE s.serial_id = se.id AND s.quantity > 0 ORDER BY s.id LIMIT 1) AS booked_at"
                "  FROM serials se LEFT JOIN lots l ON l.id = se.lot_id WHERE se.item_id = :i AND se.serial = :s"
            ),
            {"i": item.id, "s": line.serial},
        )
    ).first()
    check_found_serial(
        line.serial,
        status=row.status if row else None,
        booked_at=row.booked_at if row else None,
        lot=line.lot,
        serial_lot=row.lot if row else None,
    )
    assert row is not None
    return row.id, row.lot_id, row.lot, row.expiry


async def _tasks_holding(session: AsyncSession, stock_ids: list[int]) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            text(
                "SELECT t.id, d.erp_id, t.quantity - t.picked AS open FROM pick_tasks t"
                " JOIN outbound_documents d ON d.id = t.document_id"
                " WHERE t.status = 'open' AND t.stock_id = ANY(CAST(:ids AS bigint[])) ORDER BY t.id"
            ),
            {"ids": stock_ids},
        )
    ).all()
    return [{"taskId": r.id, "order": r.erp_id, "open": r.open} for r in rows]


async def record_count(
    db: async_sessionmaker,
    actor: Actor,
    *,
    client_scan_id: uuid.UUID,
    location: str,
    item: str,
    lines: list[Counted],
    scan_config: ScanConfig | None = None,
) -> replay.Reply:
    """What the counter found of one item at one location; the books follow, the block is lifted."""
    location, item = location.strip(), item.strip()

    async def decide_and_write(session: AsyncSession) -> CountResult:
        location_id, location_code = await _location(session, location)
        it = await _item(session, item, scan_config)
        counted = check_counted(lines, lot_tracked=it.lot_tracked, serial_tracked=it.serial_tracked)
        await lock_items(session, [it.id])
        book = await _book(session, location_id, location_code, it)
        result = compare_count([Booked(b.lot, b.serial, b.quantity, b.reserved) for b in book], counted)

        short = reservation_shortfalls(result)
        if short:
            first = short[0]
            held = [b.stock_id for b in book if any(b.lot == s.lot and b.serial == s.serial for s in short)]
            tasks = await _tasks_holding(session, held)
            what = f"serial {first.serial}" if first.serial else f"lot {first.lot}" if first.lot else it.erp_id
            raise e.CountBelowReserved(
                f"open pick tasks hold {first.reserved} of {what} at {location_code} but {first.counted} were counted:"
                f" report tasks {', '.join(str(t['taskId']) for t in tasks)} short first, then count again",
                location=location_code,
                item=it.erp_id,
                lot=first.lot,
                serial=first.serial,
                counted=first.counted,
                reserved=first.reserved,
                tasks=tasks,
            )

        # ids of what changed: booked buckets from the book, gains from lots / serials udipick received
        by_key = {(b.lot, b.serial): b for b in book}
        gained_lots = {
            ln.lot for ln in result if ln.serial is None and ln.lot is not None and (ln.lot, None) not in by_key
        }
        lots = await _found_lots(session, it, gained_lots) if gained_lots else {}
        changed: list[tuple[CountLine, int | None, int | None, Any]] = []  # line, lot id, serial id, expiry
        for ln in result:
            if ln.difference == 0:
                continue
            b = by_key.get((ln.lot, ln.serial))
            if b is not None:
                changed.append((ln, b.lot_id, b.serial_id, b.expiry))
            elif ln.serial is not None:
                serial_id, lot_id, lot, expiry = await _found_serial(session, it, ln)
                ln = CountLine(lot, ln.serial, ln.expected, ln.counted, ln.reserved)
                changed.append((ln, lot_id, serial_id, expiry))
            else:
                lot_id, expiry = lots.get(ln.lot, (None, None)) if ln.lot is not None else (None, None)
                changed.append((ln, lot_id, None, expiry))
        lots_of = {ln.serial: ln.lot for ln, *_ in changed if ln.serial is not None}
        report = [
            CountedLine(
                lot=lots_of.get(ln.serial, ln.lot) if ln.serial else ln.lot,
                serial=ln.serial,
                expected=ln.expected,
                counted=ln.counted,
                difference=ln.difference,
            )
            for ln in result
        ]

        cleared = (
            await session.execute(
                text(
                    "UPDATE location_blocks SET cleared_at = now() WHERE location_id = :l AND item_id = :i AND cleared_at IS NULL"
                ),
                {"l": location_id, "i": it.id},
            )
        ).rowcount
        # this count answers the short pick's count task too (issue 19): its line is done, the task closed
        # when nothing else of it is left (``services.count_tasks``; a short pick's task froze nothing)
        await session.execute(
            text(
                "UPDATE count_lines cl SET status = 'done', reason = 'counted at the location (POST /counts)'"
                "  FROM count_tasks t WHERE t.id = cl.task_id AND t.status = 'open' AND t.origin = 'short-pick'"
                "   AND cl.location_id = :l AND cl.item_id = :i AND cl.status <> 'done'"
            ),
            {"l": location_id, "i": it.id},
        )
        await session.execute(
            text(
                "UPDATE count_tasks t SET status = 'closed', closed_at = now()"
                " WHERE t.status = 'open' AND t.origin = 'short-pick'"
                "   AND NOT EXISTS (SELECT 1 FROM count_lines cl WHERE cl.task_id = t.id AND cl.status <> 'done')"
            )
        )
        scan_id = str(client_scan_id)
        adjusted = [
            StockAdjusted(
                location=location_code,
                item=it.erp_id,
                gtin=it.gtin,
                lot=ln.lot,
                expiry=expiry,
                serial=ln.serial,
                status=_gain_status(ln, expiry),
                difference=ln.difference,
                quantity=abs(ln.difference),
                reason="count",
                client_scan_id=scan_id,
            )
            for ln, _, _, expiry in changed
        ]
        ids = await emit(
            session,
            actor,
            StockCounted(
                location=location_code,
                item=it.erp_id,
                gtin=it.gtin,
                lines=msgspec.to_builtins(report),
                blocks_cleared=cleared,
                client_scan_id=scan_id,
            ),
            *adjusted,
        )
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "count",
                    item_id=it.id,
                    quantity=abs(ln.difference),
                    lot_id=lot_id,
                    serial_id=serial_id,
                    from_location_id=location_id if ln.difference < 0 else None,
                    from_status=COUNTED_STATUS if ln.difference < 0 else None,
                    to_location_id=location_id if ln.difference > 0 else None,
                    to_status=_gain_status(ln, expiry) if ln.difference > 0 else None,
                    reason=f"count at {location_code}: expected {ln.expected}, counted {ln.counted}",
                    document_type="count",
                    document_id=scan_id,
                    event_id=event_id,
                )
                for (ln, lot_id, serial_id, expiry), event_id in zip(changed, ids[1:], strict=True)
            ],
        )
        if changed:  # the books were wrong: the queue asks a supervisor (or QA) to find out why
            await raise_in(
                session,
                Raised(
                    kind="count-variance",
                    code="count-variance",
                    detail=f"count of {it.erp_id} at {location_code}: "
                    + ", ".join(
                        f"{ln.serial or ln.lot or it.erp_id} expected {ln.expected}, counted {ln.counted}"
                        for ln, *_ in changed
                    ),
                    task_id=None,
                    order_ref=None,
                    location=location_code,
                    gtin=it.gtin,
                    lot=changed[0][0].lot,
                    serial=changed[0][0].serial,
                    client_scan_id=client_scan_id,
                    event_id=ids[0],
                    queued=False,
                    user_id=actor.user_id,
                    username=actor.label,
                    device_id=actor.device_id,
                ),
            )
        # a serial's record says where the unit is: gone from here, or found here
        lost = [sid for ln, _, sid, _ in changed if sid is not None and ln.difference < 0]
        found = [sid for ln, _, sid, _ in changed if sid is not None and ln.difference > 0]
        if lost:
            await session.execute(
                text("UPDATE serials SET location_id = NULL WHERE id = ANY(CAST(:ids AS int[]))"), {"ids": lost}
            )
        if found:
            await session.execute(
                text("UPDATE serials SET location_id = :l WHERE id = ANY(CAST(:ids AS int[]))"),
                {"l": location_id, "ids": found},
            )
        return CountResult(
            location=location_code,
            item=it.erp_id,
            gtin=it.gtin,
            lines=report,
            adjusted=len(changed),
            blocks_cleared=cleared,
        )

    # the action names what was counted (``scan_replies.action`` holds 32 characters): the same scan id
    # sent for another location or item is a reused id, refused, not a replay
    action = "count:" + hashlib.sha256(f"{location}\x00{item}".encode()).hexdigest()[:26]
    return await replay.once(db, client_scan_id, action, actor, decide_and_write)
