"""Receiving → picking → shipping driven by MA labels only (issue 22, China UDI).

An item registered with MA (IDcode) DIs on its each and box levels comes in from the ERP; a purchase
order is received by scanning MA box codes, put away, a sales order is picked FEFO by scanning MA codes
(a box scan counts its pack quantity), packed and shipped — no GS1 barcode is scanned anywhere. Then,
per scan path, an MA code whose DI no item carries is refused as an unknown GTIN is.
"""

from __future__ import annotations

import uuid

import pytest
from msgspec.structs import replace

from tests.api.test_picking import SYR, events, gs1, scan
from tests.conftest import login
from tests.receiving.helpers import STOCK_AT, days, rows, scan_body
from udipick.domain.barcodes import Scan
from udipick.domain.barcodes.ma import MaCode, build_ma
from udipick.services import scans
from udipick.services.demo import demo_gtin

ITEM = "MA-SYR-5ML"
EACH_DI = "MA.156.M0.100001.10000012"
BOX_DI = "MA.156.M0.100001.20000019"
UNKNOWN_DI = "MA.156.M0.100001.90000014"
EARLY, LATE = ("MAE1", days(200)), ("MAL1", days(400))


def ma(di: str, lot: tuple | None = None, serial: str | None = None) -> str:
    """An MA code as a handheld sends a Data Matrix without FNC1: ``]d1`` then the code."""
    name, expiry = lot if lot else (None, None)
    return "]d1" + build_ma(MaCode(di=di, lot=name, serial=serial, expiry_date=expiry))


async def _register(client, admin) -> None:
    item = {
        "erpId": ITEM,
        "version": 1,
        "gtin": demo_gtin(1099),
        "name": "一次性使用无菌注射器 5 ml",
        "baseUnit": "EA",
        "lotTracked": True,
        "expiryTracked": True,
        "udiAgency": "ma",
        "maDi": EACH_DI,
        # the box has no GTIN: MA is the only agency that numbered it
        "packLevels": [{"level": "box", "quantity": 10, "maDi": BOX_DI}],
    }
    r = await client.post("/api/v1/erp/items", json=item, headers=admin)
    assert r.status_code in (200, 201), r.text


async def _tasks(client, picker, order: str) -> list[dict]:
    return [t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["order"] == order]


# ---- steps of a flow, shared with the AHM flow (tests/api/test_ahm_flow.py) -----------------------------


async def receive_and_put_away(
    client, admin, receiver, po: str, item: str, quantity: int, raws: list[str], location: str = "LOC-A-02-03"
) -> None:
    """The ERP sends purchase order ``po`` for ``quantity`` of ``item``; the receiver scans ``raws`` on it,
    closes the receipt and puts every task away at ``location``."""
    order = {"erpId": po, "version": 1, "number": f"N-{po}", "supplier": "SUP-MEDTEC"}
    order["lines"] = [{"lineNo": 1, "item": item, "quantity": quantity}]
    assert (await client.post("/api/v1/erp/purchase-orders", json=order, headers=admin)).status_code == 201
    r = await client.post("/api/v1/receipts", json={"document": po}, headers=receiver)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for raw in raws:
        r = await client.post(f"/api/v1/receipts/{rid}/scans", json=scan_body(raw), headers=receiver)
        assert r.status_code == 200, r.text
    closed = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=receiver)
    assert closed.status_code == 200, closed.text
    for task in closed.json()["putawayTasks"]:
        r = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=scan_body(location), headers=receiver)
        assert r.status_code == 200, r.text


async def release_order(client, admin, sup, picker, so: str, item: str, quantity: int) -> list[dict]:
    """The ERP sends sales order ``so`` for ``quantity`` of ``item``; a wave releases it; its pick tasks."""
    order = {
        "erpId": so,
        "version": 1,
        "number": f"N-{so}",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "Ward 3", "addressLines": ["1 UDI Road"], "city": "Shanghai"},
        "lines": [{"lineNo": 1, "item": item, "quantity": quantity}],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=order, headers=admin)).status_code == 201
    assert (await client.post("/api/v1/waves", json={"orders": [so]}, headers=sup)).status_code == 201
    return await _tasks(client, picker, so)


