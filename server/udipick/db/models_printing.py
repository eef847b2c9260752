"""Label printers, each handheld's default printer, and the print-job table.

A label asked for by receiving, putaway or packing is a row in ``print_jobs`` before it is a
single byte on the wire: the job is written in the caller's transaction, sent after commit, and
its state (queued, sent, failed with the error, or no printer) stays visible so that no label is
ever silently lost and any label can be printed again (``reprint_of``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in

PRINTER_DPIS = (203, 300)
LABEL_SIZES = ("4x6", "4x2", "2x1")
PRINT_JOB_STATUSES = ("queued", "sent", "failed", "no_printer")
LABEL_KINDS = ("item", "sscc", "location", "lpn")


class Printer(Base):
    """A Zebra printer taking raw ZPL on ``host:port`` (9100), loaded with one label size."""

    __tablename__ = "printers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer, server_default="9100")
    dpi: Mapped[int] = mapped_column(Integer)
    label_size: Mapped[str] = mapped_column(String(8))
    #: the zone whose labels it prints by default (``locations.zone``), if any
    zone: Mapped[str | None] = mapped_column(String(32))
    #: where it stands (a packing bench, the receiving dock), if recorded
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint("port BETWEEN 1 AND 65535", name="port_range"),
        CheckConstraint("dpi IN (203, 300)", name="dpi_known"),
        CheckConstraint(_in("label_size", LABEL_SIZES), name="label_size_known"),
        CheckConstraint("name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'", name="name_plain"),
        Index("ix_printers_zone_active", "zone", postgresql_where=text("active")),
    )


class DevicePrinter(Base):
    """The printer a handheld's labels go to unless the caller names one (one per device)."""

    __tablename__ = "device_printers"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id", ondelete="CASCADE"))
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())


class PrintJob(Base):
    """One label (``copies`` times) for one printer, with the exact ZPL and the data it came from.

    ``data`` is kept so a job can be re-rendered for another printer's size or resolution; ``zpl``
    is kept so a reprint on the same printer is byte for byte the label first printed.
    A ``failed`` job with ``next_attempt_at`` set will be tried again by the worker; without it,
    only a person (retry) sends it again.
    """

    __tablename__ = "print_jobs"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[str] = mapped_column(String(8))
    dpi: Mapped[int] = mapped_column(Integer)
    zpl: Mapped[bytes] = mapped_column(LargeBinary)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    copies: Mapped[int] = mapped_column(Integer, server_default="1")
    zone: Mapped[str | None] = mapped_column(String(32))
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("printers.id", ondelete="SET NULL"))
    #: the printer's name when the job was last assigned (kept if the printer is removed)
    printer_name: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="5")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(TS)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    reprint_of: Mapped[int | None] = mapped_column(ForeignKey("print_jobs.id"))
    __table_args__ = (
        CheckConstraint(_in("status", PRINT_JOB_STATUSES), name="status_known"),
        CheckConstraint(_in("kind", LABEL_KINDS), name="kind_known"),
        CheckConstraint(_in("size", LABEL_SIZES), name="size_known"),
        CheckConstraint("dpi IN (203, 300)", name="dpi_known"),
        CheckConstraint("copies BETWEEN 1 AND 100", name="copies_range"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_nonneg"),
        CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        CheckConstraint("status <> 'queued' OR printer_id IS NOT NULL", name="queued_has_printer"),
        Index("ix_print_jobs_due", "next_attempt_at", "id", postgresql_where=text("status IN ('queued', 'failed')")),
        Index("ix_print_jobs_status_id", "status", "id"),
    )
