"""ERP out, pull side and administration.

- ``GET /api/v1/erp/events?after=&limit=``: NDJSON, one event per line, in position order, for ETL
  pulls; the response header ``udipick-next-after`` is the cursor for the next call.
- ``GET /api/v1/erp/stock?format=csv|ndjson``: the stock snapshot (item, lot, serial, location,
  status) with ``udipick-as-of-position``: the figures include exactly the events up to it.
- ``POST /api/v1/erp/stock/reconciliation``: the ERP's figures in, the differences out.
- ``/api/v1/erp/webhooks...``: subscriptions, deliveries, attempts, replay (admin).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.params import JSONBody, Parameter
from litestar.response import Response
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from udipick.api.deps import AppSettings, Db, allow
from udipick.domain.cursor import parse_cursor
from udipick.domain.csv_cells import csv_text
from udipick.domain.errors import (
    InvalidRecord,
    UnknownWebhookDelivery,
    UnknownWebhookSubscription,
    WebhookNameTaken,
)
from udipick.services import exports, outbox, webhooks

ERP_READ = allow("admin", scopes=("erp:read",))
ADMIN = allow("admin", scopes=("admin",))
NDJSON = "application/x-ndjson"


#: ``after`` on the pulls: read as text and parsed by ``domain.cursor`` (ASCII digits, 0 to the head), so a
#: position udipick never gave out is refused as ``invalid-cursor`` instead of being read generously
AFTER = Parameter(
    description="last stream position the caller has: ASCII digits, 0 (everything) to the newest position;"
    " anything else is refused with 422 invalid-cursor",
)


@get("/events", name="erp_events_batch", summary="Events after a position (NDJSON)", **ERP_READ)
async def events_batch(
    db: Db,
    after: Annotated[str, AFTER] = "0",
    limit: Annotated[int, Parameter(ge=1, le=10000)] = 1000,
) -> Response:
    head = await outbox.sequence_now(db)
    position = parse_cursor(after, head=head)
    async with db() as session:
        events = await outbox.read_after(session, position, limit)
    body = b"".join(outbox.ENCODER.encode(e) + b"\n" for e in events)
    next_after = events[-1].position if events else position
    return Response(body, media_type=NDJSON, headers={"udipick-next-after": str(next_after)})


# ---- stock snapshot and reconciliation ---------------------------------------------------------------


@get("/stock", name="erp_stock_snapshot", summary="Stock snapshot (CSV or NDJSON)", **ERP_READ)
async def stock_snapshot(db: Db, format: Literal["csv", "ndjson"] = "ndjson") -> Response:
    snap = await exports.stock_snapshot(db)
    headers = {"udipick-as-of-position": str(snap.as_of_position), "udipick-as-of-exact": str(snap.exact).lower()}
    if format == "ndjson":
        return Response(b"".join(msgspec.json.encode(r) + b"\n" for r in snap.rows), media_type=NDJSON, headers=headers)
    rows = ([getattr(r, f) for f in r.__struct_fields__] for r in snap.rows)
    # ``text/csv`` alone: Litestar appends ``; charset=utf-8`` to every text/* media type itself
    return Response(
        csv_text(exports.FIELDS, rows),
        media_type="text/csv",
        headers={**headers, "content-disposition": 'attachment; filename="udipick-stock.csv"'},
    )


class ReconciliationIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    lines: list[exports.ErpStockLine]
    #: item is always compared; add any of lot, serial, location, status
    group_by: list[Literal["lot", "serial", "location", "status"]] = msgspec.field(default_factory=lambda: ["lot"])
    #: compare only items that appear in ``lines`` (a partial ERP export) instead of all stock
    only_listed_items: bool = False


#: the ERP's whole stock list, decoded at once: about 500,000 lines (other JSON bodies: UDIPICK_MAX_BODY_BYTES)
RECONCILIATION_MAX_BODY = 32 << 20


@post(
    "/stock/reconciliation",
    name="erp_stock_reconciliation",
    status_code=200,
    summary="Compare ERP stock",
    request_max_body_size=RECONCILIATION_MAX_BODY,
    **ERP_READ,
)
async def stock_reconciliation(data: JSONBody[ReconciliationIn], db: Db) -> exports.Reconciliation:
    snap = await exports.stock_snapshot(db)
    return exports.reconcile(snap, data.lines, group_by=list(data.group_by), only_listed_items=data.only_listed_items)


# ---- webhooks ---------------------------------------------------------------------------------------


class WebhookIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
    event_types: list[str] = msgspec.field(default_factory=list)
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 12
    #: start after this position (history); default: only events from now on
    from_position: Annotated[int, msgspec.Meta(ge=0)] | None = None


class WebhookPatch(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)] | msgspec.UnsetType = msgspec.UNSET
    event_types: list[str] | msgspec.UnsetType = msgspec.UNSET
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class WebhookOut(msgspec.Struct, rename="camel", omit_defaults=True):
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


class ReplayIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    delivery_ids: list[int] | None = None
    status: Literal["dead", "delivered"] | None = None
    from_position: Annotated[int, msgspec.Meta(ge=0)] | None = None


class ReplayOut(msgspec.Struct, rename="camel"):
    requeued: int


def _check_webhook(url: str | None, event_types: list[str] | None) -> None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise InvalidRecord("a webhook URL starts with http:// or https://", pointer="/url")
    for i, pattern in enumerate(event_types or []):
        if not webhooks.valid_event_pattern(pattern):
            raise InvalidRecord(
                f"event type filter {pattern!r} is not a type like 'pick.confirmed.v1' or a prefix like 'pick.*'",
                pointer=f"/eventTypes/{i}",
            )


async def _out(session, sub: webhooks.Subscription, secret: str | None = None) -> WebhookOut:
    counts = (
        await session.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead,"
                " coalesce(max(position) FILTER (WHERE status = 'delivered'), 0) AS delivered_upto"
                " FROM webhook_deliveries WHERE subscription_id = :id"
            ),
            {"id": sub.id},
        )
    ).one()
    return WebhookOut(
        id=sub.id,
        name=sub.name,
        url=sub.url,
        event_types=list(sub.event_types or []),
        active=sub.active,
        max_attempts=sub.max_attempts,
        cursor=sub.cursor,
        pending=counts.pending,
        dead=counts.dead,
        delivered_upto=counts.delivered_upto,
        secret=secret,
    )


@post("/webhooks", name="erp_webhook_create", summary="Subscribe a URL to events", **ADMIN)
async def create_webhook(data: JSONBody[WebhookIn], db: Db, settings: AppSettings) -> WebhookOut:
    """The response carries the signing secret (``whsec_...``) once; store it in the ERP. A URL whose host
    is or resolves to a loopback, link-local, unspecified or multicast address is refused (422
    ``webhook-target-refused``); loopback only with ``UDIPICK_WEBHOOK_ALLOW_LOOPBACK=1``."""
    _check_webhook(data.url, data.event_types)
    await webhooks.resolve_target(data.url, allow_loopback=settings.webhook_allow_loopback)
    async with db() as session:
        try:
            sub = await webhooks.create_subscription(
                session,
                name=data.name,
                url=data.url,
                event_types=data.event_types,
                max_attempts=data.max_attempts,
                from_position=data.from_position,
            )
            await session.commit()
        except IntegrityError:
            raise WebhookNameTaken(f"a webhook subscription named {data.name!r} exists already", name=data.name) from None
        return await _out(session, sub, secret=sub.secret)


@get("/webhooks", name="erp_webhook_list", summary="Webhook subscriptions and their backlog", **ADMIN)
async def list_webhooks(db: Db) -> list[WebhookOut]:
    async with db() as session:
        return [await _out(session, s) for s in await webhooks.list_subscriptions(session)]


async def _subscription(session, subscription_id: int) -> webhooks.Subscription:
    sub = await webhooks.get_subscription(session, subscription_id)
    if sub is None:
        raise UnknownWebhookSubscription(f"no webhook subscription {subscription_id}", subscription_id=subscription_id)
    return sub


@get("/webhooks/{subscription_id:int}", name="erp_webhook_get", summary="One webhook subscription", **ADMIN)
async def get_webhook(subscription_id: int, db: Db) -> WebhookOut:
    async with db() as session:
        return await _out(session, await _subscription(session, subscription_id))


@patch("/webhooks/{subscription_id:int}", name="erp_webhook_update", summary="Change or pause a subscription", **ADMIN)
async def update_webhook(subscription_id: int, data: JSONBody[WebhookPatch], db: Db, settings: AppSettings) -> WebhookOut:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    _check_webhook(changes.get("url"), changes.get("event_types"))
    if "url" in changes:
        await webhooks.resolve_target(changes["url"], allow_loopback=settings.webhook_allow_loopback)
    async with db() as session:
        await _subscription(session, subscription_id)
        if changes:
            sets = ", ".join(f"{k} = :{k}" for k in changes)
            await session.execute(text(f"UPDATE webhook_subscriptions SET {sets} WHERE id = :id"), {**changes, "id": subscription_id})
            await session.commit()
        return await _out(session, await _subscription(session, subscription_id))


@delete("/webhooks/{subscription_id:int}", name="erp_webhook_delete", summary="Remove a subscription", **ADMIN)
async def delete_webhook(subscription_id: int, db: Db) -> None:
    async with db() as session:
        await _subscription(session, subscription_id)
        await session.execute(text("DELETE FROM webhook_subscriptions WHERE id = :id"), {"id": subscription_id})
        await session.commit()


@get(
    "/webhooks/{subscription_id:int}/deliveries",
    name="erp_webhook_deliveries",
    summary="Deliveries of a subscription (filter by status)",
    **ADMIN,
)
async def list_webhook_deliveries(
    subscription_id: int,
    db: Db,
    status: Literal["pending", "delivered", "dead"] | None = None,
    after: Annotated[int, Parameter(ge=0)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
) -> list[webhooks.DeliveryOut]:
    async with db() as session:
        await _subscription(session, subscription_id)
        return await webhooks.list_deliveries(session, subscription_id, status=status, after=after, limit=limit)


@get("/webhooks/deliveries/{delivery_id:int}", name="erp_webhook_delivery", summary="One delivery with every attempt", **ADMIN)
async def get_webhook_delivery(delivery_id: int, db: Db) -> webhooks.DeliveryOut:
    async with db() as session:
        delivery = await webhooks.get_delivery(session, delivery_id)
    if delivery is None:
        raise UnknownWebhookDelivery(f"no webhook delivery {delivery_id}", delivery_id=delivery_id)
    return delivery


@post(
    "/webhooks/{subscription_id:int}/replay",
    name="erp_webhook_replay",
    status_code=200,
    summary="Send deliveries again (dead letters, chosen ids, or everything from a position)",
    **ADMIN,
)
async def replay_webhook(subscription_id: int, data: JSONBody[ReplayIn], db: Db) -> ReplayOut:
    """An empty body re-sends every dead delivery."""
    status = data.status if (data.status or data.delivery_ids or data.from_position is not None) else "dead"
    async with db() as session:
        await _subscription(session, subscription_id)
        n = await webhooks.replay(
            session, subscription_id, delivery_ids=data.delivery_ids, status=status, from_position=data.from_position
        )
    return ReplayOut(requeued=n)


# ---- stream subscribers ------------------------------------------------------------------------------


class StreamSubscriberOut(msgspec.Struct, rename="camel"):
    owner: str
    name: str
    acked_position: int
    lag: int


@get("/stream/subscribers", name="erp_stream_subscribers", summary="WebSocket subscribers and how far behind they are", **ADMIN)
async def stream_subscribers(db: Db) -> list[StreamSubscriberOut]:
    async with db() as session:
        head = await outbox.head_position(session)
        rows = (await session.execute(text("SELECT owner, name, acked_position FROM stream_subscribers ORDER BY owner, name"))).all()
    return [StreamSubscriberOut(r.owner, r.name, r.acked_position, max(0, head - r.acked_position)) for r in rows]


events_router = Router(
    path="/api/v1/erp",
    route_handlers=[
        events_batch,
        stock_snapshot,
        stock_reconciliation,
        create_webhook,
        list_webhooks,
        get_webhook,
        update_webhook,
        delete_webhook,
        list_webhook_deliveries,
        get_webhook_delivery,
        replay_webhook,
        stream_subscribers,
    ],
    tags=["ERP outbound"],
)
