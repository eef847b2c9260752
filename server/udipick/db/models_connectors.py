"""ERP connectors' cursors (``udipick connect tryton``): where each connector stands on both sides.

A connector is a client of udipick's API like any ERP; its place in udipick's event stream and its
watermark on the ERP's changes are kept here, in PostgreSQL, as the webhooks' cursors are, so a
restart on any host resumes where the last one committed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import Base


class ErpConnectorCursor(Base):
    """One connector's cursors, written by the connector only after the ERP's transaction has committed.

    ``events_after`` is the last stream position fully booked in the ERP (events after it are read again on
    restart and deduplicated by event id on the ERP's side); ``pulled_until`` is the ERP-side change time up
    to which records were sent into udipick (re-sending a record is a replay: udipick answers unchanged)."""

    __tablename__ = "erp_connector_cursors"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    events_after: Mapped[int] = mapped_column(BigInteger, server_default="0")
    pulled_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint("events_after >= 0", name="events_after_not_negative"),)
