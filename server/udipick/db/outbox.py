"""Writing events to the outbox, in the caller's transaction (the transactional outbox pattern)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.models import OutboxEvent
from udipick.domain.access import Actor


async def add_events(session: AsyncSession, actor: Actor, events: list[tuple[str, dict[str, Any]]]) -> list[uuid.UUID]:
    """Append ``(type, data)`` events; they reach the ERP only if the caller's transaction commits."""
    if not events:
        return []
    now = dt.datetime.now(dt.UTC)
    ids = [uuid.uuid4() for _ in events]
    await session.execute(
        insert(OutboxEvent),
        [
            {
                "event_id": event_id,
                "type": type_,
                "occurred_at": now,
                "user_id": actor.user_id,
                "username": actor.label,
                "device_id": actor.device_id,
                "data": data,
            }
            for event_id, (type_, data) in zip(ids, events, strict=True)
        ],
    )
    return ids
