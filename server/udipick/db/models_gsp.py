"""Cold-chain temperature readings posted by sensors (GSP 温度监测记录, migration 0028).

Append-only (trigger ``cold_chain_readings_append_only``): a reading is a record an inspector reads
years later, so it is never corrected, only followed by the next one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Numeric, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base


class ColdChainReading(Base):
    """One sensor's temperature at one moment in one location, judged against the range it had to keep."""

    __tablename__ = "cold_chain_readings"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sensor: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    measured_at: Mapped[dt.datetime] = mapped_column(TS)
    temperature_c: Mapped[float] = mapped_column(Numeric(5, 2))
    #: the range the reading was judged against when it was stored (``domain.gsp.reading_range``); ``None``: none known
    min_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    max_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    out_of_range: Mapped[bool] = mapped_column(Boolean)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        # a sensor's batch sent again (a retry after a lost answer) stores nothing twice
        UniqueConstraint("sensor", "measured_at"),
        Index("ix_cold_chain_readings_location_time", "location_id", "measured_at"),
    )
