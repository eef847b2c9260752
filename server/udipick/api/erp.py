"""ERP inbound API: ``/api/v1/erp/<kind>`` (one record, JSON) and ``/api/v1/erp/<kind>/bulk`` (NDJSON).

A bulk body is read as a stream, a slice of lines at a time, so an initial load of 100,000 items
never sits in memory whole; each slice is written (committed) as it fills. Every non-blank line gets
one verdict: accepted lines in ``results`` (created / updated / unchanged, with the record's id),
refused ones in ``problems`` as RFC 9457 problems with their line number and a pointer to the bad
field, whatever the line holds (JSON too deep, a line over ``bulk_max_line_bytes``, a value
PostgreSQL cannot store). If the load stops part-way (the body passes ``bulk_max_body_bytes``, or a
fault of udipick's or the database's), the problem says so and still carries the verdicts on every
line read, since earlier slices are committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Router, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import Response
from msgspec import Meta
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.api.openapi import problem_responses
from udipick.api.problems import problem_response
from udipick.api.request import refuse_deep_json
from udipick.config import Settings
from udipick.domain.access import Actor
from udipick.domain.errors import (
    BodyTooLarge,
    BulkLoadInterrupted,
    DomainError,
    JsonTooDeep,
    LineTooLong,
)
from udipick.domain.json_input import Line, NdjsonLines
from udipick.domain.problem import problem_body
from udipick.services import erp_inbound as svc
from udipick.services import returns as returns_svc
from udipick.services import stock_view, wave_control
from udipick.services.receiving import cancel as receiving_cancel

ERP_WRITE = allow("admin", scopes=("erp:write",))

#: the problem codes an upsert of one record can answer, by status (``tests/api/test_openapi.py`` checks
#: them against what ``services/erp_inbound.py`` raises); a bulk load answers the same per line, in its body
UPSERT_PROBLEMS: dict[int | str, tuple[str, str]] = {
    400: ("The record cannot be read", "invalid-request json-too-deep invalid-gln"),
    409: (
        "The version is older than the one udipick holds, or the one it holds with other content, or the"
        " document can no longer change",
        "stale-version version-reused conflict",
    ),
    422: ("A rule refused the record; `pointer` names the field", "invalid-record invalid-gtin"),
}
#: a bulk load as a whole (its lines' refusals are in the 200 answer's ``problems``)
BULK_PROBLEMS: dict[int | str, tuple[str, str]] = {
    413: ("The body is over `bulkMaxBodyBytes`; the lines read before it are answered", "body-too-large"),
    500: (
        "udipick stopped part-way; the lines read are answered, resend from `uncertainFromLine`",
        "bulk-interrupted",
    ),
}


def _documented(problems: dict[int | str, tuple[str, str]]) -> dict[int | str, ResponseSpec]:
    return problem_responses(
        {
            status: f"{what}: " + ", ".join(f"`{c}`" for c in codes.split()) + "."
            for status, (what, codes) in problems.items()
        }
    )


#: an upsert answers 201 when it created the record, 200 when it updated it or changed nothing (a replay)
UPSERT_ONE = {
    **ERP_WRITE,
    "responses": {
        200: ResponseSpec(
            svc.UpsertResult,
            description="Updated, or unchanged (a replay of the version udipick holds, with its content): `id` is the record's",
            generate_examples=False,
        ),
        **_documented(UPSERT_PROBLEMS),
    },
}
SLICE = 5000
log = logging.getLogger("udipick.api")


@dataclass(frozen=True)
class Kind:
    path: str
    record: type[msgspec.Struct]
    upsert: Callable[[async_sessionmaker, list[tuple[int, Any]], Actor, Settings], Awaitable[svc.Tally]]


KINDS = [
    Kind("items", svc.ItemIn, lambda db, recs, actor, s: svc.upsert_master(db, svc.ITEMS, recs, actor)),
    Kind("customers", svc.CustomerIn, lambda db, recs, actor, s: svc.upsert_master(db, svc.CUSTOMERS, recs, actor)),
    Kind("suppliers", svc.SupplierIn, lambda db, recs, actor, s: svc.upsert_master(db, svc.SUPPLIERS, recs, actor)),
    Kind(
        "locations",
        svc.LocationIn,
        lambda db, recs, actor, s: svc.upsert_locations(db, recs, actor, barcode_prefix=s.location_prefix),
    ),
    Kind(
        "purchase-orders", svc.PurchaseOrderIn, lambda db, recs, actor, s: svc.upsert_purchase_orders(db, recs, actor)
    ),
    Kind("sales-orders", svc.SalesOrderIn, lambda db, recs, actor, s: svc.upsert_sales_orders(db, recs, actor)),
    Kind(
        "returns",
        returns_svc.ReturnAuthorizationIn,
        lambda db, recs, actor, s: returns_svc.upsert_rmas(db, recs, actor),
    ),
    Kind(
        "stock-levels",
        stock_view.StockLevelIn,
        lambda db, recs, actor, s: stock_view.upsert_stock_levels(db, recs, actor),
    ),
]


def _handlers(kind: Kind, bulk_max_body_bytes: int) -> list:
    decoder = msgspec.json.Decoder(kind.record)
    name = kind.path.replace("-", "_")

    async def upsert_one(
        data: kind.record,
        db: Db,
        actor: CurrentActor,
        settings: AppSettings,
    ) -> Response[svc.UpsertResult]:
        tally = await kind.upsert(db, [(1, data)], actor, settings)
        if tally.refusals:
            raise tally.refusals[0].error
        result = tally.results[0]
        return Response(msgspec.to_builtins(result), status_code=201 if result.status == "created" else 200)

    async def upsert_bulk(
        request: Request, db: Db, actor: CurrentActor, settings: AppSettings
    ) -> Response[svc.BulkSummary]:
        load = _BulkLoad(kind, decoder, db, actor, settings)
        error: DomainError | None = None
        try:
            try:
                await load.read(request.stream(), settings.bulk_max_line_bytes)
            except RequestEntityTooLarge:
                # announced too long (nothing read), or passed part-way through a body sent without a
                # length: the lines read before it are kept and answered like any others
                limit = settings.bulk_max_body_bytes
                done = (
                    f"lines up to {load.last_line} were read and are answered here; the rest of the body was not read"
                    if load.last_line
                    else "nothing was read or changed"
                )
                error = BodyTooLarge(
                    f"the body is over {limit} bytes, the most a bulk load takes; {done}",
                    maxBytes=limit,
                    lastLineRead=load.last_line,
                )
            await load.flush()
        except Exception:  # a fault of ours or the database's: answered line by line, never as "nothing was changed"
            request_id = str(uuid.uuid4())
            log.exception("bulk load interrupted", extra={"request_id": request_id, "path": request.url.path})
            error = BulkLoadInterrupted(
                f"udipick stopped at line {load.uncertain_from}: lines before it were stored or refused as listed here;"
                f" lines {load.uncertain_from} to {load.uncertain_to} may or may not be stored and later lines were not read."
                " Send those lines again (a replay changes nothing). Quote the request id to support.",
                uncertainFromLine=load.uncertain_from,
                uncertainToLine=load.uncertain_to,
                requestId=request_id,
            )
        if error is not None:
            return load.answer(error, instance=request.url.path)
        return Response(load.total.summary(load.received))

    upsert_one.__annotations__["data"] = JSONBody[kind.record]  # type: ignore[misc, name-defined]  # the body type is each ERP kind's record, chosen at run time
    one = post(f"/{kind.path}", name=f"erp_{name}_upsert", summary=f"Upsert one {kind.path[:-1]}", **UPSERT_ONE)(
        upsert_one
    )
    bulk = post(
        f"/{kind.path}/bulk",
        name=f"erp_{name}_bulk",
        summary=f"Bulk upsert {kind.path} (NDJSON, one record per line)",
        status_code=200,
        request_max_body_size=bulk_max_body_bytes,
        response_description="One verdict per non-blank line: accepted lines in `results`, refused lines in `problems`",
        responses=_documented(BULK_PROBLEMS),
        **ERP_WRITE,
    )(upsert_bulk)
    return [one, bulk]


class _BulkLoad:
    """One bulk load in progress: lines read, decoded a slice at a time, each slice written as it fills.

    Everything it knows is kept so that however the load ends (the last line, a body over the limit,
    a database fault) the answer says truthfully what happened to every line read.
    """

    def __init__(self, kind: Kind, decoder: msgspec.json.Decoder, db: Any, actor: Actor, settings: Settings) -> None:
        self.kind, self.decoder, self.db, self.actor, self.settings = kind, decoder, db, actor, settings
        self.total = svc.Tally()
        self.received = 0
        self.last_line = 0
        self.batch: list[tuple[int, Any]] = []
        #: lines whose fate is unknown if a write fails: the slice being written (or waiting)
        self.uncertain_from = 1
        self.uncertain_to = 0

    async def read(self, stream: AsyncIterator[bytes], max_line_bytes: int) -> None:
        lines = NdjsonLines(max_line_bytes)
        async for chunk in stream:
            for line in lines.feed(chunk):
                await self._take(line)
            # a body that arrives faster than it is written must not hold the event loop
            await asyncio.sleep(0)
        for line in lines.close():
            await self._take(line)

    async def _take(self, line: Line) -> None:
        self.last_line = line.number
        self.uncertain_to = line.number
        if line.raw is None:
            self.received += 1
            limit = self.settings.bulk_max_line_bytes
            self.total.refusals.append(
                svc.Refusal(
                    line.number,
                    LineTooLong(
                        f"line {line.number} has {line.length} bytes, over the {limit} a bulk load takes per line; it was not read",
                        pointer="",
                        lineBytes=line.length,
                        maxLineBytes=limit,
                    ),
                )
            )
        elif line.raw.strip():
            self.received += 1
            try:
                refuse_deep_json(line.raw, pointer="")
                self.batch.append((line.number, self.decoder.decode(line.raw)))
            except JsonTooDeep as exc:
                self.total.refusals.append(svc.Refusal(line.number, exc))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:  # invalid UTF-8 included
                self.total.refusals.append(svc.Refusal(line.number, svc.decode_error(exc)))
        if len(self.batch) >= SLICE:
            await self.flush()

    async def flush(self) -> None:
        """Write the lines decoded since the last slice."""
        if self.batch:
            self.total.merge(await self.kind.upsert(self.db, self.batch, self.actor, self.settings))
            self.batch = []
        self.uncertain_from = self.last_line + 1

    def answer(self, error: DomainError, *, instance: str) -> Response:
        """A problem for the whole request, with the verdicts on every line read so far as extension members."""
        body = {**problem_body(error, instance=instance), **msgspec.to_builtins(self.total.summary(self.received))}
        return problem_response(body)


class CancelIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


@post("/sales-orders/{erp_id:str}/cancel", status_code=200, summary="Cancel a sales order", **ERP_WRITE)
async def cancel_sales_order(
    erp_id: str, data: JSONBody[CancelIn], db: Db, actor: CurrentActor
) -> wave_control.Cancelled:
    """The ERP cancelled the order: its picking stops, reservations are released, picked units get put-back
    tasks and ``order.cancelled.v1`` (``source``: ``erp``) is sent, as for a supervisor's cancel."""
    return await svc.cancel_sales_order(db, actor, erp_id, data.reason)


