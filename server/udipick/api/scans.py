"""``POST /api/v1/scans/interpret``: what did the handheld just read, and what is it here?"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, Db, allow
from udipick.services import scans


class ScanIn(msgspec.Struct, rename="camel"):
    raw: Annotated[str, Meta(max_length=4096)]


@post("/api/v1/scans/interpret", status_code=200, **allow(any_user=True, scopes=("erp:read",)))
async def interpret_scan(data: JSONBody[ScanIn], db: Db, settings: AppSettings) -> scans.ScanOut:
    """Unreadable input gets a 422 problem naming the position and the reason."""
    return await scans.interpret_scan(db, settings, data.raw, dt.date.today())
