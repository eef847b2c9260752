"""Purchasing's reorder point per item and warehouse (issue 19): the ERP's minimum and maximum, and whether
``replenishment.suggested.v1`` was sent for the current fall below the minimum.

Not the pick face's replenishment (``models_replenishment``: moving stock from reserve to a pick face inside
the warehouse); this one asks the ERP to buy.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base


class StockLevel(Base):
    __tablename__ = "stock_levels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    erp_id: Mapped[str] = mapped_column(String(64), unique=True)
    erp_version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    minimum: Mapped[int] = mapped_column(Integer)
    maximum: Mapped[int] = mapped_column(Integer)
    #: when the suggestion for the current fall below ``minimum`` was sent; cleared once available stock is
    #: at or above the minimum again, so each crossing is reported once
    suggested_at: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        UniqueConstraint("item_id", "warehouse_id"),
        CheckConstraint("minimum >= 0 AND maximum >= minimum", name="min_max"),
    )
