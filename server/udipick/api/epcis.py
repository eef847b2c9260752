"""``GET /api/v1/epcis/events?after=&limit=``: the outbox stream as an EPCIS 2.0 JSON-LD document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import Parameter
from litestar.response import Response
from sqlalchemy import text

from udipick.api.deps import Db, allow
from udipick.api.events import AFTER
from udipick.domain.cursor import parse_cursor
from udipick.services import epcis, outbox


@get("/api/v1/epcis/events", name="epcis_events", summary="Events as an EPCIS 2.0 document", **allow("admin", "qa", scopes=("erp:read",)))
async def epcis_events(
    db: Db,
    after: Annotated[str, AFTER] = "0",
    limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
) -> Response:
    """``udipick-next-after`` is the cursor for the next page (events without an EPCIS counterpart count too)."""
    head = await outbox.sequence_now(db)
    position = parse_cursor(after, head=head)
    async with db() as session:
        events = await outbox.read_after(session, position, limit)
        gln = await session.scalar(text("SELECT gln FROM warehouses WHERE gln IS NOT NULL ORDER BY id LIMIT 1"))
    messages = [msgspec.json.decode(outbox.ENCODER.encode(e)) for e in events]
    doc = epcis.document(messages, gln=gln, now=dt.datetime.now(dt.UTC))
    next_after = events[-1].position if events else position
    return Response(
        msgspec.json.encode(doc), media_type="application/ld+json", headers={"udipick-next-after": str(next_after)}
    )