async def pack(client, picker, so: str, raws: list[str]) -> str:
    """A package for ``so`` with ``raws`` scanned into it (left open); its SSCC."""
    r = await client.post("/api/v1/packing/packages", json={"order": so}, headers=picker)
    assert r.status_code == 201, r.text
    sscc = r.json()["sscc"]
    for raw in raws:
        r = await client.post(
            f"/api/v1/packing/packages/{sscc}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": raw},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    return str(sscc)


async def test_an_ma_registered_item_is_received_picked_fefo_packed_and_shipped_by_ma_codes_only(client, demo_db):
    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    await _register(client, admin)

    # the scan API names the item and the box's quantity from the MA code alone
    r = await client.post("/api/v1/scans/interpret", json={"raw": ma(BOX_DI, EARLY)}, headers=receiver)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["di"], body["lot"], body["expiry"]) == ("ma", BOX_DI, "MAE1", EARLY[1].isoformat())
    assert (body["item"]["erpId"], body["item"]["packLevel"], body["item"]["units"]) == (ITEM, "box", 10)

    await receive_and_put_away(client, admin, receiver, "PO-MA", ITEM, 20, [ma(BOX_DI, LATE), ma(BOX_DI, EARLY)])
    assert sorted(
        (lot, qty) for item, lot, _, status, qty, _ in await rows(demo_db, STOCK_AT, loc="A-02-03") if item == ITEM
    ) == [("MAE1", 10), ("MAL1", 10)]
    assert await rows(
        demo_db,
        "SELECT lot, expiry FROM lots l JOIN items i ON i.id = l.item_id WHERE i.erp_id = :i ORDER BY lot",
        i=ITEM,
    ) == [("MAE1", EARLY[1]), ("MAL1", LATE[1])]

    tasks = await release_order(client, admin, sup, picker, "SO-MA", ITEM, 12)
    by_lot = {t["lot"]: t for t in tasks}
    assert sorted((t["lot"], t["quantity"]) for t in tasks) == [("MAE1", 10), ("MAL1", 2)]  # FEFO

    # the later-expiring box for the earliest lot's task: FEFO refuses it
    r = await scan(client, picker, by_lot["MAE1"], ma(BOX_DI, LATE))
    assert r.status_code == 409 and r.json()["code"] == "fefo-violation", r.text
    r = await scan(client, picker, by_lot["MAE1"], ma(BOX_DI, EARLY))  # one box scan: 10 units
    assert r.status_code == 200, r.text
    assert (r.json()["units"], r.json()["taskStatus"]) == (10, "done")
    for _ in range(2):
        r = await scan(client, picker, by_lot["MAL1"], ma(EACH_DI, LATE))
        assert r.status_code == 200 and r.json()["units"] == 1, r.text

    sscc = await pack(client, picker, "SO-MA", [ma(BOX_DI, EARLY), ma(EACH_DI, LATE), ma(EACH_DI, LATE)])
    r = await client.post(
        f"/api/v1/packing/packages/{sscc}/scans",
        json={"clientScanId": str(uuid.uuid4()), "raw": ma(UNKNOWN_DI, LATE)},
        headers=picker,
    )
    assert r.status_code == 404 and r.json()["code"] == "unknown-gtin" and UNKNOWN_DI in r.json()["detail"], r.text
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
    r = await client.post("/api/v1/shipments", json={"order": "SO-MA"}, headers=picker)
    assert r.status_code == 200, r.text

    # what is left: 8 of the later lot on the shelf; 12 shipped, by lot
    assert [
        (lot, status, qty)
        for item, lot, _, status, qty, _ in await rows(demo_db, STOCK_AT, loc="A-02-03")
        if item == ITEM
    ] == [("MAL1", "available", 8)]
    ledger = await rows(
        demo_db,
        "SELECT sl.movement, l.lot, sum(sl.quantity)::int FROM stock_ledger sl JOIN items i ON i.id = sl.item_id"
        " JOIN lots l ON l.id = sl.lot_id WHERE i.erp_id = :i GROUP BY sl.movement, l.lot ORDER BY 1, 2",
        i=ITEM,
    )
    assert [(lot, qty) for movement, lot, qty in ledger if movement == "ship"] == [("MAE1", 10), ("MAL1", 2)]
    picks = [e for e in await events(demo_db, "pick.confirmed.v1") if e["item"] == ITEM]
    assert sorted((e["lot"], e["quantity"]) for e in picks) == [("MAE1", 10), ("MAL1", 1), ("MAL1", 1)]
    received = [e for e in await events(demo_db, "receipt.confirmed.v1") if "PO-MA" in str(e)]
    assert received, "the receipt was confirmed"
    shipped = [e for e in await events(demo_db, "shipment.confirmed.v1") if "SO-MA" in str(e)]
    assert len(shipped) == 1
    assert sum(line["quantity"] for line in _lines(shipped[0])) == 12


