"""Tables that carry outbox events out to the ERP: webhook subscriptions and their deliveries,
every delivery attempt, and the acknowledged cursor of each WebSocket stream subscriber.

A delivery row exists per (subscription, event position); the relay sends a subscription's
deliveries strictly in position order, so the ERP applies stock changes in the order they
happened. Attempts are kept so an operator can see why an endpoint fell behind.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
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
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in

DELIVERY_STATUSES = ("pending", "delivered", "dead")


class WebhookSubscription(Base):
    """An ERP endpoint and the event types it wants (``pick.*`` style patterns; empty: all).

    ``cursor`` is the last outbox position already fanned out into deliveries. The lease
    (``leased_by``/``lease_until``) marks which relay currently sends for this subscription; it
    is taken with ``FOR UPDATE SKIP LOCKED`` in a short transaction and expires on its own if that
    relay dies, so no transaction stays open during an HTTP call.
    """

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    #: Standard Webhooks secret, ``whsec_<base64>``
    secret: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(80)), server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="12")
    cursor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    leased_by: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[dt.datetime | None] = mapped_column(TS)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint("max_attempts BETWEEN 1 AND 100", name="max_attempts_range"),
        CheckConstraint("cursor >= 0", name="cursor_nonneg"),
    )


class WebhookDelivery(Base):
    """One event owed to one subscription: pending until a 2xx answer, dead after ``max_attempts``."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(TS)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        UniqueConstraint("subscription_id", "position"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status_known"),
        Index(
            "ix_webhook_deliveries_pending", "subscription_id", "position", postgresql_where=text("status = 'pending'")
        ),
        Index("ix_webhook_deliveries_status", "status"),
    )


class WebhookAttempt(Base):
    """One POST to the ERP and what came back (status code or network error)."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    relay: Mapped[str | None] = mapped_column(String(80))


class StreamSubscriber(Base):
    """A WebSocket consumer's acknowledged position: a reconnect without ``after`` resumes here."""

    __tablename__ = "stream_subscribers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``key:<api key id>`` or ``user:<username>``
    owner: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(64))
    acked_position: Mapped[int] = mapped_column(BigInteger, server_default="0")
    connected_at: Mapped[dt.datetime | None] = mapped_column(TS)
    acked_at: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (UniqueConstraint("owner", "name"), CheckConstraint("acked_position >= 0", name="acked_nonneg"))
