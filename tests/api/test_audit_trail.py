"""Every audited write leaves its record (issue 18): who, from which device, when, why, before/after
where a record changed, and the e-signature's manifestation (21 CFR Part 11 §11.50) in the record it
signs. One case per write, each on a fresh demo database; after each, the chain seals and verifies."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.test_picking import gs1, lot_expiry, task_for, wave  # noqa: F401 - wave is a fixture
from tests.conftest import login
from tests.receiving.test_putaway_and_qc import dock  # noqa: F401 - a fixture
from udipick.services import audit, identity


@dataclass(frozen=True)
class Expect:
    action: str
    username: str
    device_id: str | None
    outcome: str = "ok"
    target: str | None = None
    reason: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    signer_name: str | None = None
    signature_meaning: str | None = None


async def sign_in(client, demo_db):
    await login(client, "picker", device="tc52-09")
    return Expect("login", "picker", "tc52-09")


async def failed_sign_in(client, demo_db):
    r = await client.post(
        "/api/v1/auth/login", json={"username": "picker", "password": "not-it", "deviceId": "tc52-09"}
    )
    assert r.status_code == 401, r.text
    return Expect("login", "picker", "tc52-09", outcome="failed")


async def sign_out(client, demo_db):
    headers = await login(client, "picker", device="tc52-09")
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    return Expect("logout", "picker", "tc52-09")


HOLD = {"scope": "lot", "item": "SYR-10ML", "lot": "SY2405B", "reason": "customer complaint"}


async def hold_placed(client, demo_db):
    sup = await login(client, "supervisor", device="sup-1")
    r = await client.post("/api/v1/holds", json=HOLD, headers=sup)
    assert r.status_code == 201, r.text
    return Expect(
        "hold.placed",
        "supervisor",
        "sup-1",
        target=f"hold:{r.json()['holdId']}",
        reason="customer complaint",
        after={"scope": "lot", "gtin": r.json()["gtin"], "lot": "SY2405B", "serial": None, "location": None},
    )


async def hold_released(client, demo_db):
    sup = await login(client, "supervisor", device="sup-1")
    hold_id = (await client.post("/api/v1/holds", json=HOLD, headers=sup)).json()["holdId"]
    r = await client.post(
        f"/api/v1/holds/{hold_id}/release",
        json={"reason": "complaint unfounded", "password": "supervisor-demo"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    return Expect(
        "signature",
        "supervisor",
        "sup-1",
        target=f"hold:{hold_id}",
        reason="complaint unfounded",
        before={"released": False},
        after={"released": True},
        signer_name="Supervisor",
        signature_meaning="release",
    )


async def override_approved(client, demo_db):
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
    picker = await login(client, "picker", device="tc52-01")
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    body = {
        "clientScanId": str(uuid.uuid4()),
        "raw": gs1(task["item"]["gtin"], "SY2409C", await lot_expiry(demo_db, "SY2409C")),
        "reason": "customer asked for one lot",
        "supervisor": {"username": "supervisor", "password": "supervisor-demo"},
    }
    body["locationRaw"] = task["location"]["barcode"]
    r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/override", json=body, headers=picker)
    assert r.status_code == 200, r.text
    return Expect(
        "signature",
        "supervisor",
        "tc52-01",
        target=f"pick-task:{task['taskId']}",
        reason="customer asked for one lot",
        signer_name="Supervisor",
        signature_meaning="approval",
    )


async def qc_decided(client, demo_db):
    qa = await login(client, "qa", device="qa-tablet")
    lots = {q["lot"]: q for q in (await client.get("/api/v1/qc/quarantine", headers=qa)).json()}
    r = await client.post(
        f"/api/v1/qc/lots/{lots['SY-SHORT']['lotId']}/reject",
        json={"reason": "shelf life too short", "password": "qa-demo"},
        headers=qa,
    )
    assert r.status_code == 200, r.text
    return Expect(
        "signature",
        "qa",
        "qa-tablet",
        target="lot:SYR-10ML/SY-SHORT",
        reason="shelf life too short",
        before={"lotStatus": "quarantine"},
        after={"lotStatus": "rejected"},
        signer_name="Qa",
        signature_meaning="rejection",
    )


async def erp_item_changed(client, demo_db):
    admin = await login(client, "admin", device="admin-pc")
    item = {
        "erpId": "TEST-ITEM-1",
        "version": 1,
        "gtin": "4006381333931",
        "name": "Test catheter",
        "baseUnit": "EA",
        "lotTracked": True,
        "expiryTracked": True,
    }
    assert (await client.post("/api/v1/erp/items", json=item, headers=admin)).status_code == 201
    r = await client.post("/api/v1/erp/items", json={**item, "version": 2, "name": "Renamed"}, headers=admin)
    assert r.status_code == 200, r.text
    return Expect("erp.item.updated", "admin", "admin-pc", target="item:TEST-ITEM-1")


async def erp_location_changed(client, demo_db):
    admin = await login(client, "admin", device="admin-pc")
    loc = {"code": "Z-09-01", "version": 1, "zone": "Z", "type": "pick", "pickSequence": 9}
    assert (await client.post("/api/v1/erp/locations", json=loc, headers=admin)).status_code == 201
    r = await client.post("/api/v1/erp/locations", json={**loc, "version": 2, "zone": "Y"}, headers=admin)
    assert r.status_code == 200, r.text
    return Expect("erp.location.updated", "admin", "admin-pc", target=f"location:{r.json()['key']}")


async def erp_purchase_order_cancelled(client, demo_db):
    admin = await login(client, "admin", device="admin-pc")
    reason = "cancelled in the ERP"
    r = await client.post("/api/v1/erp/purchase-orders/PO-1002/cancel", json={"reason": reason}, headers=admin)
    assert r.status_code == 200, r.text
    return Expect(
        "erp.purchase-order.cancelled",
        "admin",
        "admin-pc",
        target="purchase-order:PO-1002",
        reason=reason,
        before={"status": "open"},
        after={"status": "cancelled"},
    )


async def user_added(client, demo_db):
    await identity.add_user(demo_db, "newcomer", "Correct-Horse-Battery-9", ["picker"], display_name="New Comer")
    return Expect("user.added", "cli", None, target="user:newcomer")


async def user_deactivated(client, demo_db):
    admin = await login(client, "admin", device="admin-pc")
    assert (await client.post("/api/v1/admin/users/picker/deactivate", headers=admin)).status_code == 200
    return Expect("user.deactivated", "admin", "admin-pc", target="user:picker")


async def api_key_added(client, demo_db):
    await identity.add_api_key(demo_db, "erp-test", ["erp:read"])  # the CLI's path
    return Expect("api_key.added", "cli", None, target="api_key:erp-test")


async def api_key_revoked(client, demo_db):
    admin = await login(client, "admin", device="admin-pc")
    await identity.add_api_key(demo_db, "erp-test", ["erp:read"])
    name = "erp-test"
    assert (await client.post(f"/api/v1/admin/api-keys/{name}/revoke", headers=admin)).status_code == 200
    return Expect("api_key.revoked", "admin", "admin-pc", target=f"api_key:{name}")


Case = Callable[[Any, Any], Awaitable[Expect]]
CASES: list[Case] = [
    sign_in,
    failed_sign_in,
    sign_out,
    hold_placed,
    hold_released,
    override_approved,
    erp_item_changed,
    erp_location_changed,
    erp_purchase_order_cancelled,
    user_added,
    user_deactivated,
    api_key_added,
    api_key_revoked,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
async def test_each_write_leaves_an_audit_record_that_the_chain_seals(case, client, demo_db):
    await _leaves_its_record(case, client, demo_db)


async def test_a_qc_decision_leaves_its_signed_record(client, demo_db, dock):  # noqa: F811 - dock is a fixture
    await _leaves_its_record(qc_decided, client, demo_db)


async def _leaves_its_record(case: Case, client, demo_db) -> None:
    async with demo_db() as s:
        start = await s.scalar(text("SELECT coalesce(max(id), 0) FROM audit_log"))
    expect = await case(client, demo_db)
    async with demo_db() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT action, username, device_id, outcome, target, reason, before, after, signer_name,"
                    " signature_meaning, occurred_at FROM audit_log WHERE id > :s AND action = :a AND outcome = :o"
                    " ORDER BY id DESC"
                ),
                {"s": start, "a": expect.action, "o": expect.outcome},
            )
        ).all()
    assert rows, f"no {expect.action} record"
    got = rows[0]
    assert got.occurred_at is not None
    if expect.action in ("erp.item.updated", "erp.location.updated"):
        changed = "name" if expect.action == "erp.item.updated" else "zone"
        assert (got.before[changed], got.after[changed]) == (
            ("Test catheter", "Renamed") if changed == "name" else ("Z", "Y")
        )
        assert (got.before["erp_version"], got.after["erp_version"]) == (1, 2)
        got_fields = (got.action, got.username, got.device_id, got.outcome, got.target)
        assert got_fields == (expect.action, expect.username, expect.device_id, expect.outcome, expect.target)
    else:
        assert tuple(got[:10]) == (
            expect.action,
            expect.username,
            expect.device_id,
            expect.outcome,
            expect.target,
            expect.reason,
            expect.before,
            expect.after,
            expect.signer_name,
            expect.signature_meaning,
        )
    verified = await audit.verify(demo_db)
    assert verified.ok and verified.broken is None, verified
    async with demo_db() as s:
        sealed = await s.scalar(
            text(
                "SELECT count(*) FROM audit_log a WHERE NOT EXISTS"
                " (SELECT 1 FROM audit_chain c WHERE c.source = 0 AND c.source_id = a.id)"
            )
        )
    assert sealed == 0


async def test_a_pick_movement_is_audited_by_reference_to_its_ledger_row(client, wave, demo_db):  # noqa: F811
    picker = await login(client, "picker", device="tc52-01")
    task = await task_for(client, picker, "SO-5001", "SYR-10ML")
    body = {
        "clientScanId": str(uuid.uuid4()),
        "raw": gs1(task["item"]["gtin"], task["lot"], await lot_expiry(demo_db, task["lot"])),
        "locationRaw": task["location"]["barcode"],
    }
    r = await client.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=picker)
    assert r.status_code == 200, r.text
    await audit.seal(demo_db)
    async with demo_db() as s:
        row = (
            await s.execute(
                text(
                    "SELECT l.user_id IS NOT NULL, l.device_id, c.seq FROM stock_ledger l"
                    " LEFT JOIN audit_chain c ON c.source = 1 AND c.source_id = l.id WHERE l.movement = 'pick'"
                )
            )
        ).one()
    assert row[0] and row[1] == "tc52-01" and row[2] is not None
    assert (await audit.verify(demo_db)).ok
