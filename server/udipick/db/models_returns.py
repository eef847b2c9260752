"""Customer returns: the ERP's return authorisations (RMA), what came back, and what QA decided.

A returned unit is a regulated record too (ISO 13485 §8.2.2, complaint and return handling): which
customer sent it, which shipment it came from, whether a recall covers it, who received it and who
signed its disposition. Rows are never deleted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, ErpVersioned, _in

RMA_STATUSES = ("open", "receiving", "closed", "cancelled")
RETURN_STATUSES = ("open", "closed")
#: a returned unit waits in quarantine until QA signs one of the other three
RETURN_LINE_STATUSES = ("quarantine", "restocked", "scrapped", "to_supplier")


class ReturnAuthorization(ErpVersioned, Base):
    """An RMA the ERP sent: which customer may send back what, and optionally from which sales order."""

    __tablename__ = "return_authorizations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    #: the sales order (ERP id) the goods were shipped on, when the ERP names it
    sales_order: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    __table_args__ = (CheckConstraint(_in("status", RMA_STATUSES), name="status_known"),)


class ReturnAuthorizationLine(Base):
    __tablename__ = "return_authorization_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("return_authorizations.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    lot: Mapped[str | None] = mapped_column(String(20))
    serials: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
    quantity_received: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        UniqueConstraint("rma_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_received >= 0", name="received_nonneg"),
    )


class CustomerReturn(Base):
    """One return being received at the dock: against an RMA, or blind (the customer chosen on the handheld)."""

    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("return_authorizations.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    #: the quarantine location the returned units are booked into
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_device: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (CheckConstraint(_in("status", RETURN_STATUSES), name="status_known"),)


class ReturnLine(Base):
    """Units one scan brought back, the shipment they came from, the recall that covers them (if any)
    and QA's signed disposition."""

    __tablename__ = "return_lines"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    rma_line_id: Mapped[int | None] = mapped_column(ForeignKey("return_authorization_lines.id"))
    client_scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    #: the sales orders (ERP ids) that shipped these units to the customer
    shipped_on: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
    #: the open recall covering the lot or serial when it came back: the unit stays in quarantine for it
    recall_id: Mapped[int | None] = mapped_column(ForeignKey("recalls.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), server_default="quarantine")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    scanned_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    disposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    disposition_reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_in("status", RETURN_LINE_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'quarantine') = (disposed_at IS NULL AND disposed_by IS NULL)", name="disposed_when_disposed"
        ),
        Index("ix_return_lines_awaiting", "status", postgresql_where=text("status = 'quarantine'")),
        Index("ix_return_lines_serial_id", "serial_id", postgresql_where=text("serial_id IS NOT NULL")),
        Index("ix_return_lines_lot_id", "lot_id"),
    )
