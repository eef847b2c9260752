"""Opening and closing recalls, and their trace.

Opening a recall is one transaction: every covered lot becomes ``recalled`` (allocation and every
pick, pack, ship and receipt scan refuse such a lot, naming the recall), the open allocations of
those lots are re-allocated FEFO from other stock or reported short, closed but unshipped cartons
holding them are flagged, and ``recall.opened.v1`` goes on the outbox with the trace's totals. A
recall of single serials does the same to those units only: each gets a serial hold that belongs to
the recall (the eligibility rule that keeps held serials out of allocation and every scan), and the
rest of their lot stays available. A
person opens and closes a recall with an electronic signature (21 CFR Part 11 §11.200); the ERP opens
one through its ``erp:write`` key, which stands for the ERP's own approval.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.domain import errors as e
from udipick.domain import recalls as rules
from udipick.domain.access import Actor
from udipick.domain.trace import Trace
from udipick.services import picking, trace
from udipick.services.events import RecallClosed, RecallOpened, emit
from udipick.services.identity import audit, signed, verify_signature
from udipick.services.password_checks import PasswordChecks
from udipick.services.recall_facts import recall_number


class RecallLotView(msgspec.Struct, rename="camel"):
    lot: str
    expiry: dt.date | None
    #: the lot's status before the recall
    prior_status: str
    #: its status now
    status: str


class RecallSerialView(msgspec.Struct, rename="camel"):
    serial: str
    lot: str | None
    #: the serial's status when the recall opened (``in_stock``, ``picked``, ``packed``, ``shipped``...)
    prior_status: str
    #: whether the recall still freezes it (false once the recall is closed as released)
    frozen: bool


class RecallReturnView(msgspec.Struct, rename="camel"):
    """A unit of the recall that came back from a customer (a return received while the recall was open)."""

    return_number: str
    customer: str
    lot: str | None
    serial: str | None
    quantity: int
    #: ``quarantine`` until QA decides; then ``scrapped`` or ``to_supplier`` (never restocked while open)
    status: str
    received_at: dt.datetime


class Recall(msgspec.Struct, rename="camel"):
    recall: str
    recall_id: int
    item: str
    gtin: str
    scope: Literal["lots", "production_dates", "serials"]
    produced_from: dt.date | None
    produced_to: dt.date | None
    recall_class: Literal["I", "II", "III"]
    reason: str
    reference: str | None
    status: Literal["open", "closed"]
    opened_by: str
    opened_at: dt.datetime
    closed_by: str | None
    closed_at: dt.datetime | None
    disposition: Literal["destroyed", "returned_to_supplier", "released"] | None
    close_note: str | None
    response_seconds: int | None
    lots: list[RecallLotView]
    #: the serials a ``serials`` recall froze (empty for a recall of lots or production dates)
    serials: list[RecallSerialView]
    #: closed but unshipped cartons the recall flagged when it opened (they will not ship)
    flagged_ssccs: list[str]
    #: units of the recall customers sent back (returns received while it was open)
    returned: list[RecallReturnView] = []


class OpenedRecall(msgspec.Struct, rename="camel"):
    recall: Recall
    #: open pick tasks that lost their allocation (re-allocated FEFO from other stock, or shorted)
    reallocated_tasks: int
    trace: Trace


class RecallIn(msgspec.Struct, rename="camel", kw_only=True):
    item: str
    recall_class: Literal["I", "II", "III"]
    reason: str
    lots: list[str] | None = None
    produced_from: dt.date | None = None
    produced_to: dt.date | None = None
    serials: list[str] | None = None
    reference: str | None = None


_DESCRIBE = """
SELECT r.id, r.scope, r.produced_from, r.produced_to, r.recall_class, r.reason, r.reference, r.status, r.opened_at,
       r.closed_at, r.disposition, r.close_note, r.response_seconds, i.erp_id AS item, i.gtin,
       coalesce(ou.username, 'api-key:' || k.name) AS opened_by, cu.username AS closed_by,
       ARRAY(SELECT row(l.lot, l.expiry, rl.prior_status, l.status) FROM recall_lots rl JOIN lots l ON l.id = rl.lot_id
              WHERE rl.recall_id = r.id ORDER BY l.lot COLLATE "C") AS lots,
       ARRAY(SELECT row(se.serial, l.lot, rs.prior_status, h.released_at IS NULL) FROM recall_serials rs
              JOIN serials se ON se.id = rs.serial_id LEFT JOIN lots l ON l.id = se.lot_id
              JOIN holds h ON h.id = rs.hold_id
              WHERE rs.recall_id = r.id ORDER BY se.serial COLLATE "C") AS serials,
       ARRAY(SELECT c.sscc FROM recall_packages rp JOIN containers c ON c.id = rp.container_id
              WHERE rp.recall_id = r.id ORDER BY c.sscc) AS ssccs,
       ARRAY(SELECT row('RET-' || lpad(rl.return_id::text, 6, '0'), c.erp_id, l.lot, se.serial, rl.quantity, rl.status,
                        rl.scanned_at)
              FROM return_lines rl JOIN returns rt ON rt.id = rl.return_id JOIN customers c ON c.id = rt.customer_id
              LEFT JOIN lots l ON l.id = rl.lot_id LEFT JOIN serials se ON se.id = rl.serial_id
              WHERE rl.recall_id = r.id ORDER BY rl.id) AS returned
  FROM recalls r JOIN items i ON i.id = r.item_id
  LEFT JOIN users ou ON ou.id = r.opened_by LEFT JOIN api_keys k ON k.id = r.opened_api_key_id
  LEFT JOIN users cu ON cu.id = r.closed_by
