"""Receiving → picking → shipping driven by AHM codes only (issue 22, China UDI): the AHM sibling of
``tests/api/test_ma_flow.py``, with its steps.

An item registered with AHM (Alibaba Health) DIs on its each and box levels comes in from the ERP; a
purchase order is received by scanning AHM box codes and put away; a sales order is picked FEFO by
scanning AHM codes (a box scan counts its pack quantity), packed and shipped — no GS1 or MA code is
scanned anywhere. The codes are spelled as udipick reads them (docs/ahm_codes.md).
"""

from __future__ import annotations

from tests.api.test_ma_flow import pack, receive_and_put_away, release_order
from tests.api.test_picking import GLOVE, events, gs1, scan
from tests.conftest import login
from tests.receiving.helpers import STOCK_AT, days, rows
from udipick.domain.barcodes.ahm import AhmCode, build_ahm
from udipick.services.demo import demo_gtin

ITEM = "AHM-GAUZE"
EACH_DI = "AHM.1000001.2000001"
BOX_DI = "AHM.1000001.2000002"
EARLY, LATE = ("BN1", days(200)), ("BN2", days(400))


def ahm(di: str, lot: tuple) -> str:
    """An AHM code as a handheld sends a QR Code without FNC1: ``]Q1`` then the code."""
    name, expiry = lot
    return "]Q1" + build_ahm(AhmCode(di=di, lot=name, expiry_date=expiry))


async def test_an_ahm_registered_item_is_received_picked_fefo_packed_and_shipped_by_ahm_codes_only(client, demo_db):
    admin = await login(client, "admin")
    receiver = await login(client, "receiver", device="hh-dock")
    sup = await login(client, "supervisor", device="hh-sup")
    picker = await login(client, "picker", device="hh-pick")
    item = {
        "erpId": ITEM,
        "version": 1,
        "gtin": demo_gtin(1098),
        "name": "医用纱布 (AHM)",
        "baseUnit": "EA",
        "lotTracked": True,
        "expiryTracked": True,
        "udiAgency": "ahm",
        "ahmDi": EACH_DI,
        "packLevels": [{"level": "box", "quantity": 5, "ahmDi": BOX_DI}],  # no GTIN: AHM numbered the box
    }
    r = await client.post("/api/v1/erp/items", json=item, headers=admin)
    assert r.status_code == 201, r.text

    await receive_and_put_away(client, admin, receiver, "PO-AHM", ITEM, 10, [ahm(BOX_DI, LATE), ahm(BOX_DI, EARLY)])
    assert sorted(
        (lot, qty) for it, lot, _, status, qty, _ in await rows(demo_db, STOCK_AT, loc="A-02-03") if it == ITEM
    ) == [("BN1", 5), ("BN2", 5)]

    tasks = await release_order(client, admin, sup, picker, "SO-AHM", ITEM, 7)
    by_lot = {t["lot"]: t for t in tasks}
    assert sorted((t["lot"], t["quantity"]) for t in tasks) == [("BN1", 5), ("BN2", 2)]  # FEFO
    # another item's unit: the refusal names the AHM code on the task item's labels, not its unused GTIN
    r = await scan(client, picker, by_lot["BN1"], gs1(GLOVE, "GL-77-01"))
    assert r.status_code == 409 and r.json()["code"] == "wrong-item", r.text
    problem = r.json()
    assert (problem["expectedAgency"], problem["expectedCode"], problem["expectedDi"]) == ("ahm", EACH_DI, EACH_DI)
    assert f"(AHM code {EACH_DI})" in problem["detail"] and problem["expectedGtin"] == demo_gtin(1098)
    r = await scan(client, picker, by_lot["BN1"], ahm(BOX_DI, LATE))
    assert r.status_code == 409 and r.json()["code"] == "fefo-violation", r.text
    r = await scan(client, picker, by_lot["BN1"], ahm(BOX_DI, EARLY))  # one box scan: 5 units
    assert r.status_code == 200 and (r.json()["units"], r.json()["taskStatus"]) == (5, "done"), r.text
    for _ in range(2):
        r = await scan(client, picker, by_lot["BN2"], ahm(EACH_DI, LATE))
        assert r.status_code == 200 and r.json()["units"] == 1, r.text

    sscc = await pack(client, picker, "SO-AHM", [ahm(BOX_DI, EARLY), ahm(EACH_DI, LATE), ahm(EACH_DI, LATE)])
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
    r = await client.post("/api/v1/shipments", json={"order": "SO-AHM"}, headers=picker)
    assert r.status_code == 200, r.text

    assert [
        (lot, status, qty) for it, lot, _, status, qty, _ in await rows(demo_db, STOCK_AT, loc="A-02-03") if it == ITEM
    ] == [("BN2", "available", 3)]
    shipped = await rows(
        demo_db,
        "SELECT l.lot, sum(sl.quantity)::int FROM stock_ledger sl JOIN items i ON i.id = sl.item_id"
        " JOIN lots l ON l.id = sl.lot_id WHERE i.erp_id = :i AND sl.movement = 'ship' GROUP BY l.lot ORDER BY 1",
        i=ITEM,
    )
    assert shipped == [("BN1", 5), ("BN2", 2)]
    picks = [e for e in await events(demo_db, "pick.confirmed.v1") if e["item"] == ITEM]
    assert sorted((e["lot"], e["quantity"]) for e in picks) == [("BN1", 5), ("BN2", 1), ("BN2", 1)]