def _lines(event: dict) -> list[dict]:
    for key in ("lines", "items", "contents"):
        if key in event:
            return [ln for ln in event[key] if isinstance(ln, dict) and "quantity" in ln]
    raise AssertionError(f"no lines in {event}")


# ---- an MA code no item carries is refused on every scan path ---------------------------------------


@pytest.fixture
async def registered(client):
    admin = await login(client, "admin")
    await _register(client, admin)
    return admin


async def test_the_scan_api_names_no_item_for_an_unknown_ma_di(client, registered):
    r = await client.post("/api/v1/scans/interpret", json={"raw": ma(UNKNOWN_DI, EARLY)}, headers=registered)
    assert r.status_code == 200 and r.json()["kind"] == "ma" and "item" not in r.json(), r.text


async def test_receiving_refuses_an_unknown_ma_di_as_an_unknown_item(client, registered):
    sup = await login(client, "supervisor", device="hh-sup")
    r = await client.post("/api/v1/receipts", json={"blind": True, "supplier": "SUP-MEDTEC"}, headers=sup)
    r = await client.post(
        f"/api/v1/receipts/{r.json()['id']}/scans", json=scan_body(ma(UNKNOWN_DI, EARLY)), headers=sup
    )
    assert r.status_code == 404, r.text
    assert (r.json()["code"], r.json()["di"], r.json()["agency"]) == ("unknown-gtin", UNKNOWN_DI, "ma")
    assert UNKNOWN_DI in r.json()["detail"]


async def test_moves_refuse_an_unknown_ma_di_as_an_unknown_item(client, registered):
    sup = await login(client, "supervisor", device="hh-sup")
    r = await client.post(
        "/api/v1/moves",
        json={
            "clientScanId": str(uuid.uuid4()),
            "from": "LOC-A-02-03",
            "to": "LOC-A-01-02",
            "units": [{"raw": ma(UNKNOWN_DI, EARLY), "quantity": 1}],
        },
        headers=sup,
    )
    assert r.status_code == 404, r.text
    assert (r.json()["code"], r.json()["di"]) == ("unknown-gtin", UNKNOWN_DI)


async def test_picking_refuses_an_unknown_ma_di_as_another_item(client, registered, demo_db):
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    so = {
        "erpId": "SO-MA-X",
        "version": 1,
        "number": "N-SO-MA-X",
        "customer": "CUST-RIVER",
        "shipTo": {"name": "Ward 3", "city": "Shanghai"},
        "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 1}],
    }
    assert (await client.post("/api/v1/erp/sales-orders", json=so, headers=registered)).status_code == 201
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-MA-X"]}, headers=sup)).status_code == 201
    (task,) = await _tasks(client, picker, "SO-MA-X")
    for raw in (ma(UNKNOWN_DI, (task["lot"], days(300))), ma(EACH_DI, (task["lot"], days(300)))):
        r = await scan(client, picker, task, raw)  # no item, and an MA item that is not the task's
        assert r.status_code == 409 and r.json()["code"] == "wrong-item", r.text
        # the task's item is GS1's: named by its GTIN
        assert (r.json()["expectedAgency"], r.json()["expectedCode"]) == ("gs1", task["item"]["gtin"]), r.text


