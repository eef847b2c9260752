"""The KPIs' closed days (``GET /api/v1/kpis``): each KPI's numerators and denominators of one closed UTC day,
summed once from the append-only records and kept, so a 30-day report adds up 30 rows instead of a month of
picks, scans and shipments. ``docs/kpis.md`` says which facts are per day and when a stored day is recomputed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Date, DateTime, Integer, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import Base


class KpiDay(Base):
    """One closed day's facts for one scope: ``scope`` 0 is all warehouses together, any other value a
    warehouse's id (no foreign key: 0 names no warehouse). Written once by ``services.kpis`` under an advisory
    lock; ``udipick kpis rebuild`` deletes and recomputes."""

    __tablename__ = "kpi_days"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    scope: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``domain.kpis.Facts`` of the day, as JSON
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: stock at the day's end (``domain.kpis.StockAt`` rows), filled when a period first ends on this day
    closing: Mapped[list[Any] | None] = mapped_column(JSONB)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint("scope >= 0", name="scope_known"),)