"""


def _recall_of(r: Any) -> Recall:
    return Recall(
        recall=recall_number(r.id),
        recall_id=r.id,
        item=r.item,
        gtin=r.gtin,
        scope=r.scope,
        produced_from=r.produced_from,
        produced_to=r.produced_to,
        recall_class=r.recall_class,
        reason=r.reason,
        reference=r.reference,
        status=r.status,
        opened_by=r.opened_by,
        opened_at=r.opened_at,
        closed_by=r.closed_by,
        closed_at=r.closed_at,
        disposition=r.disposition,
        close_note=r.close_note,
        response_seconds=r.response_seconds,
        lots=[RecallLotView(*x) for x in r.lots],
        serials=[RecallSerialView(*x) for x in r.serials],
        flagged_ssccs=list(r.ssccs),
        returned=[RecallReturnView(*x) for x in r.returned],
    )


async def _describe(session: AsyncSession, recall_id: int) -> Recall:
    row = (await session.execute(text(_DESCRIBE + " WHERE r.id = :id"), {"id": recall_id})).first()
    if row is None:
        raise e.NotFound(f"recall {recall_id} does not exist", recallId=recall_id)
    return _recall_of(row)


async def _resolve_item(session: AsyncSession, item: str) -> Any:
    row = (
        await session.execute(
            text(
                "SELECT i.id, i.erp_id, i.gtin FROM items i WHERE i.erp_id = :x OR i.id = "
                "(SELECT g.item_id FROM item_gtins g WHERE g.gtin = :x) LIMIT 1"
            ),
            {"x": item},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"no item {item} (ERP id or GTIN)", pointer="/item")
    return row


async def _covered_lots(session: AsyncSession, item: Any, req: RecallIn, scope: str) -> list[Any]:
    """The lots the recall covers, locked, in a fixed order (lot number)."""
    if scope == "lots":
        rows = (
            await session.execute(
                text(
                    "SELECT id, lot, expiry, status FROM lots WHERE item_id = :i AND lot = ANY(CAST(:lots AS text[]))"
                    ' ORDER BY lot COLLATE "C" FOR UPDATE'
                ),
                {"i": item.id, "lots": req.lots},
            )
        ).all()
        unknown = sorted(set(req.lots or []) - {r.lot for r in rows})
        if unknown:
            raise e.UnknownLot(
                f"udipick has no lot {', '.join(unknown)} of {item.erp_id}",
                item=item.erp_id,
                lot=unknown[0],
                pointer="/lots",
            )
        return list(rows)
    rows = (
        await session.execute(
            text(
                "SELECT id, lot, expiry, status FROM lots WHERE item_id = :i AND production_date BETWEEN :f AND :t"
                ' ORDER BY lot COLLATE "C" FOR UPDATE'
            ),
            {"i": item.id, "f": req.produced_from, "t": req.produced_to},
        )
    ).all()
    if not rows:
        raise e.UnknownLot(
            f"udipick has no lot of {item.erp_id} produced from {req.produced_from} to {req.produced_to}",
            item=item.erp_id,
            pointer="/producedFrom",
        )
    return list(rows)


async def _covered_serials(session: AsyncSession, item: Any, serials: list[str]) -> list[Any]:
    """The serials the recall covers, locked, in a fixed order (serial number); every one must exist."""
    rows = (
        await session.execute(
            text(
                "SELECT se.id, se.serial, se.status, se.lot_id, l.lot, l.expiry FROM serials se"
                " LEFT JOIN lots l ON l.id = se.lot_id WHERE se.item_id = :i AND se.serial = ANY(CAST(:s AS text[]))"
                ' ORDER BY se.serial COLLATE "C" FOR UPDATE OF se'
            ),
            {"i": item.id, "s": serials},
        )
    ).all()
    unknown = sorted(set(serials) - {r.serial for r in rows})
    if unknown:
        raise e.UnknownSerial(
            f"udipick has no serial {', '.join(unknown)} of {item.erp_id}",
            item=item.erp_id,
            serial=unknown[0],
            pointer="/serials",
        )
    return list(rows)


async def open_recall(
    db: async_sessionmaker,
    checks: PasswordChecks | None,
    actor: Actor,
    req: RecallIn,
    *,
    password: str | None,
    address: str,
    today: dt.date,
) -> OpenedRecall:
    """Open a recall. A person signs it (``password``); the ERP's key (``actor.api_key_id``) needs none."""
    scope = rules.recall_scope(req.lots, req.produced_from, req.produced_to, req.serials)
    if not req.reason.strip():
        raise e.InvalidRecord("a recall needs a reason", pointer="/reason")
    if actor.api_key_id is None:
        if checks is None or password is None:
            raise e.InvalidRecord("opening a recall needs your electronic signature (password)", pointer="/password")
        # signed before any lot is locked: no row waits while the password is checked
        await verify_signature(db, checks, actor, password, "open recall", f"item:{req.item}", address=address)
    async with db.begin() as session:
        item = await _resolve_item(session, req.item)
        # the item's allocator lock first, as every path that changes reservations takes it before any row
        await picking.lock_items(session, [item.id])
        units = await _covered_serials(session, item, req.serials or []) if scope == "serials" else []
        lots = await _covered_lots(session, item, req, scope) if scope != "serials" else []
        lot_ids = [r.id for r in lots]
        serial_ids = [u.id for u in units]
        recall_id = await session.scalar(
            text(
                "INSERT INTO recalls (item_id, scope, produced_from, produced_to, recall_class, reason, reference,"
                " opened_by, opened_api_key_id, opened_device) VALUES (:item, :scope, :f, :t, :cls, :reason, :ref,"
                " :u, :k, :d) RETURNING id"
            ),
            {
                "item": item.id,
                "scope": scope,
                "f": req.produced_from if scope == "production_dates" else None,
                "t": req.produced_to if scope == "production_dates" else None,
                "cls": req.recall_class,
                "reason": req.reason,
                "ref": req.reference,
                "u": actor.user_id,
                "k": actor.api_key_id,
                "d": actor.device_id,
            },
        )
        if scope == "serials":
            # each serial a hold of the recall's own: the eligibility rule of serial holds freezes it everywhere
            await session.execute(
                text(
                    "WITH h AS (INSERT INTO holds (scope, item_id, serial_id, reason, placed_by, placed_device, recall_id)"
                    " SELECT 'serial', CAST(:item AS int), se.id, :reason, :u, :d, CAST(:r AS int) FROM serials se"
                    " WHERE se.id = ANY(CAST(:ids AS int[])) RETURNING id, serial_id)"
                    " INSERT INTO recall_serials (recall_id, serial_id, hold_id, prior_status)"
                    " SELECT CAST(:r AS int), h.serial_id, h.id, se.status FROM h JOIN serials se ON se.id = h.serial_id"
                ),
                {
                    "item": item.id,
                    "reason": f"recall {recall_number(recall_id)}",
                    "u": actor.user_id,
                    "d": actor.device_id,
                    "r": recall_id,
                    "ids": serial_ids,
                },
            )
            covers, params = "s.serial_id = ANY(CAST(:serial_ids AS int[]))", {"serial_ids": serial_ids}
        else:
            await session.execute(
                text(
                    "INSERT INTO recall_lots (recall_id, lot_id, prior_status) SELECT CAST(:r AS int), l.id, l.status"
                    " FROM lots l WHERE l.id = ANY(CAST(:ids AS int[]))"
                ),
                {"r": recall_id, "ids": lot_ids},
            )
            await session.execute(
                text("UPDATE lots SET status = 'recalled' WHERE id = ANY(CAST(:ids AS int[]))"), {"ids": lot_ids}
            )
            covers, params = "s.lot_id = ANY(CAST(:lot_ids AS int[]))", {"lot_ids": lot_ids}
        # allocations of these units: re-allocated FEFO (recalled or held now, so never to them again)
        reallocated = await picking.release_for_hold(session, covers, params, today)
        await session.execute(
            text(
                "INSERT INTO recall_packages (recall_id, container_id) SELECT DISTINCT CAST(:r AS int), p.container_id"
                " FROM packages p JOIN stock s ON s.container_id = p.container_id"
                " WHERE p.status IN ('open', 'closed') AND s.quantity > 0 AND " + covers
            ),
            {"r": recall_id, **params},
        )
        if actor.api_key_id is None:
            await signed(session, actor, "open recall", f"recall:{recall_id}")
        await audit(
            session,
            actor,
            "recall.opened",
            "ok",
            target=f"recall:{recall_id}",
            detail={
                "class": req.recall_class,
                "reason": req.reason,
                "lots": [r.lot for r in lots],
                "serials": [u.serial for u in units],
            },
        )
        the_trace = await _gather(session, item.gtin, scope, lots=[r.lot for r in lots], lot_ids=lot_ids, units=units)
        recall = await _describe(session, recall_id)
        await emit(
            session,
            actor,
            RecallOpened(
                recall=recall.recall,
                recall_id=recall_id,
                item=item.erp_id,
                gtin=item.gtin,
                recall_class=req.recall_class,
                reason=req.reason,
                reference=req.reference,
                lots=[
                    {
                        "gtin": item.gtin,
                        "lot": r.lot,
                        "expiry": r.expiry.isoformat() if r.expiry else None,
                        "priorStatus": r.status,
                    }
                    for r in lots
                ],
                serials=[
                    {
                        "gtin": item.gtin,
                        "serial": u.serial,
                        "lot": u.lot,
                        "expiry": u.expiry.isoformat() if u.expiry else None,
                        "priorStatus": u.status,
                    }
                    for u in units
                ],
                produced_from=recall.produced_from,
                produced_to=recall.produced_to,
                reallocated_tasks=reallocated,
                flagged_ssccs=recall.flagged_ssccs,
                shipped_to=the_trace.totals.customers,
                shipped=the_trace.totals.shipped,
                in_stock=the_trace.totals.in_stock,
            ),
        )
    return OpenedRecall(recall=recall, reallocated_tasks=reallocated, trace=the_trace)