async def test_picking_names_an_ma_items_ma_di_when_another_item_is_scanned(client, registered, demo_db):
    receiver = await login(client, "receiver", device="hh-dock")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    await receive_and_put_away(client, registered, receiver, "PO-MA-W", ITEM, 10, [ma(BOX_DI, EARLY)])
    (task,) = await release_order(client, registered, sup, picker, "SO-MA-W", ITEM, 1)
    r = await scan(client, picker, task, gs1(SYR, "SY2405B"))
    assert r.status_code == 409 and r.json()["code"] == "wrong-item", r.text
    problem = r.json()
    assert (problem["expectedAgency"], problem["expectedCode"], problem["expectedDi"]) == ("ma", EACH_DI, EACH_DI)
    assert f"(MA code {EACH_DI})" in problem["detail"]


async def test_returns_refuse_an_unknown_ma_di_as_an_unknown_item(client, registered):
    sup = await login(client, "supervisor", device="hh-sup")
    r = await client.post("/api/v1/returns", json={"blind": True, "customer": "CUST-RIVER"}, headers=sup)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/returns/{r.json()['returnId'] if 'returnId' in r.json() else r.json()['id']}/scans",
        json=scan_body(ma(UNKNOWN_DI, EARLY)),
        headers=sup,
    )
    assert r.status_code == 404, r.text
    assert (r.json()["code"], r.json()["di"]) == ("unknown-gtin", UNKNOWN_DI)


async def test_putaway_refuses_an_unknown_ma_di_as_an_unknown_item(client, registered):
    receiver = await login(client, "receiver", device="hh-dock")
    r = await client.post("/api/v1/putaway/identify", json={"raw": ma(UNKNOWN_DI, EARLY)}, headers=receiver)
    assert r.status_code == 404, r.text
    assert (r.json()["code"], r.json()["di"]) == ("unknown-gtin", UNKNOWN_DI)


async def test_an_ahm_di_resolves_to_its_item_and_pack_quantity_through_the_same_lookup(client, demo_db):
    # the AHM reader is another branch's: its interpretation (kind "ahm", ``di``, ``lot``) stands in for it
    admin = await login(client, "admin")
    item = {
        "erpId": "AHM-GAUZE",
        "version": 1,
        "gtin": demo_gtin(1098),
        "name": "Gauze swab (AHM code)",
        "baseUnit": "EA",
        "lotTracked": True,
        "udiAgency": "ahm",
        "ahmDi": "AHM.1000001.2000001",
        "packLevels": [{"level": "box", "quantity": 5, "ahmDi": "AHM.1000001.2000002"}],
    }
    assert (await client.post("/api/v1/erp/items", json=item, headers=admin)).status_code == 201

    def ahm(di: str):
        return replace(Scan(kind="ma", raw=f"{di}.BNG1", di=di, lot="G1"), kind="ahm")

    async with demo_db() as session:
        box = await scans.match_item(session, ahm("AHM.1000001.2000002"))
        each = await scans.match_item(session, ahm("AHM.1000001.2000001"))
        unknown = await scans.match_item(session, ahm("AHM.1000001.2000009"))
        # the agency is part of the key: an MA scan carrying the same text is not the AHM item
        as_ma = await scans.match_item(session, Scan(kind="ma", raw="x", di="AHM.1000001.2000001"))
    assert (box.erp_id, box.pack_level, box.units) == ("AHM-GAUZE", "box", 5)
    assert (each.erp_id, each.pack_level, each.units) == ("AHM-GAUZE", "each", 1)
    assert unknown is None and as_ma is None
