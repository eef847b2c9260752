"""Webhook subscriptions and their deliveries: signing, backoff, fan-out, claiming, dead letters, replay.

Signatures follow the Standard Webhooks specification (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``) so an ERP developer
verifies them with any Standard Webhooks library. ``webhook-id`` is the event's ``eventId``:
a retried or replayed delivery carries the same id, which is what the receiver deduplicates on.

Order: a subscription's deliveries go out strictly by position, one at a time; a failing one
blocks the ones after it (they wait, they are not reordered) until it succeeds or goes to the
dead-letter state after ``max_attempts``. Dead deliveries are kept for inspection and replay.

Concurrency: several relays share the work by leasing whole subscriptions. The lease is taken
with ``FOR UPDATE SKIP LOCKED`` in a short transaction and has an expiry, so no transaction stays
open across an HTTP call (an open transaction would hold back the outbox sequencer) and a
relay killed mid-delivery frees its subscriptions when the lease runs out.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import secrets
import socket
import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.domain.errors import (
    InvalidRecord,
    UnknownWebhookDelivery,
    UnknownWebhookSubscription,
    WebhookNameTaken,
    WebhookTargetRefused,
)
from udipick.domain.webhook_targets import check_addresses, target_host_port
from udipick.services.outbox import StreamEvent, head_position, like_patterns

SECRET_PREFIX = "whsec_"


# ---- pure rules ----------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}`` with the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def valid_event_pattern(pattern: str) -> bool:
    """``pick.confirmed.v1``, ``pick.*`` or ``*``: lower-case words, dots, one trailing ``*``."""
    body = pattern.removesuffix("*")
    return 0 < len(pattern) <= 80 and all(c.islower() or c.isdigit() or c in "._-" for c in body)


# ---- where a webhook may be sent ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A webhook URL's host, port and the addresses it resolved to, each checked (``domain.webhook_targets``)."""

    host: str
    port: int
    addresses: list[str]