async def close_recall(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    recall_id: int,
    *,
    disposition: rules.Disposition,
    note: str | None,
    password: str,
    address: str,
) -> Recall:
    async with db() as session:
        await _open_one(session, recall_id, lock=False)
    await verify_signature(db, checks, actor, password, "close recall", f"recall:{recall_id}", address=address)
    async with db.begin() as session:
        row = await _open_one(session, recall_id, lock=True)  # again: another close may have come first
        closed_at = await session.scalar(text("SELECT now()"))
        lots = (
            await session.execute(
                text(
                    "SELECT l.id, l.lot, rl.prior_status, EXISTS (SELECT 1 FROM recall_lots o JOIN recalls r2 ON r2.id = o.recall_id"
                    " WHERE o.lot_id = l.id AND r2.status = 'open' AND r2.id <> :r) AS still FROM recall_lots rl"
                    ' JOIN lots l ON l.id = rl.lot_id WHERE rl.recall_id = :r ORDER BY l.lot COLLATE "C" FOR UPDATE OF l'
                ),
                {"r": recall_id},
            )
        ).all()
        after = []
        for lot in lots:
            status = rules.status_after_close(disposition, lot.prior_status, still_recalled=lot.still)
            await session.execute(text("UPDATE lots SET status = :s WHERE id = :id"), {"s": status, "id": lot.id})
            after.append({"gtin": row.gtin, "lot": lot.lot, "status": status})
        serials_after = await _close_serials(session, actor, recall_id, disposition, gtin=row.gtin, at=closed_at)
        seconds = rules.response_seconds(row.opened_at, closed_at)
        await session.execute(
            text(
                "UPDATE recalls SET status = 'closed', closed_at = :at, closed_by = :u, disposition = :d, close_note = :n,"
                " response_seconds = :s WHERE id = :id"
            ),
            {"at": closed_at, "u": actor.user_id, "d": disposition, "n": note, "s": seconds, "id": recall_id},
        )
        await signed(session, actor, "close recall", f"recall:{recall_id}")
        await audit(
            session,
            actor,
            "recall.closed",
            "ok",
            target=f"recall:{recall_id}",
            detail={"disposition": disposition, "note": note, "responseSeconds": seconds},
        )
        await emit(
            session,
            actor,
            RecallClosed(
                recall=recall_number(recall_id),
                recall_id=recall_id,
                item=row.item,
                gtin=row.gtin,
                disposition=disposition,
                note=note,
                lots=after,
                serials=serials_after,
                response_seconds=seconds,
                signed_by=actor.username or "",
            ),
        )
        return await _describe(session, recall_id)


