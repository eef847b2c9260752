"""ERP inbound: idempotent upserts keyed by ERP id and version; bulk loads keep the good records."""

from __future__ import annotations

import json

import pytest

from tests.conftest import login
from udipick.domain.gs1_numbers import gs1_check_digit

ITEM = {
    "erpId": "TEST-ITEM-1",
    "version": 1,
    "gtin": "4006381333931",
    "name": "Test catheter",
    "baseUnit": "EA",
    "lotTracked": True,
    "expiryTracked": True,
    "packLevels": [{"level": "box", "gtin": "14006381333938", "quantity": 10}],
}


@pytest.fixture
async def admin(client):
    return await login(client, "admin")


async def test_item_upsert_creates_then_replay_changes_nothing(client, admin):
    r = await client.post("/api/v1/erp/items", json=ITEM, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "created"
    r2 = await client.post("/api/v1/erp/items", json=ITEM, headers=admin)
    assert r2.status_code == 200
    assert r2.json()["status"] == "unchanged"


async def test_newer_version_replaces_and_older_version_is_refused(client, admin):
    await client.post("/api/v1/erp/items", json=ITEM, headers=admin)
    r = await client.post("/api/v1/erp/items", json={**ITEM, "version": 3, "name": "Renamed"}, headers=admin)
    assert r.json()["status"] == "updated"
    r = await client.post("/api/v1/erp/items", json={**ITEM, "version": 2, "name": "Old name"}, headers=admin)
    assert r.status_code == 409
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "stale-version"
    assert problem["pointer"] == "/version"
    assert problem["currentVersion"] == 3


async def test_gtin_is_stored_as_gtin14_and_pack_levels_map_to_base_units(client, admin, demo_db):
    from sqlalchemy import select

    from udipick.db.models import Item, ItemGtin

    await client.post("/api/v1/erp/items", json=ITEM, headers=admin)
    async with demo_db() as s:
        item = await s.scalar(select(Item).where(Item.erp_id == "TEST-ITEM-1"))
        assert item.gtin == "04006381333931"
        rows = (
            await s.execute(
                select(ItemGtin.gtin, ItemGtin.pack_level, ItemGtin.quantity).where(ItemGtin.item_id == item.id)
            )
        ).all()
    assert sorted(rows) == [("04006381333931", "each", 1), ("14006381333938", "box", 10)]


async def test_gtin_of_another_item_is_refused(client, admin):
    await client.post("/api/v1/erp/items", json=ITEM, headers=admin)
    r = await client.post("/api/v1/erp/items", json={**ITEM, "erpId": "OTHER", "packLevels": []}, headers=admin)
    assert r.status_code == 409
    assert r.json()["pointer"] == "/gtin"
    assert "TEST-ITEM-1" in r.json()["detail"]


async def test_bulk_load_refuses_bad_records_one_by_one_and_keeps_the_rest(client, admin):
    good = [{**ITEM, "erpId": f"BULK-{i}", "gtin": _gtin(900000 + i), "packLevels": []} for i in range(5)]
    bad_check_digit = {**ITEM, "erpId": "BAD-GTIN", "gtin": "4006381333932", "packLevels": []}
    unknown_unit = {**ITEM, "erpId": "BAD-UNIT", "gtin": _gtin(910001), "baseUnit": "XX", "packLevels": []}
    missing_field = {k: v for k, v in ITEM.items() if k != "name"} | {
        "erpId": "NO-NAME",
        "gtin": _gtin(910002),
        "packLevels": [],
    }
    bad_pack_gtin = {
        **ITEM,
        "erpId": "BAD-PACK",
        "gtin": _gtin(910003),
        "packLevels": [{"level": "box", "gtin": "123", "quantity": 5}],
    }
    lines = [
        json.dumps(good[0]),
        json.dumps(bad_check_digit),
        json.dumps(good[1]),
        json.dumps(unknown_unit),
        '{"erpId": "BROKEN", ',
        json.dumps(missing_field),
        "",
        json.dumps(good[2]),
        json.dumps(bad_pack_gtin),
        json.dumps(good[3]),
        json.dumps(good[4]),
    ]
    body = "\n".join(lines).encode()
    r = await client.post(
        "/api/v1/erp/items/bulk", content=body, headers={**admin, "content-type": "application/x-ndjson"}
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["received"], summary["created"], summary["refused"]) == (10, 5, 5)
    by_line = {p["line"]: p for p in summary["problems"]}
    assert by_line[2]["code"] == "invalid-gtin" and by_line[2]["pointer"] == "/gtin"
    assert "check digit" in by_line[2]["detail"]
    assert by_line[4]["pointer"] == "/baseUnit"
    assert by_line[5]["code"] == "invalid-record" and "JSON" in by_line[5]["detail"]
    assert by_line[6]["pointer"] == "/name"
    assert by_line[9]["pointer"] == "/packLevels/0/gtin"
    for p in summary["problems"]:
        assert {"type", "title", "status", "detail"} <= p.keys()
    # the same load again: nothing changes, the same records are refused
    r2 = await client.post(
        "/api/v1/erp/items/bulk", content=body, headers={**admin, "content-type": "application/x-ndjson"}
    )
    again = r2.json()
    assert (again["created"], again["updated"], again["unchanged"], again["refused"]) == (0, 0, 5, 5)


async def test_purchase_order_needs_known_supplier_and_items_and_is_versioned(client, admin):
    po = {
        "erpId": "PO-T1",
        "version": 1,
        "number": "PO-T1",
        "supplier": "SUP-MEDTEC",
        "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 10}, {"lineNo": 2, "item": "NOPE", "quantity": 1}],
    }
    r = await client.post("/api/v1/erp/purchase-orders", json=po, headers=admin)
    assert r.status_code == 422
    assert r.json()["pointer"] == "/lines/1/item"
    po["lines"].pop()
    assert (await client.post("/api/v1/erp/purchase-orders", json=po, headers=admin)).status_code == 201
    assert (await client.post("/api/v1/erp/purchase-orders", json=po, headers=admin)).json()["status"] == "unchanged"
    po2 = {**po, "version": 2, "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 12}]}
    assert (await client.post("/api/v1/erp/purchase-orders", json=po2, headers=admin)).json()["status"] == "updated"
    r = await client.post("/api/v1/erp/purchase-orders", json=po, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "stale-version"
    r = await client.post("/api/v1/erp/purchase-orders", json={**po, "version": 5, "supplier": "NOPE"}, headers=admin)
    assert r.status_code == 422 and r.json()["pointer"] == "/supplier"


async def test_sales_order_upsert_and_ship_to_with_chinese_text(client, admin, demo_db):
    from sqlalchemy import select

    from udipick.db.models import OutboundDocument

    so = {
        "erpId": "SO-T1",
        "version": 1,
        "number": "SO-T1",
        "customer": "CUST-SH-01",
        "shipTo": {"name": "北京协和医院", "addressLines": ["东城区帅府园1号"], "city": "北京", "country": "CN"},
        "lines": [{"lineNo": 1, "item": "GLOVE-NIT-M", "quantity": 20, "minShelfLifeDays": 100}],
    }
    r = await client.post("/api/v1/erp/sales-orders", json=so, headers=admin)
    assert r.status_code == 201, r.text
    async with demo_db() as s:
        doc = await s.scalar(select(OutboundDocument).where(OutboundDocument.erp_id == "SO-T1"))
    assert doc.ship_to["name"] == "北京协和医院"
    r = await client.post("/api/v1/erp/sales-orders", json={**so, "version": 2, "lines": []}, headers=admin)
    assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == "/lines"


async def test_single_record_with_wrong_json_gets_a_problem(client, admin):
    r = await client.post(
        "/api/v1/erp/customers", content=b'{"erpId": 5', headers={**admin, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(
        "/api/v1/erp/customers", json={"erpId": "C1", "version": 1, "name": "X", "gln": "12"}, headers=admin
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["pointer"] == "/gln"


async def test_locations_get_barcodes_and_versions(client, admin):
    loc = {"code": "Z-09-01", "version": 1, "zone": "Z", "type": "pick", "pickSequence": 9}
    r = await client.post("/api/v1/erp/locations", json=loc, headers=admin)
    assert r.status_code == 201
    r = await client.post("/api/v1/erp/locations", json={**loc, "type": "garage"}, headers=admin)
    assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == "/type"
    r = await client.post(
        "/api/v1/erp/locations/bulk",
        content=(json.dumps(loc) + "\n" + json.dumps({**loc, "version": 2, "frozen": True})).encode(),
        headers={**admin, "content-type": "application/x-ndjson"},
    )
    assert r.json()["unchanged"] == 1 and r.json()["updated"] == 1


def _gtin(n: int) -> str:
    digits = f"400{n:09d}"
    return digits + str(gs1_check_digit(digits))


async def test_regulatory_master_data_is_kept_and_a_wrong_class_is_refused(client, admin, demo_db):
    from sqlalchemy import select

    from udipick.db.models import Customer, Item, Supplier

    reg = {
        "specification": "Φ2.0mm×150cm",
        "registrationNo": "国械注准20153660123",
        "registrationHolder": "上海某医疗器械有限公司",
        "deviceClass": "III",
        "registrationValidUntil": "2029-05-31",
    }
    r = await client.post("/api/v1/erp/items", json={**ITEM, **reg}, headers=admin)
    assert r.status_code == 201, r.text
    licence = {"licenceNo": "沪药监械经营许20180001号", "licenceValidUntil": "2027-12-31"}
    r = await client.post(
        "/api/v1/erp/suppliers", json={"erpId": "SUP-REG", "version": 1, "name": "供应商", **licence}, headers=admin
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/erp/customers", json={"erpId": "CUS-REG", "version": 1, "name": "医院", **licence}, headers=admin
    )
    assert r.status_code == 201, r.text
    async with demo_db() as s:
        item = await s.scalar(select(Item).where(Item.erp_id == "TEST-ITEM-1"))
        assert (item.specification, item.registration_no, item.registration_holder, item.device_class) == (
            "Φ2.0mm×150cm",
            "国械注准20153660123",
            "上海某医疗器械有限公司",
            "III",
        )
        assert str(item.registration_valid_until) == "2029-05-31"
        for model, erp_id in ((Supplier, "SUP-REG"), (Customer, "CUS-REG")):
            party = await s.scalar(select(model).where(model.erp_id == erp_id))
            assert (party.licence_no, str(party.licence_valid_until)) == ("沪药监械经营许20180001号", "2027-12-31")
    r = await client.post("/api/v1/erp/items", json={**ITEM, "version": 2, "deviceClass": "IV"}, headers=admin)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["pointer"] == "/deviceClass"


MA_EACH, MA_BOX = "MA.156.M0.100001.10000012", "MA.156.M0.100001.20000019"
AHM_EACH = "AHM.1000001.2000001"
MA_ITEM = {
    **ITEM,
    "udiAgency": "ma",
    "maDi": MA_EACH,
    "ahmDi": AHM_EACH,
    "packLevels": [{"level": "box", "gtin": "14006381333938", "quantity": 10, "maDi": MA_BOX}],
}


async def test_ma_and_ahm_dis_map_each_pack_level_to_its_item_and_quantity(client, admin, demo_db):
    from sqlalchemy import select

    from udipick.db.models import Item, ItemDi

    r = await client.post("/api/v1/erp/items", json=MA_ITEM, headers=admin)
    assert r.status_code == 201, r.text
    async with demo_db() as s:
        item = await s.scalar(select(Item).where(Item.erp_id == "TEST-ITEM-1"))
        assert item.udi_agency == "ma"
        rows = (
            await s.execute(
                select(ItemDi.agency, ItemDi.di, ItemDi.pack_level, ItemDi.quantity).where(ItemDi.item_id == item.id)
            )
        ).all()
    assert sorted(rows) == [("ahm", AHM_EACH, "each", 1), ("ma", MA_EACH, "each", 1), ("ma", MA_BOX, "box", 10)]
    # a replay with the same DIs changes nothing; the same version with another DI is refused
    assert (await client.post("/api/v1/erp/items", json=MA_ITEM, headers=admin)).json()["status"] == "unchanged"
    other_box = [{**MA_ITEM["packLevels"][0], "maDi": "MA.156.M0.100001.30000016"}]
    r = await client.post("/api/v1/erp/items", json={**MA_ITEM, "packLevels": other_box}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "version-reused", r.text
    # a new version without the AHM DI drops it
    r = await client.post("/api/v1/erp/items", json={**MA_ITEM, "version": 2, "ahmDi": None}, headers=admin)
    assert r.json()["status"] == "updated", r.text
    async with demo_db() as s:
        assert (await s.scalar(select(ItemDi.di).where(ItemDi.agency == "ahm", ItemDi.di == AHM_EACH))) is None


async def test_a_pack_level_named_by_an_ma_di_alone_needs_no_gtin(client, admin, demo_db):
    from sqlalchemy import text

    item = {**MA_ITEM, "ahmDi": None, "packLevels": [{"level": "case", "quantity": 40, "maDi": MA_BOX}]}
    r = await client.post("/api/v1/erp/items", json=item, headers=admin)
    assert r.status_code == 201, r.text
    assert (await client.post("/api/v1/erp/items", json=item, headers=admin)).json()["status"] == "unchanged"
    async with demo_db() as s:
        gtins = (
            await s.execute(
                text(
                    "SELECT g.gtin, g.pack_level FROM item_gtins g JOIN items i ON i.id = g.item_id"
                    " WHERE i.erp_id = 'TEST-ITEM-1'"
                )
            )
        ).all()
        dis = (
            await s.execute(
                text(
                    "SELECT di, pack_level, quantity FROM item_dis d JOIN items i ON i.id = d.item_id"
                    " WHERE i.erp_id = 'TEST-ITEM-1' ORDER BY quantity"
                )
            )
        ).all()
    assert [tuple(g) for g in gtins] == [("04006381333931", "each")]
    assert [tuple(d) for d in dis] == [(MA_EACH, "each", 1), (MA_BOX, "case", 40)]


async def test_a_di_of_another_item_is_refused_with_its_pointer(client, admin):
    assert (await client.post("/api/v1/erp/items", json=MA_ITEM, headers=admin)).status_code == 201
    other = {
        **ITEM,
        "erpId": "OTHER",
        "gtin": "4006381333948",
        "packLevels": [{"level": "box", "gtin": "14006381333945", "quantity": 5, "maDi": MA_BOX}],
    }
    r = await client.post("/api/v1/erp/items", json=other, headers=admin)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert (problem["code"], problem["pointer"], problem["di"], problem["item"]) == (
        "conflict",
        "/packLevels/0/maDi",
        MA_BOX,
        "TEST-ITEM-1",
    )
    r = await client.post("/api/v1/erp/items", json={**other, "packLevels": [], "ahmDi": AHM_EACH}, headers=admin)
    assert (r.status_code, r.json()["pointer"]) == (409, "/ahmDi"), r.text


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"maDi": "MA.156.M0.100001.1000001"}, "/maDi", "product code"),
        (
            {"packLevels": [{"level": "box", "gtin": "14006381333938", "quantity": 10, "maDi": "01234"}]},
            "/packLevels/0/maDi",
            "starts with 'MA.'",
        ),
        ({"ahmDi": "AHM-1"}, "/ahmDi", "is not AHM.<manufacturer code>"),
        ({"maDi": None}, "/maDi", "needs its each level's MA DI"),
        ({"packLevels": [{"level": "box", "quantity": 10}]}, "/packLevels/0/gtin", "needs a GTIN, an MA DI"),
        (
            {"packLevels": [{"level": "box", "quantity": 10, "maDi": MA_BOX, "hibcUom": 1}]},
            "/packLevels/0/hibcUom",
            "give the GTIN too",
        ),
        (
            {"packLevels": [{"level": "box", "gtin": "14006381333938", "quantity": 10, "maDi": MA_EACH}]},
            "/packLevels/0/maDi",
            "used twice",
        ),
    ],
)
async def test_a_bad_di_is_refused_with_a_pointer(client, admin, change, pointer, words):
    r = await client.post("/api/v1/erp/items", json={**MA_ITEM, **change}, headers=admin)
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["pointer"]) == ("invalid-record", pointer)
    assert words in r.json()["detail"]
