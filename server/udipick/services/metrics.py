"""The integration figures ``/metrics`` reports, read from PostgreSQL at each scrape.

From PostgreSQL rather than from process memory, so every server process reports the same truth about
the outbox backlog, each webhook subscriber's lag, failures, retries and dead letters, and each stream
subscriber's lag. Each statement reads indexes or small tables: a scrape costs the same with ten events
or ten million.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.services.outbox import BACKLOG, HEAD

_OUTBOX = text(
    # the head from the end of the position index and the backlog from the partial index of unsequenced rows
    f"SELECT ({HEAD}) AS head, b.unsequenced, coalesce(extract(epoch FROM now() - b.oldest), 0) AS oldest FROM ({BACKLOG}) b"
)
_WEBHOOKS = text(
    """
SELECT w.name, w.active,
       count(*) FILTER (WHERE d.status = 'pending') AS pending,
       count(*) FILTER (WHERE d.status = 'dead') AS dead,
       coalesce(extract(epoch FROM now() - min(o.occurred_at) FILTER (WHERE d.status = 'pending')), 0) AS oldest,
       min(d.position) FILTER (WHERE d.status = 'pending') AS first_pending,
       w.cursor
  FROM webhook_subscriptions w
  LEFT JOIN webhook_deliveries d ON d.subscription_id = w.id
  LEFT JOIN outbox_events o ON o.position = d.position AND d.status = 'pending'
 GROUP BY w.id ORDER BY w.name"""
)
_ATTEMPTS = text(
    "SELECT w.name, (a.status_code BETWEEN 200 AND 299) AS ok, count(*) AS n FROM webhook_attempts a"
    " JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_subscriptions w ON w.id = d.subscription_id"
    " GROUP BY 1, 2 ORDER BY 1, 2"
)
_RETRIED = text(
    "SELECT w.name, coalesce(sum(greatest(d.attempts - 1, 0)), 0) AS n FROM webhook_deliveries d"
    " JOIN webhook_subscriptions w ON w.id = d.subscription_id GROUP BY 1 ORDER BY 1"
)
_STREAMS = text("SELECT owner, name, acked_position FROM stream_subscribers ORDER BY 1, 2")


@dataclass(frozen=True)
class IntegrationFigures:
    """One scrape's rows, as read (``/metrics`` turns them into Prometheus families)."""

    #: ``head``, ``unsequenced``, ``oldest`` (seconds)
    outbox: Any
    #: per subscription: ``name``, ``active``, ``pending``, ``dead``, ``oldest``, ``first_pending``, ``cursor``
    webhooks: list[Any]
    #: per subscription and outcome: ``name``, ``ok``, ``n``
    attempts: list[Any]
    #: per subscription: ``name``, ``n`` (attempts beyond the first)
    retried: list[Any]
    #: per WebSocket subscriber: ``owner``, ``name``, ``acked_position``
    streams: list[Any]


async def integration_figures(db: async_sessionmaker) -> IntegrationFigures:
    async with db() as s:
        return IntegrationFigures(
            outbox=(await s.execute(_OUTBOX)).one(),
            webhooks=(await s.execute(_WEBHOOKS)).all(),
            attempts=(await s.execute(_ATTEMPTS)).all(),
            retried=(await s.execute(_RETRIED)).all(),
            streams=(await s.execute(_STREAMS)).all(),
        )
