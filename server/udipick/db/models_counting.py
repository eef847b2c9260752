"""Count tasks (issue 19): what to count, who counted what, and the supervisor's approval.

A task expands to lines, one per location and item; the counter never sees the books. A line's
first count within the tolerance is booked at once; otherwise another user recounts it and a
supervisor approves the difference with a reason code. While a task has an open line at a location
the location is frozen (``locations.frozen``, the flag allocation, the pick write, replenishment and
putaway already refuse); ``count_freezes`` remembers whether it was frozen before, so the end of the
count gives back the location as it found it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in

COUNT_TASK_KINDS = ("location", "zone", "item", "lot")
COUNT_TASK_ORIGINS = ("supervisor", "abc", "short-pick")
COUNT_TASK_STATUSES = ("open", "closed", "cancelled")
#: open: waiting for its first count; recount: a difference over the tolerance, waiting for another user;
#: review: recounted, waiting for a supervisor; done: booked (or nothing to book)
COUNT_LINE_STATUSES = ("open", "recount", "review", "done")


class CountTask(Base):
    __tablename__ = "count_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: the location code, zone, item ERP id or lot the task was asked for
    target: Mapped[str] = mapped_column(String(80))
    origin: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    #: the item a lot or item task counts (``None`` for a location or zone)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    closed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        CheckConstraint(_in("kind", COUNT_TASK_KINDS), name="kind_known"),
        CheckConstraint(_in("origin", COUNT_TASK_ORIGINS), name="origin_known"),
        CheckConstraint(_in("status", COUNT_TASK_STATUSES), name="status_known"),
        Index("ix_count_tasks_open", "status", "id", postgresql_where=text("status = 'open'")),
    )


class CountLine(Base):
    __tablename__ = "count_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("count_tasks.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    #: the count as sent: ``[{lot, serial, quantity, expiry}]``
    first_count: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    first_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_at: Mapped[dt.datetime | None] = mapped_column(TS)
    recount: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    recount_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recount_at: Mapped[dt.datetime | None] = mapped_column(TS)
    #: expected against counted per lot (serial) at the last count: what the supervisor reviews
    compared: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    units_off: Mapped[int | None] = mapped_column(Integer)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(TS)
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("task_id", "location_id", "item_id"),
        CheckConstraint(_in("status", COUNT_LINE_STATUSES), name="status_known"),
        # is this location under count? (the pick refusal, the freeze's end)
        Index("ix_count_lines_location_open", "location_id", postgresql_where=text("status <> 'done'")),
    )


class CountFreeze(Base):
    """A location frozen for a count, and whether it was frozen before (then the count's end leaves it so)."""

    __tablename__ = "count_freezes"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    was_frozen: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
