"""A scripted receive → pick → pack → ship through the real APIs, watched by an ERP stream client
that is disconnected mid-flow and resumes."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import text

from tests.api.test_packing import PEN, pick_order
from tests.api.test_picking import GLOVE_BOX, SYR, gs1
from tests.conftest import login
from tests.outbox.conftest import connect, live_server, receive_events
from tests.receiving.helpers import datamatrix, days
from udipick.services import outbox


async def _all_events(db) -> list[tuple[int, str, str]]:
    async with db() as s:
        rows = (
            await s.execute(text("SELECT position, event_id::text, type FROM outbox_events ORDER BY position"))
        ).all()
    return [tuple(r) for r in rows]


async def test_a_stream_client_gets_every_event_of_receive_pick_ship_in_order_across_a_reconnect(
    client, demo_db, demo_database_url, erp_key
):
    receiver = await login(client, "receiver")
    sup = await login(client, "supervisor")
    picker = await login(client, "picker")
    got: list[dict] = []
    async with live_server(demo_database_url) as (host, _app):
        ws = await connect(host, erp_key, "?subscriber=erp-flow")
        # receive
        rid = (await client.post("/api/v1/receipts", json={"document": "ASN-2002"}, headers=receiver)).json()["id"]
        body = {
            "clientScanId": str(uuid.uuid4()),
            "raw": datamatrix("SYR-10ML", lot="SY-FLOW", expiry=days(400)),
            "quantity": 20,
        }
        assert (await client.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=receiver)).status_code == 200
        r = await client.post(
            f"/api/v1/receipts/{rid}/close", json={"reason": "supplier short-shipped"}, headers=receiver
        )
        assert r.status_code == 200, r.text
        got += await receive_events(ws, 1)
        await ws.send(json.dumps({"ack": got[-1]["position"]}))
        await ws.close()  # the ERP goes away mid-flow

        # pick (released as a wave), pack into an SSCC carton, ship — while nobody listens
        assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
        await pick_order(client, picker, "SO-5002")
        sscc = (await client.post("/api/v1/packing/packages", json={"order": "SO-5002"}, headers=picker)).json()["sscc"]
        for raw, times in ((gs1(GLOVE_BOX, "GL-77-01"), 2), (gs1(PEN, "PN3001"), 10), (gs1(SYR, "SY2405B"), 10)):
            for _ in range(times):
                r = await client.post(
                    f"/api/v1/packing/packages/{sscc}/scans",
                    json={"clientScanId": str(uuid.uuid4()), "raw": raw},
                    headers=picker,
                )
                assert r.status_code == 200, r.text
        assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
        assert (await client.post("/api/v1/shipments", json={"order": "SO-5002"}, headers=picker)).status_code == 200

        await outbox.sequence_now(demo_db)
        expected = await _all_events(demo_db)
        assert all(p is not None for p, _, _ in expected)
        # reconnect without ?after=: resumes after the ack, and gets the rest (no gap)
        async with await connect(host, erp_key, "?subscriber=erp-flow") as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello" and hello["resumeFrom"] <= got[-1]["position"]
            # at least once: an ack that had not reached the database when the client went away means a
            # resume from before it (repeats carry the same eventId); read up to the last position
            async with asyncio.timeout(15):
                while not got or got[-1]["position"] < expected[-1][0]:
                    got += await receive_events(ws, 1)
    # the first connection may also have delivered more than it acked; resuming repeats nothing it acked
    by_position: dict[int, dict] = {}
    for m in got:
        assert by_position.setdefault(m["position"], m)["eventId"] == m["eventId"]  # a duplicate keeps its id
    assert [(p, m["eventId"], m["type"]) for p, m in sorted(by_position.items())] == expected
    resumed = got[1:]
    assert [m["position"] for m in resumed] == sorted(m["position"] for m in resumed)
    types = [t for _, _, t in expected]
    for t in (
        "receipt.confirmed.v1",
        "wave.released.v1",
        "pick.confirmed.v1",
        "package.packed.v1",
        "shipment.confirmed.v1",
    ):
        assert t in types, t
    assert types.index("receipt.confirmed.v1") < types.index("pick.confirmed.v1") < types.index("shipment.confirmed.v1")
