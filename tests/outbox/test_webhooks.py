"""Webhooks to a real local HTTP receiver: signed, in order, retried with backoff, dead letters, replay."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from tests.conftest import test_settings as settings_for_tests
from tests.outbox.conftest import (
    Receiver,
    free_port,
    make_subscription,
    running_relay,
    wait_until,
    write_events,
)
from udipick.services import webhooks


def test_a_signature_verifies_with_the_standard_webhooks_library():
    secret = webhooks.new_secret()
    body = b'{"position":1}'
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": webhooks.sign(secret, "msg_1", 1700000000, body),
    }
    expected = Webhook(secret).sign("msg_1", dt.datetime.fromtimestamp(1700000000, tz=dt.UTC), body.decode())
    assert headers["webhook-signature"] == expected
    assert webhooks.sign(webhooks.new_secret(), "msg_1", 1700000000, body) != expected


async def _deliveries(db, sub_id: int) -> dict[str, int]:
    async with db() as s:
        rows = (
            await s.execute(
                text("SELECT status, count(*) FROM webhook_deliveries WHERE subscription_id = :id GROUP BY status"),
                {"id": sub_id},
            )
        ).all()
    return dict(rows)


async def test_a_receiver_that_is_down_then_failing_then_slow_gets_everything_in_order_once_it_recovers(
    database_url, db
):
    port = free_port()
    sub = await make_subscription(db, f"http://127.0.0.1:{port}/erp/hooks")
    ids = await write_events(db, 5)

    def behaviour(n: int, body: bytes):
        if n < 3:
            return 500, 0.0  # up but failing
        if n < 5:
            return 200, 1.0  # too slow: the relay gives up after 0.5 s and retries
        return 200, 0.0

    receiver = Receiver(behaviour, port=port)
    async with running_relay(database_url):
        # down: nothing listens on the port yet
        async def refused_twice():
            async with db() as s:
                return (
                    await s.scalar(text("SELECT attempts FROM webhook_deliveries ORDER BY position LIMIT 1")) or 0
                ) >= 2

        await wait_until(refused_twice)
        ids += await write_events(db, 5, start=5)  # the warehouse keeps working during the outage
        await receiver.start()
        try:
            await wait_until(lambda: _all_delivered(db, sub.id, 10), timeout=20)
        finally:
            await receiver.stop()

    # every request, answered or not, came in position order: nothing overtakes a failing delivery
    positions = [json.loads(b)["position"] for _, b, _ in receiver.requests]
    assert positions == sorted(positions)
    assert [m["eventId"] for m in _first_ok(receiver)] == ids
    hook = Webhook(sub.secret)
    for headers, body, _ in receiver.requests:
        payload = hook.verify(body, headers)  # raises if the signature does not verify
        assert headers["webhook-id"] == payload["eventId"]
    async with db() as s:
        errors = (await s.execute(text("SELECT status_code, error FROM webhook_attempts ORDER BY id"))).all()
    assert any(e.status_code is None and "Connect" in e.error for e in errors)  # down
    assert any(e.status_code == 500 for e in errors)
    assert any(e.status_code is None and "Timeout" in e.error for e in errors)  # slow


def _first_ok(receiver: Receiver) -> list[dict]:
    seen: dict[str, dict] = {}
    for m in receiver.accepted():
        seen.setdefault(m["eventId"], m)
    return sorted(seen.values(), key=lambda m: m["position"])


async def _all_delivered(db, sub_id: int, n: int) -> bool:
    return (await _deliveries(db, sub_id)).get("delivered", 0) == n


async def test_a_delivery_that_keeps_failing_goes_to_dead_letters_and_the_replay_api_sends_it_again(
    demo_database_url, demo_db, client, admin_key
):
    poisoned = {"on": True}

    def behaviour(n: int, body: bytes):
        return (422 if poisoned["on"] and json.loads(body)["data"]["n"] == 1 else 200), 0.0

    receiver = await Receiver(behaviour).start()
    h = {"Authorization": f"Bearer {admin_key}"}
    r = await client.post(
        "/api/v1/erp/webhooks", json={"name": "erp", "url": receiver.url, "maxAttempts": 3}, headers=h
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["secret"].startswith("whsec_")
    try:
        async with running_relay(demo_database_url):
            await write_events(demo_db, 4)
            await wait_until(lambda: _counts_are(demo_db, sub["id"], delivered=3, dead=1))
            r = await client.get(f"/api/v1/erp/webhooks/{sub['id']}/deliveries?status=dead", headers=h)
            dead = r.json()
            assert [d["status"] for d in dead] == ["dead"] and dead[0]["attempts"] == 3
            detail = (await client.get(f"/api/v1/erp/webhooks/deliveries/{dead[0]['id']}", headers=h)).json()
            assert [a["statusCode"] for a in detail["attemptLog"]] == [422, 422, 422]
            listed = (await client.get("/api/v1/erp/webhooks", headers=h)).json()
            assert listed[0]["dead"] == 1 and "secret" not in listed[0]

            poisoned["on"] = False  # the ERP fixed its side
            r = await client.post(f"/api/v1/erp/webhooks/{sub['id']}/replay", json={}, headers=h)
            assert r.json() == {"requeued": 1}
            await wait_until(lambda: _counts_are(demo_db, sub["id"], delivered=4))
    finally:
        await receiver.stop()
    # positions 1, 3, 4 went on while 2 was dead; the replay delivered 2 afterwards
    assert [m["data"]["n"] for m in receiver.accepted()] == [0, 2, 3, 1]


async def _counts_are(db, sub_id: int, **expected) -> bool:
    counts = await _deliveries(db, sub_id)
    return all(counts.get(k, 0) == v for k, v in expected.items())


async def test_a_subscription_receives_only_the_event_types_it_asked_for(database_url, db):
    receiver = await Receiver().start()
    sub = await make_subscription(db, receiver.url, event_types=["pick.*", "receipt.confirmed.v1"])
    try:
        async with running_relay(database_url):
            await write_events(db, 1, "pick.confirmed.v1")
            await write_events(db, 1, "pack.completed.v1")
            await write_events(db, 1, "receipt.confirmed.v1")
            await write_events(db, 1, "pick_refused.v1")  # '_' is not a wildcard
            await wait_until(lambda: _counts_are(db, sub.id, delivered=2))
    finally:
        await receiver.stop()
    assert [m["type"] for m in receiver.accepted()] == ["pick.confirmed.v1", "receipt.confirmed.v1"]


async def test_two_relays_share_the_subscriptions_and_each_event_arrives_once_per_subscriber_in_order(database_url, db):
    receivers = [await Receiver().start() for _ in range(3)]
    subs = [await make_subscription(db, r.url, name=f"erp-{i}") for i, r in enumerate(receivers)]
    try:
        async with running_relay(database_url, concurrency=2), running_relay(database_url, concurrency=2):
            ids = []
            for k in range(6):
                ids += await write_events(db, 5, start=5 * k)
            for sub in subs:
                await wait_until(lambda sub=sub: _counts_are(db, sub.id, delivered=30))
    finally:
        for r in receivers:
            await r.stop()
    for r in receivers:
        assert [m["eventId"] for m in r.accepted()] == ids


# ---- where a webhook may point ---------------------------------------------------------------------


@pytest.fixture
async def strict_client(demo_database_url):
    """The app as deployed: webhooks may not point at this host (no UDIPICK_WEBHOOK_ALLOW_LOOPBACK)."""
    from litestar.testing import AsyncTestClient

    from udipick.api.app import create_app

    async with AsyncTestClient(
        app=create_app(settings_for_tests(webhook_allow_loopback=False), database_url=demo_database_url)
    ) as c:
        yield c


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hooks", "loopback"),
        ("http://localhost:8080/hooks", "loopback"),  # a name that resolves to loopback
        ("http://2130706433/hooks", "loopback"),  # 127.0.0.1 written as one number
        ("http://[::1]/hooks", "loopback"),
        ("http://[::ffff:127.0.0.1]/hooks", "loopback"),  # IPv4-mapped IPv6
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://[fe80::1]/hooks", "link-local"),
        ("http://0.0.0.0:8080/hooks", "unspecified"),
        ("http://[::]:8080/hooks", "unspecified"),
        ("http://224.0.0.1/hooks", "multicast"),
        ("http://[ff02::1]/hooks", "multicast"),
    ],
)
async def test_a_webhook_to_this_host_or_its_link_local_network_is_refused_at_registration(
    strict_client, admin_key, demo_db, url, reason
):
    h = {"Authorization": f"Bearer {admin_key}"}
    r = await strict_client.post("/api/v1/erp/webhooks", json={"name": "erp", "url": url}, headers=h)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "webhook-target-refused" and r.json()["reason"] == reason
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM webhook_subscriptions")) == 0


async def test_a_lan_erp_is_allowed_and_a_url_changed_to_the_metadata_service_is_refused(strict_client, admin_key):
    h = {"Authorization": f"Bearer {admin_key}"}
    r = await strict_client.post(
        "/api/v1/erp/webhooks", json={"name": "erp", "url": "http://10.20.0.5:8069/hooks"}, headers=h
    )
    assert r.status_code == 201, r.text
    sub_id = r.json()["id"]
    r = await strict_client.post(
        "/api/v1/erp/webhooks", json={"name": "erp2", "url": "https://192.168.1.20/h"}, headers=h
    )
    assert r.status_code == 201, r.text
    r = await strict_client.patch(f"/api/v1/erp/webhooks/{sub_id}", json={"url": "http://169.254.169.254/"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "webhook-target-refused"
    assert (await strict_client.get(f"/api/v1/erp/webhooks/{sub_id}", headers=h)).json()[
        "url"
    ] == "http://10.20.0.5:8069/hooks"


async def test_the_loopback_setting_allows_this_host_but_never_the_metadata_service(client, admin_key):
    h = {"Authorization": f"Bearer {admin_key}"}  # the test client runs with webhook_allow_loopback=True
    r = await client.post("/api/v1/erp/webhooks", json={"name": "erp", "url": "http://127.0.0.1:9/hooks"}, headers=h)
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/erp/webhooks", json={"name": "meta", "url": "http://169.254.169.254/"}, headers=h)
    assert r.status_code == 422 and r.json()["reason"] == "link-local"


async def test_a_delivery_is_checked_again_when_it_is_sent_and_never_reaches_a_refused_address(database_url, db):
    # registered while allowed (or while its name resolved elsewhere): the check at delivery refuses it now
    receiver = await Receiver().start()
    sub = await make_subscription(db, receiver.url, max_attempts=2)
    try:
        async with running_relay(database_url, allow_loopback_targets=False):
            await write_events(db, 1)
            await wait_until(lambda: _counts_are(db, sub.id, dead=1))
    finally:
        await receiver.stop()
    assert receiver.requests == []
    async with db() as s:
        errors = (await s.execute(text("SELECT error FROM webhook_attempts ORDER BY id"))).scalars().all()
    assert len(errors) == 2
    assert all(
        e.startswith("refused: a webhook may not be sent to 127.0.0.1: that is udipick's own host") for e in errors
    )


async def test_a_delivery_goes_to_the_address_it_checked_with_the_urls_host_in_the_request(database_url, db):
    receiver = await Receiver().start()
    sub = await make_subscription(db, f"http://localhost:{receiver.port}/erp/hooks")
    try:
        async with running_relay(database_url):  # loopback allowed, as for an ERP on the same host
            ids = await write_events(db, 2)
            await wait_until(lambda: _counts_are(db, sub.id, delivered=2))
    finally:
        await receiver.stop()
    assert [m["eventId"] for m in receiver.accepted()] == ids
    assert {headers["host"] for headers, _, _ in receiver.requests} == {f"localhost:{receiver.port}"}
    hook = Webhook(sub.secret)
    assert all(hook.verify(body, headers) for headers, body, _ in receiver.requests)
