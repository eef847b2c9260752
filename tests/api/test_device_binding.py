"""A handheld's sign-in counts only with its device id: a token alone is refused (security review, finding 5).

HTTP requests send ``X-Device-Id``; a WebSocket, whose browser API cannot set headers, sends
``?device_id=`` beside ``?access_token=``. ERP keys are not bound to a device.
"""

from __future__ import annotations

import uuid

import pytest
import websockets

from tests.conftest import login
from tests.outbox.conftest import live_server


@pytest.fixture
async def hh001(client) -> dict[str, str]:
    return await login(client, "picker", device="HH-001")


async def test_a_device_bound_token_without_its_device_header_is_refused(client, hh001):
    token_only = {"Authorization": hh001["Authorization"]}
    r = await client.get("/api/v1/auth/me", headers=token_only)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "device-id-required"
    assert r.json()["header"] == "X-Device-Id"
    assert "X-Device-Id" in r.json()["detail"]
    assert (await client.get("/api/v1/auth/me", headers={**token_only, "X-Device-Id": "HH-999"})).status_code == 401
    me = await client.get("/api/v1/auth/me", headers=hh001)
    assert me.status_code == 200 and me.json()["deviceId"] == "HH-001"


async def test_a_remembered_sign_in_still_needs_its_device_header(client, hh001):
    assert (await client.get("/api/v1/auth/me", headers=hh001)).status_code == 200  # now remembered
    r = await client.get("/api/v1/auth/me", headers={"Authorization": hh001["Authorization"]})
    assert r.status_code == 401 and r.json()["code"] == "device-id-required"


async def test_a_pick_scan_without_the_device_header_is_refused(client, hh001):
    # the scan route's own fast path (``_usual_scans``) decides a remembered token too
    tasks = await client.get("/api/v1/picking/tasks", headers=hh001)
    assert tasks.status_code == 200
    body = {"clientScanId": str(uuid.uuid4()), "raw": "]d2010061414100000317260101"}
    r = await client.post("/api/v1/picking/tasks/1/scans", json=body, headers={"Authorization": hh001["Authorization"]})
    assert r.status_code == 401 and r.json()["code"] == "device-id-required"


async def test_an_erp_key_needs_no_device(client, demo_db):
    from udipick.services.identity import add_api_key

    key = await add_api_key(demo_db, "erp-nodevice", ["erp:read"])
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.json()["apiKey"] == "erp-nodevice"


async def test_a_user_token_on_the_websocket_needs_the_device_as_a_query_parameter(demo_database_url, client):
    admin = await login(client, "admin", device="HH-ADMIN")
    token = admin["Authorization"].split()[1]
    async with live_server(demo_database_url) as (host, _app):
        url = f"ws://{host}/api/v1/erp/stream?access_token={token}"
        async with websockets.connect(url + "&device_id=HH-ADMIN") as ws:
            assert '"hello"' in await ws.recv()
        # refused after the handshake with a close code and a reason a client can log (not a bare 403)
        reasons = {}
        for refused in (url, url + "&device_id=HH-OTHER"):
            with pytest.raises(websockets.exceptions.ConnectionClosedError) as closed:
                async with websockets.connect(refused) as ws:
                    await ws.recv()
            reasons[refused == url] = (closed.value.rcvd.code, closed.value.rcvd.reason)
        # the reason fits a close frame (123 bytes) whole, so a client can log what to send
        assert reasons[True] == (
            4401,
            "device-id-required: sign-in bound to a handheld: send its id in the 'X-Device-Id' header"
            " (WebSocket: ?device_id=)",
        )
        assert reasons[False] == (
            4401,
            "not-authenticated: this token belongs to another device: sign in on this device",
        )
