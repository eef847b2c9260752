"""Replenishment tasks: move one lot from a reserve location to the item's pick face.

The units are reserved on the source stock row (``stock.reserved``) while the task is open, so no
wave promises them to a pick task meanwhile; confirming moves them through the ledger, cancelling
releases them. Stock itself moves only through the ledger (movement ``move``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in

REPLENISHMENT_STATUSES = ("open", "done", "cancelled")


class ReplenishmentTask(Base):
    __tablename__ = "replenishment_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    #: the reserve stock row the units are reserved on
    stock_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stock.id"))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    moved: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    #: why the planner created it (the face's numbers at the time)
    reason: Mapped[str] = mapped_column(Text)
    #: the wave whose release triggered it; ``None`` for a supervisor's or the periodic planner's run
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[dt.datetime | None] = mapped_column(TS)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_device: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(TS)
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("moved >= 0 AND moved <= quantity", name="moved_within_quantity"),
        CheckConstraint(_in("status", REPLENISHMENT_STATUSES), name="status_known"),
        CheckConstraint("from_location_id <> to_location_id", name="moves_somewhere"),
        CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_complete"),
        CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)", name="cancel_complete"
        ),
        # one open task per lot, source and face: the planner raises it rather than adding a second
        Index(
            "uq_replenishment_tasks_open",
            "item_id",
            "lot_id",
            "from_location_id",
            "to_location_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_replenishment_tasks_stock_open", "stock_id", postgresql_where=text("status = 'open'")),
    )
