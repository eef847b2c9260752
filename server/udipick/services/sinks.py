"""Cursors of the broker sinks (``udipick relay --sink amqp://...``), kept in PostgreSQL.

A sink's cursor is a row of ``stream_subscribers`` (owner ``sink:<broker address>``, name = the exchange or
stream), the same table that keeps the WebSocket subscribers' acks, so ``GET /api/v1/erp/stream/subscribers``
shows a sink's lag next to theirs and no migration was needed.

One publisher per sink at a time, or the broker would see positions interleaved: the pump holds a
session-level advisory lock on a dedicated connection and reads pages and moves the cursor on that same
connection. When the connection drops (PostgreSQL restarted, the relay was killed) the lock goes with it,
and the cursor can no longer be moved by a publisher that lost it.
"""

from __future__ import annotations

import asyncpg

#: ``hashtext`` keeps the lock key a bigint; another owner colliding on it only waits its turn
_LOCK = "SELECT pg_try_advisory_lock(hashtext('udipick-sink:' || $1::text || '/' || $2::text))"
_OPEN = (
    "INSERT INTO stream_subscribers (owner, name, connected_at) VALUES ($1, $2, now())"
    " ON CONFLICT (owner, name) DO UPDATE SET connected_at = now() RETURNING id, acked_position"
)
_ADVANCE = "UPDATE stream_subscribers SET acked_position = GREATEST(acked_position, $2), acked_at = now() WHERE id = $1"


async def claim_cursor(conn: asyncpg.Connection, owner: str, name: str) -> tuple[int, int] | None:
    """Take the sink's lock on ``conn`` and return ``(cursor id, position)``; ``None`` while another relay
    holds it (it publishes; this one stands by)."""
    if not await conn.fetchval(_LOCK, owner, name):
        return None
    row = await conn.fetchrow(_OPEN, owner, name)
    return row["id"], row["acked_position"]


async def advance_cursor(conn: asyncpg.Connection, cursor_id: int, position: int) -> None:
    """The broker confirmed every event up to ``position``: a restart resumes after it. Forward only."""
    await conn.execute(_ADVANCE, cursor_id, position)
