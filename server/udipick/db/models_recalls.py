"""Recalls: which lots a recall froze (and the status each had), which packed cartons it flagged.

A recall is a regulated record (ISO 13485 §8.3.3, 21 CFR 806): who opened it, why, its class, every
lot it covers, and when and how it was closed (disposition, signer, response time). Rows are never
deleted; a closed recall stays as the record of what was done.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import Base, _in

TS = DateTime(timezone=True)
RECALL_CLASSES = ("I", "II", "III")
RECALL_SCOPES = ("lots", "production_dates", "serials")
RECALL_STATUSES = ("open", "closed")
DISPOSITIONS = ("destroyed", "returned_to_supplier", "released")


class Recall(Base):
    __tablename__ = "recalls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    scope: Mapped[str] = mapped_column(String(16))
    #: the range a ``production_dates`` recall names (inclusive)
    produced_from: Mapped[dt.date | None] = mapped_column(Date)
    produced_to: Mapped[dt.date | None] = mapped_column(Date)
    recall_class: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    #: the ERP's (or the manufacturer's) own reference for the recall, when it sent one
    reference: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    opened_device: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    disposition: Mapped[str | None] = mapped_column(String(24))
    close_note: Mapped[str | None] = mapped_column(Text)
    #: seconds from opening to closing: the recall's response time
    response_seconds: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(_in("scope", RECALL_SCOPES), name="scope_known"),
        CheckConstraint(_in("recall_class", RECALL_CLASSES), name="class_known"),
        CheckConstraint(_in("status", RECALL_STATUSES), name="status_known"),
        CheckConstraint(f"disposition IS NULL OR {_in('disposition', DISPOSITIONS)}", name="disposition_known"),
        CheckConstraint("opened_by IS NOT NULL OR opened_api_key_id IS NOT NULL", name="has_opener"),
        CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL AND disposition IS NOT NULL AND closed_by IS NOT NULL)",
            name="closed_when_closed",
        ),
        CheckConstraint(
            "(scope = 'production_dates') = (produced_from IS NOT NULL AND produced_to IS NOT NULL)",
            name="dates_with_scope",
        ),
        Index("ix_recalls_open", "status", postgresql_where=text("status = 'open'")),
    )


class RecallLot(Base):
    """A lot the recall set to ``recalled``, and the status it had before (restored on a ``released`` close)."""

    __tablename__ = "recall_lots"
    recall_id: Mapped[int] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    prior_status: Mapped[str] = mapped_column(String(12))
    __table_args__ = (Index("ix_recall_lots_lot_id", "lot_id"),)


class RecallPackage(Base):
    """A closed but unshipped carton holding recalled units when the recall opened: flagged, not shipped."""

    __tablename__ = "recall_packages"
    recall_id: Mapped[int] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), primary_key=True)


class RecallSerial(Base):
    """A serial a ``serials`` recall froze (the rest of its lot stays available), through a serial hold that
    belongs to the recall; ``prior_status`` is the serial's status when the recall opened."""

    __tablename__ = "recall_serials"
    recall_id: Mapped[int] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serials.id"), primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"))
    prior_status: Mapped[str] = mapped_column(String(12))
    __table_args__ = (Index("ix_recall_serials_serial_id", "serial_id"),)
