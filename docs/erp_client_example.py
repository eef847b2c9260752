"""Example ERP client for udipick's event stream: typed, resumes after any outage and acknowledges.

    pip install websockets msgspec
    UDIPICK_URL=ws://wms.example:8000 UDIPICK_KEY=udk_... python erp_client_example.py

The contract it follows is docs/erp_integration.md.

What it shows:
- connect to ``/api/v1/erp/stream`` with an ERP API key (scope ``erp:read``);
- no ``?after=``: udipick resumes after the last position this key + ``subscriber`` acknowledged,
  so a crash of either side loses nothing;
- apply each event idempotently (keyed by ``eventId``: a redelivery after a reconnect carries the
  same id), and only then ack its position;
- decode each frame into typed structs (``Event`` and the control frames), the envelope every channel
  shares (WebSocket, webhooks, NDJSON, RabbitMQ);
- reconnect with exponential backoff on any error, including the 1013 close udipick sends a
  client that stopped reading or that connects while PostgreSQL restarts; log the close code and
  reason, and stop on 4401/4403 (a missing, revoked or under-scoped key: reconnecting cannot help).
"""

# no ``from __future__ import annotations``: msgspec reads the structs' annotations at run time, and this file
# is also loaded on its own (as a script, or by a test) where postponed annotations would not resolve
import asyncio
import datetime as dt
import json
import os
import random
import sqlite3
import uuid
from typing import Any

import msgspec
import websockets

URL = os.environ.get("UDIPICK_URL", "ws://127.0.0.1:8000")
KEY = os.environ.get("UDIPICK_KEY", "")
SUBSCRIBER = os.environ.get("UDIPICK_SUBSCRIBER", "erp-ledger")
ACK_EVERY = 50  # ack in batches: fewer round trips, at most this many events re-sent after a crash


#: the key is missing or revoked (4401) or lacks ``erp:read`` (4403): a reconnect gets the same answer
REFUSED = (4401, 4403)


class Event(msgspec.Struct, rename="camel", frozen=True):
    """One udipick event (docs/events.md lists the types and their ``data``)."""

    position: int
    event_id: uuid.UUID
    type: str
    occurred_at: dt.datetime
    user: str | None
    device: str | None
    data: dict[str, Any]


class Hello(msgspec.Struct, tag="hello", tag_field="type", rename="camel"):
    subscriber: str
    resume_from: int
    head: int


class Heartbeat(msgspec.Struct, tag="heartbeat", tag_field="type"):
    head: int
    sent: int


class Error(msgspec.Struct, tag="error", tag_field="type"):
    detail: str
    code: str | None = None


def decode(raw: str | bytes) -> Event | Hello | Heartbeat | Error:
    """A frame: an event (it has a ``position``) or a control frame (``type`` hello / heartbeat / error)."""
    frame = msgspec.json.decode(raw)
    if "position" in frame:
        return msgspec.convert(frame, Event)
    return msgspec.convert(frame, Hello | Heartbeat | Error)


class Ledger:
    """Stands in for the ERP's database: applies an event once, whatever the number of deliveries."""

    def __init__(self, path: str = "erp_ledger.sqlite") -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, position INTEGER, type TEXT)")

    def apply(self, event: Event) -> bool:
        with self.db:  # one transaction: the event's effect and its id together
            cur = self.db.execute(
                "INSERT OR IGNORE INTO applied (event_id, position, type) VALUES (?, ?, ?)",
                (str(event.event_id), event.position, event.type),
            )
            if cur.rowcount == 0:
                return False  # a duplicate after a reconnect: already applied
            # ... post the stock movement, the goods receipt, the delivery note here ...
            return True


async def follow(ledger: Ledger) -> None:
    attempt = 0
    while True:
        try:
            async with websockets.connect(
                f"{URL}/api/v1/erp/stream?subscriber={SUBSCRIBER}",
                additional_headers={"Authorization": f"Bearer {KEY}"},
                ping_interval=20,
            ) as ws:
                attempt = 0
                unacked = 0
                last: int | None = None
                async for raw in ws:
                    msg = decode(raw)
                    if isinstance(msg, Hello):
                        print(f"resuming after position {msg.resume_from} (head {msg.head})")
                        continue
                    if isinstance(msg, Heartbeat):
                        if last is not None and unacked:
                            await ws.send(json.dumps({"ack": last}))  # idle: ack what we have
                            unacked = 0
                        continue
                    if isinstance(msg, Error):
                        print("udipick says:", msg.code or "", msg.detail)
                        continue
                    if ledger.apply(msg):
                        print(f"{msg.position:>8}  {msg.type:<32} {msg.event_id}")
                    last = msg.position
                    unacked += 1
                    if unacked >= ACK_EVERY:
                        await ws.send(json.dumps({"ack": last}))
                        unacked = 0
        except websockets.exceptions.ConnectionClosed as exc:
            close = exc.rcvd
            if close is not None and close.code in REFUSED:
                print(f"udipick refused the stream: {close.code} {close.reason}")
                raise
            attempt += 1
            delay = min(60.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
            why = f"{close.code} {close.reason}" if close is not None else "no close frame"
            print(f"stream closed ({why}); reconnecting in {delay:.1f}s")
            await asyncio.sleep(delay)
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            attempt += 1
            delay = min(60.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
            print(f"stream interrupted ({exc!r}); reconnecting in {delay:.1f}s")
            await asyncio.sleep(delay)


if __name__ == "__main__":
    asyncio.run(follow(Ledger()))
