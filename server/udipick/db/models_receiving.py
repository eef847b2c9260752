"""Receipts at the dock, every accepted scan (who, which device, when), discrepancies and putaway tasks.

Stock itself moves only through the ledger; these tables are the receiving record around it: what
was scanned against which document line, why units went to quarantine, what was short, over or
damaged, and which licence plate still has to be put away.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in

RECEIPT_STATUSES = ("open", "closed")
DISCREPANCY_KINDS = ("short", "over", "damaged", "asn_mismatch", "lot_expiry_conflict")
PUTAWAY_STATUSES = ("open", "done")


class Receipt(Base):
    """One receiving session at the dock, against an inbound document or blind (no document)."""

    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_documents.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_device: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_device: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    #: the transport record a cold-chain acceptance checks (GSP 运输记录, migration 0028), as the receiver
    #: read it off the carrier's papers and logger; all optional
    carrier: Mapped[str | None] = mapped_column(String(200))
    transport_mode: Mapped[str | None] = mapped_column(String(40))
    departed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    departure_temperature_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    #: the temperature measured as the vehicle was opened (到货温度); each scan carries its own reading too
    arrival_temperature_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    #: what the transport's temperature log showed (e.g. "logger TL-88: 3.1–6.4 °C throughout")
    transport_temperatures: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("status", RECEIPT_STATUSES), name="status_known"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_when_closed"),
    )


class ReceiptScan(Base):
    """Units accepted by one scan: the line it counted against, what was captured, where it went."""

    __tablename__ = "receipt_scans"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    inbound_line_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_lines.id"))
    client_scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    scanned_gtin: Mapped[str | None] = mapped_column(String(14))
    pack_level: Mapped[str] = mapped_column(String(8))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    production_date: Mapped[dt.date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    reasons: Mapped[str | None] = mapped_column(Text)
    temperature_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"))
    raw: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    scanned_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_in("status", ("available", "quarantine")), name="status_known"),
        # the backward trace (recalls, migration 0012): which receipts brought a lot or a serial in
        Index("ix_receipt_scans_lot_id", "lot_id"),
        Index("ix_receipt_scans_serial_id", "serial_id", postgresql_where=text("serial_id IS NOT NULL")),
    )


class ReceiptContainer(Base):
    """A licence plate (LPN) a receipt fills: one per storage condition and status, so that each
    can go to one fitting location. ``print_job_id`` is its label (kept even without a printer)."""

    __tablename__ = "receipt_containers"
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    group_key: Mapped[str] = mapped_column(String(40))
    print_job_id: Mapped[int | None] = mapped_column(ForeignKey("print_jobs.id"))
    print_status: Mapped[str | None] = mapped_column(String(16))


class ReceiptDiscrepancy(Base):
    """Short, over or damaged quantities, ASN mismatches and lot data conflicts, with a reason."""

    __tablename__ = "receipt_discrepancies"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    inbound_line_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_lines.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int | None] = mapped_column(Integer)
    lot: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    reported: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint(_in("kind", DISCREPANCY_KINDS), name="kind_known"),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
    )


class PutawayTask(Base):
    """Move one licence plate from the dock to a storage location that fits its stock; or (after a QC
    release in a quarantine location) one item and lot of a plate, or loose stock, to a saleable one.

    The task's stock is what lies at ``from_location_id`` on ``container_id`` (``None``: loose), narrowed
    to ``item_id`` / ``lot_id`` when they are set."""

    __tablename__ = "putaway_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``None`` for a task QC release created, or a returned unit QA restocked (``return_id``, 0021)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id"))
    container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_device: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        CheckConstraint(_in("status", PUTAWAY_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'done') = (done_at IS NOT NULL AND to_location_id IS NOT NULL)", name="done_complete"
        ),
        Index("ix_putaway_tasks_open", "status", postgresql_where=text("status = 'open'")),
        CheckConstraint("container_id IS NOT NULL OR item_id IS NOT NULL", name="names_its_stock"),
        Index(
            "uq_putaway_tasks_open_scope",
            "container_id",
            "item_id",
            "lot_id",
            "from_location_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            postgresql_nulls_not_distinct=True,
        ),
    )
