"""ERP out, pull side and administration.

- ``GET /api/v1/erp/events?after=&limit=``: NDJSON, one event per line, in position order, for ETL
  pulls; the response header ``udipick-next-after`` is the cursor for the next call.
- ``GET /api/v1/erp/stock?format=csv|ndjson``: the stock snapshot (item, lot, serial, location,
  status) with ``udipick-as-of-position``: the figures include exactly the events up to it.
- ``POST /api/v1/erp/stock/reconciliation``: the ERP's figures in, the differences out.
- ``/api/v1/erp/webhooks...``: subscriptions, deliveries, attempts, replay (admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import JSONBody, Parameter
from litestar.response import Response

from udipick.api.deps import AppSettings, Db, allow
from udipick.domain.csv_cells import csv_text
from udipick.services import exports, outbox, webhooks
from udipick.services.outbox import StreamSubscriberOut
from udipick.services.webhooks import DeliveryOut, ReplayOut, WebhookOut

ERP_READ = allow("admin", scopes=("erp:read",))
#: the stock snapshot: also for the people who run the floor and its quality (issue 17: a supervisor got 403)
STOCK_READ = allow("admin", "supervisor", "qa", scopes=("erp:read",))
ADMIN = allow("admin", scopes=("admin",))
NDJSON = "application/x-ndjson"
CSV = "text/csv"

#: the pulls' cursor, in a header so the body stays one event per line
NEXT_AFTER = ResponseHeader(
    name="udipick-next-after",
    documentation_only=True,
    description="send as `after` for the next page: the last position in this page, or `after` itself when it is empty",
)
AS_OF_POSITION = ResponseHeader(
    name="udipick-as-of-position",
    documentation_only=True,
    description="the figures include exactly the events up to this position: apply the stream from there on",
)
AS_OF_EXACT = ResponseHeader(
    name="udipick-as-of-exact",
    documentation_only=True,
    description="`false` only when events kept committing faster than a quiet moment could be found",
)


#: ``after`` on the pulls: read as text and parsed by ``domain.cursor`` (ASCII digits, 0 to the head), so a
#: position udipick never gave out is refused as ``invalid-cursor`` instead of being read generously
AFTER = Parameter(
    description="last stream position the caller has: ASCII digits, 0 (everything) to the newest position;"
    " anything else is refused with 422 invalid-cursor",
)


@get(
    "/events",
    name="erp_events_batch",
    summary="Events after a position (NDJSON)",
    media_type=NDJSON,
    response_description="One StreamEvent per line (NDJSON), in position order; empty when nothing is newer.",
    response_headers=[NEXT_AFTER],
    **ERP_READ,
)
async def events_batch(
    db: Db,
    after: Annotated[str, AFTER] = "0",
    limit: Annotated[int, Parameter(ge=1, le=10000)] = 1000,
) -> Response[outbox.StreamEvent]:
    page = await outbox.events_after(db, after, limit)
    body = b"".join(outbox.ENCODER.encode(e) + b"\n" for e in page.events)
    return Response(body, media_type=NDJSON, headers={NEXT_AFTER.name: str(page.next_after)})


# ---- stock snapshot and reconciliation ---------------------------------------------------------------


@dataclass
class _AlsoCsv(Operation):
    """The snapshot's 200 in both its media types: NDJSON (one ``StockRow`` a line, the default) and,
    with ``format=csv``, CSV whose header row is the same fields."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and not isinstance(ok, dict) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="header row: " + ",".join(exports.FIELDS))
            )


