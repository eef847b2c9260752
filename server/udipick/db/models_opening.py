"""Go-live opening balances (issue 19): one row per load the old system's stock came in by."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import Base


class OpeningLoad(Base):
    """A load of opening balances, by the ERP's ``loadId``: a repeat of the same load (same body) answers
    what the first one booked instead of booking it twice. Inserting the row applies the load's
    ``opening`` ledger rows to stock (trigger ``opening_loads_apply``, migration 0023)."""

    __tablename__ = "opening_loads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: sha256 of the request body: the same load id with another body is refused
    body_sha256: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int] = mapped_column(Integer)
    ledger_rows: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)
    replaced: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    #: the answer the load got, given again to a repeat
    summary: Mapped[dict] = mapped_column(JSONB)
    booked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (
        CheckConstraint("ledger_rows >= 0", name="ledger_rows"),
        CheckConstraint("user_id IS NOT NULL OR api_key_id IS NOT NULL", name="has_actor"),
    )
