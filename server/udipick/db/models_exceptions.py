"""The supervisor's exception queue and the handhelds' offline-queue reports (issue 17).

An exception is raised in the transaction that stores the answer it is about (a refused scan's reply, a
short pick, a count), so it exists exactly when the answer does; ``client_scan_id`` is unique, so a
replayed scan (answered from ``scan_replies``) never raises a second one. ``event_id`` names the outbox
event of that answer: the live view (``api/live.py``) reads exceptions through the outbox positions of
their events, in commit order. A resolution is written once (note, who, when) and kept, with a row in
``audit_log``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in
from udipick.domain.exceptions import KINDS


class ExceptionRow(Base):
    __tablename__ = "exceptions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    #: the problem code of the refusal, or the answer's own name (``short-pick``, ``count-variance``)
    code: Mapped[str] = mapped_column(String(48))
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    order_ref: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    gtin: Mapped[str | None] = mapped_column(String(14))
    lot: Mapped[str | None] = mapped_column(String(64))
    serial: Mapped[str | None] = mapped_column(String(64))
    #: the scan the answer belongs to: one exception per scan, however often it is replayed
    client_scan_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    #: the outbox event of the answer (``pick.refused.v1``, ``pick.shorted.v1``, ``stock.counted.v1``)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: the scan waited in the handheld's offline queue before it was answered
    queued: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(TS)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_by_name: Mapped[str | None] = mapped_column(String(64))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("kind", tuple(sorted(KINDS))), name="kind_known"),
        CheckConstraint(
            "(resolved_at IS NULL) = (resolution_note IS NULL) AND (resolved_at IS NULL) = (resolved_by_name IS NULL)",
            name="resolution_complete",
        ),
        Index("ix_exceptions_open", "id", postgresql_where=text("resolved_at IS NULL")),
        Index("ix_exceptions_event_id", "event_id"),
    )


class DeviceQueue(Base):
    """What a handheld last said about its offline queue (``POST /api/v1/devices/heartbeat``)."""

    __tablename__ = "device_queues"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64))
    #: scans waiting in the handheld's queue
    queued: Mapped[int] = mapped_column(Integer)
    #: whether the handheld believed itself online when it reported
    online: Mapped[bool] = mapped_column(Boolean)
    reported_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (CheckConstraint("queued >= 0", name="queued_nonneg"),)
