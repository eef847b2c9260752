"""Every WebSocket refused for its key or role closes with a code and a reason a client can log
(4401: no or bad key, 4403: the key or role may not), instead of the bare HTTP 403 of a refused handshake."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.outbox.conftest import live_server
from udipick.services.identity import add_api_key


async def _refusal(url: str, **kw) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(url, **kw) as ws:
            await ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("path", ["/api/v1/erp/stream", "/api/v1/live"])
async def test_every_websocket_refuses_a_missing_a_wrong_and_a_revoked_key_with_a_reason(
    demo_database_url, demo_db, path
):
    write_key = await add_api_key(demo_db, "erp-writer", ["erp:write"])
    read_key = await add_api_key(demo_db, "erp-reader", ["erp:read"])
    async with live_server(demo_database_url) as (host, _app):
        url = f"ws://{host}{path}"
        code, reason = await _refusal(url)
        assert (code, reason) == (4401, "missing-key: send 'Authorization: Bearer <key>'")
        code, reason = await _refusal(url, additional_headers={"Authorization": "Bearer udk_not-a-key"})
        assert code == 4401 and reason.startswith("not-authenticated: ")
        code, reason = await _refusal(url, additional_headers={"Authorization": f"Bearer {write_key}"})
        needed = (
            "scope erp:read required"
            if path.endswith("stream")
            else "role admin or supervisor required (a signed-in user, not an API key)"
        )
        assert (code, reason) == (4403, f"permission-denied: {needed}")
        if path.endswith("stream"):
            # the right key opens it
            async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {read_key}"}) as ws:
                assert '"hello"' in await ws.recv()


async def test_the_reason_fits_a_close_frame(demo_database_url):
    async with live_server(demo_database_url) as (host, _app):
        code, reason = await _refusal(
            f"ws://{host}/api/v1/erp/stream", additional_headers={"Authorization": "Bearer " + "x" * 500}
        )
    assert code == 4401 and len(reason.encode()) <= 123


async def test_the_example_client_logs_the_refusal_and_stops_instead_of_retrying_forever(
    demo_database_url, demo_db, tmp_path
):
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("erp_client_example", ROOT / "docs" / "erp_client_example.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    write_key = await add_api_key(demo_db, "erp-writer", ["erp:write"])
    async with live_server(demo_database_url) as (host, _app):
        example.URL, example.KEY = f"ws://{host}", write_key
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(example.follow(example.Ledger(str(tmp_path / "ledger.sqlite"))), 20)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "permission-denied: scope erp:read required")
