"""``GET /api/v1/epcis/events?after=&limit=``: the outbox stream as an EPCIS 2.0 JSON-LD document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import Parameter
from litestar.response import Response

from udipick.api.deps import Db, allow
from udipick.api.events import AFTER, NEXT_AFTER
from udipick.services import epcis

JSON_LD = "application/ld+json"


@get(
    "/api/v1/epcis/events",
    name="epcis_events",
    summary="Events as an EPCIS 2.0 document",
    media_type=JSON_LD,
    response_headers=[NEXT_AFTER],
    **allow("admin", "qa", scopes=("erp:read",)),
)
async def epcis_events(
    db: Db,
    after: Annotated[str, AFTER] = "0",
    limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
) -> Response[epcis.EpcisDocument]:
    """``udipick-next-after`` is the cursor for the next page (events without an EPCIS counterpart count too)."""
    page = await epcis.events_document(db, after, limit, now=dt.datetime.now(dt.UTC))
    return Response(
        msgspec.json.encode(page.document), media_type=JSON_LD, headers={NEXT_AFTER.name: str(page.next_after)}
    )