async def _close_serials(
    session: AsyncSession, actor: Actor, recall_id: int, disposition: str, *, gtin: str, at: dt.datetime
) -> list[dict[str, Any]]:
    """Closing ``released`` releases the recall's serial holds (the serials are as they were before it);
    any other disposition leaves them frozen for good. Each serial and whether it is still frozen."""
    rows = (
        await session.execute(
            text(
                "SELECT h.id, se.serial, l.lot FROM recall_serials rs JOIN holds h ON h.id = rs.hold_id"
                " JOIN serials se ON se.id = rs.serial_id LEFT JOIN lots l ON l.id = se.lot_id"
                ' WHERE rs.recall_id = :r ORDER BY se.serial COLLATE "C" FOR UPDATE OF h'
            ),
            {"r": recall_id},
        )
    ).all()
    released = disposition == "released"
    if released and rows:
        await session.execute(
            text(
                "UPDATE holds SET released_at = :at, released_by = :u, release_reason = :why"
                " WHERE id = ANY(CAST(:ids AS int[])) AND released_at IS NULL"
            ),
            {
                "at": at,
                "u": actor.user_id,
                "why": f"recall {recall_number(recall_id)} closed: released",
                "ids": [r.id for r in rows],
            },
        )
    return [{"gtin": gtin, "serial": r.serial, "lot": r.lot, "frozen": not released} for r in rows]


