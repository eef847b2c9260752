"""Holds on an item, lot, serial or location.

A hold takes effect at the very next scan (the pick verdict reads active holds live) and frees the
allocations it covers, which are re-allocated FEFO from other stock. Releasing a hold is a
regulated decision: it needs the releaser's electronic signature (21 CFR Part 11 §11.200).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.services import picking
from udipick.services.events import HoldPlaced, HoldReleased, emit
from udipick.services.identity import audit, signed, verify_signature
from udipick.services.password_checks import PasswordChecks
from udipick.services.recall_facts import recall_number

SCOPES = ("item", "lot", "serial", "location")
HoldScope = Literal["item", "lot", "serial", "location"]
_COVERS = {
    "item": "s.item_id = :item_id",
    "lot": "s.lot_id = :lot_id",
    "serial": "s.serial_id = :serial_id",
    "location": "s.location_id = :location_id",
}


async def _resolve(
    session: AsyncSession, scope: str, *, item: str | None, lot: str | None, serial: str | None, location: str | None
) -> dict[str, Any]:
    """ERP item id (or GTIN), lot number, serial, location code → database ids, or a clear refusal."""
    ids: dict[str, Any] = {"item_id": None, "lot_id": None, "serial_id": None, "location_id": None}
    if scope == "location":
        if not location:
            raise e.InvalidRecord("a location hold needs the location code", pointer="/location")
        ids["location_id"] = await session.scalar(
            text("SELECT id FROM locations WHERE code = :c OR barcode = :c"), {"c": location}
        )
        if ids["location_id"] is None:
            raise e.NotFound(f"no location {location}", pointer="/location")
        return ids
    if not item:
        raise e.InvalidRecord(f"a {scope} hold needs the item (ERP id or GTIN)", pointer="/item")
    ids["item_id"] = await session.scalar(
        text(
            "SELECT i.id FROM items i WHERE i.erp_id = :x UNION SELECT g.item_id FROM item_gtins g WHERE g.gtin = :x LIMIT 1"
        ),
        {"x": item},
    )
    if ids["item_id"] is None:
        raise e.NotFound(f"no item {item}", pointer="/item")
    if scope == "lot":
        if not lot:
            raise e.InvalidRecord("a lot hold needs the lot", pointer="/lot")
        ids["lot_id"] = await session.scalar(
            text("SELECT id FROM lots WHERE item_id = :i AND lot = :l"), {"i": ids["item_id"], "l": lot}
        )
        if ids["lot_id"] is None:
            raise e.NotFound(f"no lot {lot} of item {item}", pointer="/lot")
    if scope == "serial":
        if not serial:
            raise e.InvalidRecord("a serial hold needs the serial", pointer="/serial")
        ids["serial_id"] = await session.scalar(
            text("SELECT id FROM serials WHERE item_id = :i AND serial = :s"), {"i": ids["item_id"], "s": serial}
        )
        if ids["serial_id"] is None:
            raise e.NotFound(f"no serial {serial} of item {item}", pointer="/serial")
    return ids


async def _describe(session: AsyncSession, hold_id: int) -> Any:
    return (
        await session.execute(
            text(
                """SELECT h.id, h.scope, h.reason, h.placed_at, h.released_at, h.release_reason, i.gtin, i.erp_id AS item,
                          l.lot, se.serial, loc.code AS location, pu.username AS placed_by, ru.username AS released_by
                     FROM holds h LEFT JOIN items i ON i.id = h.item_id LEFT JOIN lots l ON l.id = h.lot_id
                     LEFT JOIN serials se ON se.id = h.serial_id LEFT JOIN locations loc ON loc.id = h.location_id
                     LEFT JOIN users pu ON pu.id = h.placed_by LEFT JOIN users ru ON ru.id = h.released_by
                    WHERE h.id = :id"""
            ),
            {"id": hold_id},
        )
    ).first()


class Hold(msgspec.Struct, rename="camel"):
    """A hold as the floor sees it: what it covers (item and GTIN, lot, serial or location), who placed and released it."""

    hold_id: int
    scope: HoldScope
    item: str | None
    gtin: str | None
    lot: str | None
    serial: str | None
    location: str | None
    reason: str
    placed_by: str | None
    #: ISO 8601 with offset
    placed_at: str
    active: bool
    released_by: str | None
    released_at: str | None
    release_reason: str | None


class PlacedHold(Hold):
    #: how many open pick tasks lost the allocation the hold covers (re-allocated FEFO from other stock)
    reallocated_tasks: int


def hold_of(h: Any) -> Hold:
    return Hold(
        hold_id=h.id,
        scope=h.scope,
        item=h.item,
        gtin=h.gtin,
        lot=h.lot,
        serial=h.serial,
        location=h.location,
        reason=h.reason,
        placed_by=h.placed_by,
        placed_at=h.placed_at.isoformat(),
        active=h.released_at is None,
        released_by=h.released_by,
        released_at=h.released_at.isoformat() if h.released_at else None,
        release_reason=h.release_reason,
    )


async def place_hold(
    db: async_sessionmaker,
    actor: Actor,
    *,
    scope: str,
    reason: str,
    item: str | None = None,
    lot: str | None = None,
    serial: str | None = None,
    location: str | None = None,
    today: dt.date,
) -> PlacedHold:
    if scope not in SCOPES:
        raise e.InvalidRecord(f"scope must be one of {', '.join(SCOPES)}", pointer="/scope")
    if not reason.strip():
        raise e.InvalidRecord("a hold needs a reason", pointer="/reason")
    async with db.begin() as session:
        ids = await _resolve(session, scope, item=item, lot=lot, serial=serial, location=location)
        hold_id = await session.scalar(
            text(
                "INSERT INTO holds (scope, item_id, lot_id, serial_id, location_id, reason, placed_by, placed_device)"
                " VALUES (:scope, :item_id, :lot_id, :serial_id, :location_id, :reason, :u, :d) RETURNING id"
            ),
            {**ids, "scope": scope, "reason": reason, "u": actor.user_id, "d": actor.device_id},
        )
        reallocated = await picking.release_for_hold(session, _COVERS[scope], ids, today)
        h = await _describe(session, hold_id)
        await emit(
            session,
            actor,
            HoldPlaced(
                hold_id=hold_id,
                scope=scope,
                gtin=h.gtin,
                lot=h.lot,
                serial=h.serial,
                location=h.location,
                reason=reason,
                reallocated_tasks=reallocated,
            ),
        )
        await audit(
            session,
            actor,
            "hold.placed",
            "ok",
            target=f"hold:{hold_id}",
            detail={"scope": scope, "reason": reason},
            reason=reason,
            after={"scope": scope, "gtin": h.gtin, "lot": h.lot, "serial": h.serial, "location": h.location},
        )
    return PlacedHold(**msgspec.structs.asdict(hold_of(h)), reallocated_tasks=reallocated)


async def _releasable(session: AsyncSession, hold_id: int, *, lock: bool) -> None:
    row = (
        await session.execute(
            text(
                "SELECT released_at IS NULL AS active, recall_id FROM holds WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": hold_id},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"hold {hold_id} does not exist", holdId=hold_id)
    if not row.active:
        raise e.Conflict(f"hold {hold_id} is already released", holdId=hold_id)
    if row.recall_id is not None:
        # a recall's own serial hold: only closing the recall (signed, with its disposition) releases it
        raise e.Conflict(
            f"hold {hold_id} belongs to recall {recall_number(row.recall_id)}: close the recall to release it",
            holdId=hold_id,
            recall=recall_number(row.recall_id),
        )


async def release_hold(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    *,
    hold_id: int,
    reason: str,
    password: str,
    address: str,
) -> Hold:
    if not reason.strip():
        raise e.InvalidRecord("releasing a hold needs a reason", pointer="/reason")
    async with db() as session:
        await _releasable(session, hold_id, lock=False)
    # signed before the hold is locked: no row waits while the password is checked
    await verify_signature(db, checks, actor, password, "release hold", f"hold:{hold_id}", address=address)
    async with db.begin() as session:
        await _releasable(session, hold_id, lock=True)  # again: another release may have come first
        await signed(
            session,
            actor,
            "release hold",
            f"hold:{hold_id}",
            signature_meaning="release",
            reason=reason,
            before={"released": False},
            after={"released": True},
        )
        await session.execute(
            text("UPDATE holds SET released_at = now(), released_by = :u, release_reason = :r WHERE id = :id"),
            {"u": actor.user_id, "r": reason, "id": hold_id},
        )
        h = await _describe(session, hold_id)
        await emit(
            session,
            actor,
            HoldReleased(
                hold_id=hold_id,
                scope=h.scope,
                gtin=h.gtin,
                lot=h.lot,
                serial=h.serial,
                location=h.location,
                reason=reason,
                signed_by=actor.username or "",
            ),
        )
    return hold_of(h)


async def list_holds(db: async_sessionmaker, *, active: bool) -> list[Hold]:
    async with db() as session:
        ids = (
            (
                await session.execute(
                    text(
                        "SELECT id FROM holds"
                        + (" WHERE released_at IS NULL" if active else "")
                        + " ORDER BY id DESC LIMIT 500"
                    )
                )
            )
            .scalars()
            .all()
        )
        return [hold_of(await _describe(session, i)) for i in ids]
