"""``POST /api/v1/erp/stock/opening-balances``: the old system's stock at go-live (NDJSON, ``erp:write``).

The body is read as a stream and checked line by line (``services/opening.py``); the whole load is one
transaction. ``loadId`` (or an ``Idempotency-Key`` header) names the load: the same load sent again gets
its first answer and books nothing twice. ``dryRun=true`` answers every problem and writes nothing;
``replace=true`` books out the stock already at the load's locations (``adjust``, with the load's reason)
instead of refusing the load.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from typing import Annotated

from litestar import Request, Router, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import HeaderParameter, QueryParameter

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.api.request import refuse_deep_json
from udipick.domain import errors as e
from udipick.domain.json_input import NdjsonLines
from udipick.services import opening as svc


@post(
    "/stock/opening-balances",
    name="erp_opening_balances",
    summary="Book go-live opening balances (NDJSON, one stock line per line)",
    status_code=200,
    request_max_body_size=None,
    response_description="The load's verdict: booked (or, for a dry run, what would be), with every problem per line",
    **allow("admin", scopes=("erp:write",)),
)
async def opening_balances(
    request: Request,
    db: Db,
    actor: CurrentActor,
    settings: AppSettings,
    load_id: Annotated[
        str | None,
        QueryParameter(
            name="loadId", min_length=1, max_length=64, description="names the load; a repeat books nothing"
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        HeaderParameter(name="Idempotency-Key", min_length=1, max_length=64, description="the same as loadId"),
    ] = None,
    dry_run: Annotated[bool, QueryParameter(name="dryRun", description="check every line, write nothing")] = False,
    replace: Annotated[
        bool, QueryParameter(name="replace", description="book out stock already at the load's locations first")
    ] = False,
) -> svc.OpeningSummary:
    """Each line: ``item`` (ERP id or GTIN), ``location`` (code or barcode), ``lot``, ``expiry``,
    ``productionDate``, ``serials``, ``quantity``, ``status`` (``available``, ``quarantine``, ``hold`` with
    ``reason``, ``expired``). Expired units (expiry before today, or ``status`` ``expired``) are booked
    ``expired`` (blocked) whatever the line says. A load with any problem books nothing and is answered
    ``opening-load-refused`` with the problems; into locations that hold stock, ``location-holds-stock``
    unless ``replace=true``."""
    key = load_id or idempotency_key
    if not key:
        raise e.InvalidRecord("name the load: loadId (query) or an Idempotency-Key header", pointer="/loadId")
    if load_id and idempotency_key and load_id != idempotency_key:
        raise e.InvalidRecord("loadId and Idempotency-Key name different loads", pointer="/loadId")
    digest = hashlib.sha256()
    limit = settings.bulk_max_line_bytes
    async with db() as session:
        load = svc.OpeningLoad(session, actor, load_id=key, today=dt.date.today(), dry_run=dry_run, replace=replace)
        await load.start()
        lines = NdjsonLines(limit)
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.bulk_max_body_bytes:
                    raise RequestEntityTooLarge()
                digest.update(chunk)
                for line in lines.feed(chunk):
                    await _take(load, line, limit)
                await asyncio.sleep(0)
        except RequestEntityTooLarge:
            raise e.BodyTooLarge(
                f"the body is over {settings.bulk_max_body_bytes} bytes, the most a load takes: nothing was booked",
                maxBytes=settings.bulk_max_body_bytes,
            ) from None
        for line in lines.close():
            await _take(load, line, limit)
        summary = await load.finish(digest.hexdigest())
        if not dry_run and not summary.replayed:
            await session.commit()
    # a dry run (or a repeat) leaves the session without a commit: closing it rolls back
    return summary


async def _take(load: svc.OpeningLoad, line, limit: int) -> None:
    if line.raw is None:
        await load.take(
            line.number,
            None,
            e.LineTooLong(
                f"line {line.number} has {line.length} bytes, over the {limit} a load takes per line",
                pointer="",
                lineBytes=line.length,
                maxLineBytes=limit,
            ),
        )
    elif line.raw.strip():
        try:
            refuse_deep_json(line.raw, pointer="")
        except e.JsonTooDeep as exc:
            await load.take(line.number, None, exc)
            return
        await load.take(line.number, line.raw)


opening_router = Router(path="/api/v1/erp", route_handlers=[opening_balances], tags=["ERP inbound"])