async def resolve_target(url: str, *, allow_loopback: bool) -> Target:
    """Resolve the URL's host now and check every address it resolves to.

    Called when a subscription is registered or its URL changed, and again before every delivery: a
    name that resolved to a LAN address yesterday may resolve to 127.0.0.1 or 169.254.169.254 today.
    The relay then connects to one of these checked addresses itself, so a second lookup by the HTTP
    client cannot answer differently (DNS rebinding).
    """
    host, port = target_host_port(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookTargetRefused(
            f"the webhook host {host!r} does not resolve ({exc}); check the URL", host=host, reason="unresolvable"
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    check_addresses(host, addresses, allow_loopback=allow_loopback)
    return Target(host, port, addresses)


# ---- subscriptions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    id: int
    name: str
    url: str
    secret: str
    event_types: list[str]
    active: bool
    max_attempts: int
    cursor: int


_SUB_COLS = "id, name, url, secret, event_types, active, max_attempts, cursor"


async def create_subscription(
    session: AsyncSession, *, name: str, url: str, event_types: list[str], max_attempts: int, from_position: int | None
) -> Subscription:
    """A new subscription starts after the current head unless ``from_position`` asks for history."""
    head = await head_position(session)
    row = (
        await session.execute(
            text(
                "INSERT INTO webhook_subscriptions (name, url, secret, event_types, max_attempts, cursor)"
                f" VALUES (:name, :url, :secret, :types, :max_attempts, :cursor) RETURNING {_SUB_COLS}"
            ),
            {
                "name": name,
                "url": url,
                "secret": new_secret(),
                "types": event_types,
                "max_attempts": max_attempts,
                "cursor": head if from_position is None else min(from_position, head),
            },
        )
    ).one()
    return Subscription(*row)


async def get_subscription(session: AsyncSession, subscription_id: int) -> Subscription | None:
    row = (
        await session.execute(
            text(f"SELECT {_SUB_COLS} FROM webhook_subscriptions WHERE id = :id"), {"id": subscription_id}
        )
    ).first()
    return Subscription(*row) if row else None


async def list_subscriptions(session: AsyncSession) -> list[Subscription]:
    rows = (await session.execute(text(f"SELECT {_SUB_COLS} FROM webhook_subscriptions ORDER BY id"))).all()
    return [Subscription(*r) for r in rows]


# ---- fan-out: outbox positions → deliveries -------------------------------------------------------


async def fan_out(session: AsyncSession, *, chunk: int = 5000) -> int:
    """Create deliveries for events past each subscription's cursor; returns how many. Commits.

    Subscriptions another relay is fanning out right now are skipped (SKIP LOCKED), not waited for.
    """
    head = await head_position(session)
    subs = (
        await session.execute(
            text(
                "SELECT id, cursor, event_types FROM webhook_subscriptions WHERE active AND cursor < :head"
                " ORDER BY id FOR UPDATE SKIP LOCKED"
            ),
            {"head": head},
        )
    ).all()
    created = 0
    for sub in subs:
        upto = min(head, sub.cursor + chunk)
        patterns = like_patterns(sub.event_types or ["*"])
        result = await session.execute(
            text(
                "INSERT INTO webhook_deliveries (subscription_id, position, event_id, event_type)"
                " SELECT :sid, position, event_id, type FROM outbox_events"
                " WHERE position > :after AND position <= :upto AND type LIKE ANY(:patterns)"
                " ORDER BY position ON CONFLICT (subscription_id, position) DO NOTHING"
            ),
            {"sid": sub.id, "after": sub.cursor, "upto": upto, "patterns": patterns},
        )
        created += result.rowcount or 0
        await session.execute(
            text("UPDATE webhook_subscriptions SET cursor = :c WHERE id = :id"), {"c": upto, "id": sub.id}
        )
    await session.commit()
    return created


# ---- claiming and recording -----------------------------------------------------------------------


async def claim(session: AsyncSession, relay: str, lease_seconds: float) -> Subscription | None:
    """Lease one subscription whose oldest pending delivery is due. Commits at once."""
    row = (
        await session.execute(
            text(
                f"""
UPDATE webhook_subscriptions s SET leased_by = :relay, lease_until = now() + make_interval(secs => :lease)
 WHERE s.id = (
   SELECT w.id FROM webhook_subscriptions w
    WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < now())
      AND (SELECT d.next_attempt_at FROM webhook_deliveries d
            WHERE d.subscription_id = w.id AND d.status = 'pending'
            ORDER BY d.position LIMIT 1) <= now()
    ORDER BY w.id
    FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING {", ".join("s." + c.strip() for c in _SUB_COLS.split(","))}
"""
            ),
            {"relay": relay, "lease": lease_seconds},
        )
    ).first()
    await session.commit()
    return Subscription(*row) if row else None


async def renew(session: AsyncSession, subscription_id: int, relay: str, lease_seconds: float) -> bool:
    """Extend our lease; False if it expired and another relay took the subscription."""
    row = (
        await session.execute(
            text(
                "UPDATE webhook_subscriptions SET lease_until = now() + make_interval(secs => :lease)"
                " WHERE id = :id AND leased_by = :relay AND lease_until > now() RETURNING id"
            ),
            {"id": subscription_id, "relay": relay, "lease": lease_seconds},
        )
    ).first()
    await session.commit()
    return row is not None


async def release(session: AsyncSession, subscription_id: int, relay: str) -> None:
    await session.execute(
        text(
            "UPDATE webhook_subscriptions SET leased_by = NULL, lease_until = NULL WHERE id = :id AND leased_by = :relay"
        ),
        {"id": subscription_id, "relay": relay},
    )
    await session.commit()


@dataclass(frozen=True)
class Due:
    delivery_id: int
    attempts: int
    next_attempt_at: dt.datetime
    event: StreamEvent


async def pending(session: AsyncSession, subscription_id: int, limit: int) -> list[Due]:
    """The subscription's pending deliveries in position order, with their event bodies."""
    rows = (
        await session.execute(
            text(
                "SELECT d.id AS delivery_id, d.attempts, d.next_attempt_at, o.position, o.event_id, o.type,"
                " o.occurred_at, o.username, o.device_id, o.data::text AS data"
                " FROM webhook_deliveries d JOIN outbox_events o ON o.position = d.position"
                " WHERE d.subscription_id = :sid AND d.status = 'pending' ORDER BY d.position LIMIT :limit"
            ),
            {"sid": subscription_id, "limit": limit},
        )
    ).all()
    await session.commit()
    return [
        Due(
            r.delivery_id,
            r.attempts,
            r.next_attempt_at,
            StreamEvent(
                r.position, r.event_id, r.type, r.occurred_at, r.username, r.device_id, msgspec.Raw(r.data.encode())
            ),
        )
        for r in rows
    ]


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    *,
    ok: bool,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    relay: str,
    retry_in: float,
    max_attempts: int,
) -> str:
    """Write the attempt and the delivery's new state; returns ``delivered``, ``pending`` or ``dead``."""
    await session.execute(
        text(
            "INSERT INTO webhook_attempts (delivery_id, status_code, error, duration_ms, relay)"
            " VALUES (:d, :code, :error, :ms, :relay)"
        ),
        {"d": delivery_id, "code": status_code, "error": error, "ms": duration_ms, "relay": relay},
    )
    status = (
        await session.execute(
            text(
                """
UPDATE webhook_deliveries SET
  attempts = attempts + 1,
  last_status_code = :code,
  last_error = :error,
  status = CASE WHEN :ok THEN 'delivered' WHEN attempts + 1 >= :max THEN 'dead' ELSE 'pending' END,
  delivered_at = CASE WHEN :ok THEN now() ELSE delivered_at END,
  next_attempt_at = CASE WHEN :ok THEN next_attempt_at ELSE now() + make_interval(secs => :retry) END
WHERE id = :d RETURNING status"""
            ),
            {"d": delivery_id, "ok": ok, "code": status_code, "error": error, "max": max_attempts, "retry": retry_in},
        )
    ).scalar_one()
    await session.commit()
    return status


async def next_due(session: AsyncSession) -> dt.datetime | None:
    """When the next delivery may be tried: its retry time, or later if another relay holds its lease."""
    value = await session.scalar(
        text(
            "SELECT min(GREATEST(d.next_attempt_at, coalesce(s.lease_until, '-infinity')))"
            " FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id"
            " WHERE d.status = 'pending' AND s.active"
        )
    )
    await session.commit()
    return value


# ---- inspect and replay ---------------------------------------------------------------------------


class AttemptOut(msgspec.Struct, rename="camel"):
    attempted_at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    relay: str | None


class DeliveryOut(msgspec.Struct, rename="camel"):
    id: int
    subscription_id: int
    position: int
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    attempt_log: list[AttemptOut] | None = None


_DELIVERY_COLS = (
    "id, subscription_id, position, event_id, event_type, status, attempts, next_attempt_at,"
    " last_status_code, last_error, delivered_at"
)


async def list_deliveries(
    session: AsyncSession, subscription_id: int, *, status: str | None, after: int, limit: int
) -> list[DeliveryOut]:
    rows = (
        await session.execute(
            text(
                f"SELECT {_DELIVERY_COLS} FROM webhook_deliveries WHERE subscription_id = :sid AND position > :after"
                " AND (CAST(:status AS text) IS NULL OR status = :status) ORDER BY position LIMIT :limit"
            ),
            {"sid": subscription_id, "after": after, "status": status, "limit": limit},
        )
    ).all()
    return [DeliveryOut(*r) for r in rows]


async def get_delivery(session: AsyncSession, delivery_id: int) -> DeliveryOut | None:
    row = (
        await session.execute(
            text(f"SELECT {_DELIVERY_COLS} FROM webhook_deliveries WHERE id = :id"), {"id": delivery_id}
        )
    ).first()
    if row is None:
        return None
    attempts = (
        await session.execute(
            text(
                "SELECT attempted_at, status_code, error, duration_ms, relay FROM webhook_attempts"
                " WHERE delivery_id = :id ORDER BY id"
            ),
            {"id": delivery_id},
        )
    ).all()
    return DeliveryOut(*row, attempt_log=[AttemptOut(*a) for a in attempts])


async def replay(
    session: AsyncSession,
    subscription_id: int,
    *,
    delivery_ids: list[int] | None,
    status: str | None,
    from_position: int | None,
) -> int:
    """Put deliveries back to pending with a fresh attempt budget; returns how many.

    ``from_position`` re-sends everything from that position on (and creates deliveries the
    subscription never had, e.g. for events older than the subscription), in position order.
    """
    count = 0
    if from_position is not None:
        sub = await get_subscription(session, subscription_id)
        assert sub is not None
        result = await session.execute(
            text(
                "INSERT INTO webhook_deliveries (subscription_id, position, event_id, event_type)"
                " SELECT :sid, position, event_id, type FROM outbox_events"
                " WHERE position >= :from AND position <= :cursor AND type LIKE ANY(:patterns)"
                " ON CONFLICT (subscription_id, position) DO NOTHING"
            ),
            {
                "sid": subscription_id,
                "from": from_position,
                "cursor": sub.cursor,
                "patterns": like_patterns(sub.event_types or ["*"]),
            },
        )
        count += result.rowcount or 0
    result = await session.execute(
        text(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now()"
            " WHERE subscription_id = :sid AND status <> 'pending'"
            " AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY(CAST(:ids AS bigint[])))"
            " AND (CAST(:status AS text) IS NULL OR status = :status)"
            " AND (CAST(:from AS bigint) IS NULL OR position >= :from)"
        ),
        {"sid": subscription_id, "ids": delivery_ids, "status": status, "from": from_position},
    )
    count += result.rowcount or 0
    await session.commit()
    return count


# ---- the administration's use cases (``/api/v1/erp/webhooks``), each one transaction ----------------


class WebhookOut(msgspec.Struct, rename="camel", omit_defaults=True):
    """A subscription with its backlog, as the administration sees it (never its secret, but once)."""

    id: int
    name: str
    url: str
    event_types: list[str]
    active: bool
    max_attempts: int
    cursor: int
    pending: int = 0
    dead: int = 0
    delivered_upto: int = 0
    #: shown once, when the subscription is created
    secret: str | None = None


class ReplayOut(msgspec.Struct, rename="camel"):
    requeued: int


def check_subscription_input(url: str | None, event_types: list[str] | None) -> None:
    """The URL's scheme and each event filter, named by JSON pointer (before any DNS look-up)."""
    if url is not None and not url.startswith(("http://", "https://")):
        raise InvalidRecord("a webhook URL starts with http:// or https://", pointer="/url")
    for i, pattern in enumerate(event_types or []):
        if not valid_event_pattern(pattern):
            raise InvalidRecord(
                f"event type filter {pattern!r} is not a type like 'pick.confirmed.v1' or a prefix like 'pick.*'",
                pointer=f"/eventTypes/{i}",
            )


#: a subscription with its delivery counts, in one statement (``:id`` NULL: every subscription)
_WITH_BACKLOG = text(
    f"""
SELECT {", ".join("w." + c.strip() for c in _SUB_COLS.split(","))},
       count(d.id) FILTER (WHERE d.status = 'pending') AS pending,
       count(d.id) FILTER (WHERE d.status = 'dead') AS dead,
       coalesce(max(d.position) FILTER (WHERE d.status = 'delivered'), 0) AS delivered_upto
  FROM webhook_subscriptions w
  LEFT JOIN webhook_deliveries d ON d.subscription_id = w.id
 WHERE CAST(:id AS bigint) IS NULL OR w.id = :id
 GROUP BY w.id ORDER BY w.id"""
)


def _webhook_out(row, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        name=row.name,
        url=row.url,
        event_types=list(row.event_types or []),
        active=row.active,
        max_attempts=row.max_attempts,
        cursor=row.cursor,
        pending=row.pending,
        dead=row.dead,
        delivered_upto=row.delivered_upto,
        secret=secret,
    )


async def _webhook(session: AsyncSession, subscription_id: int, secret: str | None = None) -> WebhookOut:
    row = (await session.execute(_WITH_BACKLOG, {"id": subscription_id})).first()
    if row is None:
        raise UnknownWebhookSubscription(f"no webhook subscription {subscription_id}", subscription_id=subscription_id)
    return _webhook_out(row, secret)


async def _exists(session: AsyncSession, subscription_id: int, *, lock: bool = False) -> None:
    found = await session.scalar(
        text("SELECT id FROM webhook_subscriptions WHERE id = :id" + (" FOR UPDATE" if lock else "")),
        {"id": subscription_id},
    )
    if found is None:
        raise UnknownWebhookSubscription(f"no webhook subscription {subscription_id}", subscription_id=subscription_id)


async def subscribe(
    db: async_sessionmaker,
    *,
    name: str,
    url: str,
    event_types: list[str],
    max_attempts: int,
    from_position: int | None,
    allow_loopback: bool,
) -> WebhookOut:
    """Register a subscription; the answer carries its signing secret, the only time it is shown.

    The target is resolved and checked before the transaction opens: a slow DNS answer must not hold
    a transaction (and with it the outbox sequencer) open.
    """
    check_subscription_input(url, event_types)
    await resolve_target(url, allow_loopback=allow_loopback)
    try:
        async with db.begin() as session:
            sub = await create_subscription(
                session,
                name=name,
                url=url,
                event_types=event_types,
                max_attempts=max_attempts,
                from_position=from_position,
            )
            return await _webhook(session, sub.id, secret=sub.secret)
    except IntegrityError:
        raise WebhookNameTaken(f"a webhook subscription named {name!r} exists already", name=name) from None


async def webhooks(db: async_sessionmaker) -> list[WebhookOut]:
    async with db() as session:
        return [_webhook_out(r) for r in (await session.execute(_WITH_BACKLOG, {"id": None})).all()]


async def webhook(db: async_sessionmaker, subscription_id: int) -> WebhookOut:
    async with db() as session:
        return await _webhook(session, subscription_id)


#: what a PATCH may change, column by column (the statement is built from these names only)
_CHANGEABLE = ("url", "event_types", "max_attempts", "active")


async def change_subscription(
    db: async_sessionmaker,
    subscription_id: int,
    *,
    allow_loopback: bool,
    url: str | None = None,
    event_types: list[str] | None = None,
    max_attempts: int | None = None,
    active: bool | None = None,
) -> WebhookOut:
    """Change or pause a subscription (``None``: left as it is); a new URL is resolved and checked first."""
    check_subscription_input(url, event_types)
    if url is not None:
        await resolve_target(url, allow_loopback=allow_loopback)
    values = {"url": url, "event_types": event_types, "max_attempts": max_attempts, "active": active}
    changes = {k: values[k] for k in _CHANGEABLE if values[k] is not None}
    async with db.begin() as session:
        await _exists(session, subscription_id, lock=bool(changes))
        if changes:
            sets = ", ".join(f"{k} = :{k}" for k in changes)
            await session.execute(
                text(f"UPDATE webhook_subscriptions SET {sets} WHERE id = :id"), {**changes, "id": subscription_id}
            )
        return await _webhook(session, subscription_id)


async def remove_subscription(db: async_sessionmaker, subscription_id: int) -> None:
    """Deliveries and attempts go with it (``ON DELETE CASCADE``)."""
    async with db.begin() as session:
        gone = await session.scalar(
            text("DELETE FROM webhook_subscriptions WHERE id = :id RETURNING id"), {"id": subscription_id}
        )
        if gone is None:
            raise UnknownWebhookSubscription(
                f"no webhook subscription {subscription_id}", subscription_id=subscription_id
            )


async def deliveries(
    db: async_sessionmaker, subscription_id: int, *, status: str | None, after: int, limit: int
) -> list[DeliveryOut]:
    async with db() as session:
        await _exists(session, subscription_id)
        return await list_deliveries(session, subscription_id, status=status, after=after, limit=limit)


async def delivery(db: async_sessionmaker, delivery_id: int) -> DeliveryOut:
    """One delivery with every attempt."""
    async with db() as session:
        found = await get_delivery(session, delivery_id)
    if found is None:
        raise UnknownWebhookDelivery(f"no webhook delivery {delivery_id}", delivery_id=delivery_id)
    return found


async def send_again(
    db: async_sessionmaker,
    subscription_id: int,
    *,
    delivery_ids: list[int] | None,
    status: str | None,
    from_position: int | None,
) -> ReplayOut:
    """Re-send chosen deliveries, those in a state, or everything from a position; asked for nothing of
    these, every dead letter (what an operator means after fixing the receiver)."""
    if not (status or delivery_ids or from_position is not None):
        status = "dead"
    async with db() as session:
        await _exists(session, subscription_id)
        n = await replay(
            session, subscription_id, delivery_ids=delivery_ids, status=status, from_position=from_position
        )
    return ReplayOut(requeued=n)