@post(
    "/purchase-orders/{erp_id:str}/cancel",
    status_code=200,
    summary="Cancel a purchase order",
    responses=problem_responses(
        {
            404: "No purchase order or ASN with this ERP id: `purchase-order-not-found`.",
            409: "A receipt against it is open at the dock (`receipt-in-progress`, naming the open receipts):"
            " send the cancel again once it is closed.",
        }
    ),
    **ERP_WRITE,
)
async def cancel_purchase_order(
    erp_id: str, data: JSONBody[CancelIn], db: Db, actor: CurrentActor
) -> receiving_cancel.PurchaseOrderCancel:
    """The ERP cancelled the purchase order (or ASN): nothing more is received against it. It ends
    ``cancelled``, or ``closed`` when units were received (they stay on the books), and
    ``purchase-order.cancelled.v1`` is sent. A repeat, or a cancel of a closed one, changes nothing and
    answers ``changed: false``."""
    return await receiving_cancel.cancel_purchase_order(db, actor, erp_id, data.reason)


def erp_inbound_router(settings: Settings) -> Router:
    """The ERP inbound routes; bulk loads take bodies up to ``settings.bulk_max_body_bytes``."""
    handlers = [h for k in KINDS for h in _handlers(k, settings.bulk_max_body_bytes)]
    handlers += [cancel_sales_order, cancel_purchase_order]
    return Router(path="/api/v1/erp", route_handlers=handlers, tags=["ERP inbound"])
