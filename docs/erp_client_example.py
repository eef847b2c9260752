"""Example ERP client for udipick's event stream: resumes after any outage and acknowledges.

    pip install websockets
    UDIPICK_URL=ws://wms.example:8000 UDIPICK_KEY=udk_... python erp_client_example.py

What it shows:
- connect to ``/api/v1/erp/stream`` with an ERP API key (scope ``erp:read``);
- no ``?after=``: udipick resumes after the last position this key + ``subscriber`` acknowledged,
  so a crash of either side loses nothing;
- apply each event idempotently (keyed by ``eventId``: a redelivery after a reconnect carries the
  same id), and only then ack its position;
- reconnect with exponential backoff on any error, including the 1013 close udipick sends a
  client that stopped reading or that connects while PostgreSQL restarts.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3

import websockets

URL = os.environ.get("UDIPICK_URL", "ws://127.0.0.1:8000")
KEY = os.environ.get("UDIPICK_KEY", "")
SUBSCRIBER = os.environ.get("UDIPICK_SUBSCRIBER", "erp-ledger")
ACK_EVERY = 50  # ack in batches: fewer round trips, at most this many events re-sent after a crash


class Ledger:
    """Stands in for the ERP's database: applies an event once, whatever the number of deliveries."""

    def __init__(self, path: str = "erp_ledger.sqlite") -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, position INTEGER, type TEXT)")

    def apply(self, event: dict) -> bool:
        with self.db:  # one transaction: the event's effect and its id together
            cur = self.db.execute(
                "INSERT OR IGNORE INTO applied (event_id, position, type) VALUES (?, ?, ?)",
                (event["eventId"], event["position"], event["type"]),
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
                last = None
                async for raw in ws:
                    msg = json.loads(raw)
                    if "position" not in msg:  # hello / heartbeat / error
                        if msg.get("type") == "hello":
                            print(f"resuming after position {msg['resumeFrom']} (head {msg['head']})")
                        elif msg.get("type") == "heartbeat" and last is not None and unacked:
                            await ws.send(json.dumps({"ack": last}))  # idle: ack what we have
                            unacked = 0
                        elif msg.get("type") == "error":
                            print("udipick says:", msg["detail"])
                        continue
                    if ledger.apply(msg):
                        print(f"{msg['position']:>8}  {msg['type']:<32} {msg['eventId']}")
                    last = msg["position"]
                    unacked += 1
                    if unacked >= ACK_EVERY:
                        await ws.send(json.dumps({"ack": last}))
                        unacked = 0
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            attempt += 1
            delay = min(60.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
            print(f"stream interrupted ({exc!r}); reconnecting in {delay:.1f}s")
            await asyncio.sleep(delay)


if __name__ == "__main__":
    asyncio.run(follow(Ledger()))