async def _gather(
    session: AsyncSession, gtin: str, scope: str, *, lots: list[str], lot_ids: list[int], units: list[Any]
) -> Trace:
    """A recall's trace: of its lots, or of exactly its serials."""
    if scope == "serials":
        return await trace.gather(
            session, "recall", gtin=gtin, lots=sorted({u.lot for u in units if u.lot}), serial_ids=[u.id for u in units]
        )
    return await trace.gather(session, "recall", gtin=gtin, lots=lots, lot_ids=lot_ids)


async def _open_one(session: AsyncSession, recall_id: int, *, lock: bool) -> Any:
    row = (
        await session.execute(
            text(
                "SELECT r.status, r.opened_at, i.erp_id AS item, i.gtin FROM recalls r JOIN items i ON i.id = r.item_id"
                " WHERE r.id = :id" + (" FOR UPDATE OF r" if lock else "")
            ),
            {"id": recall_id},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"recall {recall_id} does not exist", recallId=recall_id)
    if row.status != "open":
        raise e.Conflict(f"recall {recall_number(recall_id)} is already closed", recallId=recall_id)
    return row


async def get_recall(db: async_sessionmaker, recall_id: int) -> Recall:
    async with db() as session:
        return await _describe(session, recall_id)


async def list_recalls(db: async_sessionmaker, *, status: str | None) -> list[Recall]:
    async with db() as session:
        rows = (
            await session.execute(
                text(_DESCRIBE + (" WHERE r.status = :s" if status else "") + " ORDER BY r.id DESC LIMIT 500"),
                {"s": status},
            )
        ).all()
        return [_recall_of(r) for r in rows]


async def recall_trace(db: async_sessionmaker, recall_id: int) -> tuple[Recall, Trace]:
    async with db() as session:
        recall = await _describe(session, recall_id)
        lot_ids = list(
            (await session.execute(text("SELECT lot_id FROM recall_lots WHERE recall_id = :r"), {"r": recall_id}))
            .scalars()
            .all()
        )
        units = (
            await session.execute(
                text(
                    "SELECT se.id, l.lot FROM recall_serials rs JOIN serials se ON se.id = rs.serial_id"
                    " LEFT JOIN lots l ON l.id = se.lot_id WHERE rs.recall_id = :r"
                ),
                {"r": recall_id},
            )
        ).all()
        the_trace = await _gather(
            session, recall.gtin, recall.scope, lots=[x.lot for x in recall.lots], lot_ids=lot_ids, units=list(units)
        )
        return recall, the_trace
