"""Writing events to the outbox, in the caller's transaction (the transactional outbox pattern)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.pg import raw
from udipick.domain.access import Actor


async def add_events(session: AsyncSession, actor: Actor, events: list[tuple[str, dict[str, Any]]]) -> list[uuid.UUID]:
    """Append ``(type, data)`` events; they reach the ERP only if the caller's transaction commits."""
    if not events:
        return []
    ids = [uuid.uuid4() for _ in events]
    session.info["udipick.outbox_written"] = True  # after the commit, the process's hub numbers them at once
    conn = await raw(session)
    await conn.execute(
        "INSERT INTO outbox_events (event_id, type, data, occurred_at, user_id, username, device_id)"
        " SELECT e.id, e.type, e.data::jsonb, $4, $5, $6, $7 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS e(id, type, data)",
        ids,
        [t for t, _ in events],
        [msgspec.json.encode(d).decode() for _, d in events],
        dt.datetime.now(dt.UTC),
        actor.user_id,
        actor.label,
        actor.device_id,
    )
    return ids
