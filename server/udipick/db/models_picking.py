"""Waves, pick tasks (allocations), confirmed picks, location blocks, packages (SSCC cartons)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import Base

TS = DateTime(timezone=True)


class Wave(Base):
    __tablename__ = "waves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), server_default="released")
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_device: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    allocation_date: Mapped[dt.date] = mapped_column(Date)
    #: 1 first, as ``outbound_documents.priority``: orders the pickers' task list across waves
    priority: Mapped[int] = mapped_column(Integer, server_default="5")
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(TS)
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("status IN ('released', 'done', 'cancelled')", name="status_known"),
        CheckConstraint("priority BETWEEN 1 AND 9", name="priority_range"),
        CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)", name="cancel_complete"
        ),
    )


class PickTask(Base):
    """Units promised to an order line from one stock row; ``stock.reserved`` holds them until picked."""

    __tablename__ = "pick_tasks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("outbound_documents.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("outbound_lines.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    picked: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    sequence: Mapped[int] = mapped_column(Integer)
    min_shelf_life_days: Mapped[int] = mapped_column(Integer)
    allow_bonded: Mapped[bool] = mapped_column(Boolean)
    tote_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    #: the picker a supervisor gave the task to; ``None``: whoever comes first
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("picked >= 0 AND picked <= quantity", name="no_overpick"),
        CheckConstraint("status IN ('open', 'done', 'short', 'cancelled')", name="status_known"),
        Index("ix_pick_tasks_open", "wave_id", "sequence", postgresql_where=text("status = 'open'")),
        Index("ix_pick_tasks_line", "line_id"),
        #: a wave's progress (the live floor view); the wave never changes, so picks' updates stay HOT
        Index("ix_pick_tasks_wave", "wave_id"),
        Index("ix_pick_tasks_stock_open", "stock_id", postgresql_where=text("status = 'open'")),
    )


class Pick(Base):
    """One confirmed pick scan: what actually left the shelf (the lot may differ from the task's).

    Only ``task_id`` has a foreign key; the task names the order, line and item with keys of its own,
    and the other ids name master data that is never deleted (migration 0005)."""

    __tablename__ = "picks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("pick_tasks.id"))
    document_id: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(Integer)
    serial_id: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    packed: Mapped[int] = mapped_column(Integer, server_default="0")
    #: units of a cancelled wave, order or line handed to a put-back task (no longer to pack or ship)
    put_back: Mapped[int] = mapped_column(Integer, server_default="0")
    from_location_id: Mapped[int] = mapped_column(Integer)
    staging_location_id: Mapped[int] = mapped_column(Integer)
    container_id: Mapped[int | None] = mapped_column(Integer)
    client_scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    fefo_override_by: Mapped[int | None] = mapped_column(Integer)
    override_reason: Mapped[str | None] = mapped_column(Text)
    picked_by: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[str | None] = mapped_column(String(64))
    picked_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    #: the picker took the scan back (``services.picking.undo_pick``): a reversing movement put the units back
    undone_at: Mapped[dt.datetime | None] = mapped_column(TS)
    undone_by: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("packed >= 0 AND packed <= quantity", name="packed_within_quantity"),
        CheckConstraint("put_back >= 0 AND packed + put_back <= quantity", name="put_back_within_quantity"),
        CheckConstraint("undone_at IS NULL OR (packed = 0 AND put_back = 0)", name="undone_unpacked"),
        Index("ix_picks_document", "document_id"),
        #: the picks of the last minutes (pickers' rates, live view, KPIs): BRIN, as picks arrive in time order,
        #: so the pick scan's insert pays next to nothing for it
        Index("ix_picks_picked_at", "picked_at", postgresql_using="brin"),
    )


class LocationBlock(Base):
    """After a short pick the location is blocked for that item until someone counts it."""

    __tablename__ = "location_blocks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    cleared_at: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        Index(
            "uq_location_blocks_active",
            "location_id",
            "item_id",
            unique=True,
            postgresql_where=text("cleared_at IS NULL"),
        ),
    )


class Package(Base):
    """A carton or pallet packed for one order, identified by its SSCC (AI 00)."""

    __tablename__ = "packages"
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("outbound_documents.id"))
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed', 'shipped')", name="status_known"),
        Index("ix_packages_document", "document_id"),
    )


class PutBackTask(Base):
    """Picked units of a cancelled wave, order or line to carry back to the location they came from.

    Created by the cancel; confirming it (a scan of the destination location) moves the units through
    the ledger from staging (status ``picked``, in their tote if any) back to ``available`` stock."""

    __tablename__ = "put_back_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("outbound_documents.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    from_container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[dt.datetime | None] = mapped_column(TS)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_device: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('open', 'done')", name="status_known"),
        CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_complete"),
        Index("ix_put_back_tasks_open", "to_location_id", postgresql_where=text("status = 'open'")),
    )