@get(
    "/stock",
    name="erp_stock_snapshot",
    summary="Stock snapshot (CSV or NDJSON)",
    media_type=NDJSON,
    response_description="One StockRow per line (NDJSON); with format=csv, CSV with the same fields.",
    response_headers=[AS_OF_POSITION, AS_OF_EXACT],
    operation_class=_AlsoCsv,
    **STOCK_READ,
)
async def stock_snapshot(db: Db, format: Literal["csv", "ndjson"] = "ndjson") -> Response[exports.StockRow]:
    snap = await exports.stock_snapshot(db)
    headers = {AS_OF_POSITION.name: str(snap.as_of_position), AS_OF_EXACT.name: str(snap.exact).lower()}
    if format == "ndjson":
        return Response(b"".join(msgspec.json.encode(r) + b"\n" for r in snap.rows), media_type=NDJSON, headers=headers)
    rows = ([getattr(r, f) for f in r.__struct_fields__] for r in snap.rows)
    # ``text/csv`` alone: Litestar appends ``; charset=utf-8`` to every text/* media type itself
    return Response(
        csv_text(exports.FIELDS, rows),
        media_type=CSV,
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
    return await exports.reconcile_stock(
        db, data.lines, group_by=list(data.group_by), only_listed_items=data.only_listed_items
    )


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


class ReplayIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    delivery_ids: list[int] | None = None
    status: Literal["dead", "delivered"] | None = None
    from_position: Annotated[int, msgspec.Meta(ge=0)] | None = None


@post("/webhooks", name="erp_webhook_create", summary="Subscribe a URL to events", **ADMIN)
async def create_webhook(data: JSONBody[WebhookIn], db: Db, settings: AppSettings) -> WebhookOut:
    """The response carries the signing secret (``whsec_...``) once; store it in the ERP. A URL whose host
    is or resolves to a loopback, link-local, unspecified or multicast address is refused (422
    ``webhook-target-refused``); loopback only with ``UDIPICK_WEBHOOK_ALLOW_LOOPBACK=1``."""
    return await webhooks.subscribe(
        db,
        name=data.name,
        url=data.url,
        event_types=data.event_types,
        max_attempts=data.max_attempts,
        from_position=data.from_position,
        allow_loopback=settings.webhook_allow_loopback,
    )


@get("/webhooks", name="erp_webhook_list", summary="Webhook subscriptions and their backlog", **ADMIN)
async def list_webhooks(db: Db) -> list[WebhookOut]:
    return await webhooks.webhooks(db)


@get("/webhooks/{subscription_id:int}", name="erp_webhook_get", summary="One webhook subscription", **ADMIN)
async def get_webhook(subscription_id: int, db: Db) -> WebhookOut:
    return await webhooks.webhook(db, subscription_id)


def _unset_as_none(value):
    return None if value is msgspec.UNSET else value


@patch("/webhooks/{subscription_id:int}", name="erp_webhook_update", summary="Change or pause a subscription", **ADMIN)
async def update_webhook(
    subscription_id: int, data: JSONBody[WebhookPatch], db: Db, settings: AppSettings
) -> WebhookOut:
    return await webhooks.change_subscription(
        db,
        subscription_id,
        allow_loopback=settings.webhook_allow_loopback,
        url=_unset_as_none(data.url),
        event_types=_unset_as_none(data.event_types),
        max_attempts=_unset_as_none(data.max_attempts),
        active=_unset_as_none(data.active),
    )


@delete("/webhooks/{subscription_id:int}", name="erp_webhook_delete", summary="Remove a subscription", **ADMIN)
async def delete_webhook(subscription_id: int, db: Db) -> None:
    await webhooks.remove_subscription(db, subscription_id)


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
) -> list[DeliveryOut]:
    return await webhooks.deliveries(db, subscription_id, status=status, after=after, limit=limit)


@get(
    "/webhooks/deliveries/{delivery_id:int}",
    name="erp_webhook_delivery",
    summary="One delivery with every attempt",
    **ADMIN,
)
async def get_webhook_delivery(delivery_id: int, db: Db) -> DeliveryOut:
    return await webhooks.delivery(db, delivery_id)


@post(
    "/webhooks/{subscription_id:int}/replay",
    name="erp_webhook_replay",
    status_code=200,
    summary="Send deliveries again (dead letters, chosen ids, or everything from a position)",
    **ADMIN,
)
async def replay_webhook(subscription_id: int, data: JSONBody[ReplayIn], db: Db) -> ReplayOut:
    """An empty body re-sends every dead delivery."""
    return await webhooks.send_again(
        db, subscription_id, delivery_ids=data.delivery_ids, status=data.status, from_position=data.from_position
    )


# ---- stream subscribers ------------------------------------------------------------------------------


@get(
    "/stream/subscribers",
    name="erp_stream_subscribers",
    summary="WebSocket subscribers and how far behind they are",
    **ADMIN,
)
async def stream_subscribers(db: Db) -> list[StreamSubscriberOut]:
    return await outbox.stream_subscribers(db)


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
