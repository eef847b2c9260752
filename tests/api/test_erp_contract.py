"""The ERP contract as a new integrator meets it (docs/erp_integration.md): versions name one content,
a replay answers the real id, and every refusal says why."""

from __future__ import annotations

import json

import pytest

from tests.conftest import login

ITEM = {
    "erpId": "CT-ITEM-1",
    "version": 1,
    "gtin": "4006381333931",
    "name": "Contract catheter",
    "baseUnit": "EA",
    "lotTracked": True,
    "minTempC": 2.345,
    "packLevels": [{"level": "box", "gtin": "14006381333938", "quantity": 10}],
}
CUSTOMER = {"erpId": "CT-CUST-1", "version": 1, "name": "协和医院", "gln": "6901234000016", "minShelfLifeDays": 90}
SUPPLIER = {"erpId": "CT-SUP-1", "version": 1, "name": "MedTec", "overReceiptTolerancePct": 2.5}
LOCATION = {"code": "CT-01-01", "version": 1, "zone": "Z", "type": "pick", "pickSequence": 4}
PO = {
    "erpId": "CT-PO-1",
    "version": 1,
    "number": "CT-PO-1",
    "supplier": "SUP-MEDTEC",
    "expectedDate": "2026-12-24",
    "lines": [
        {"lineNo": 1, "item": "SYR-10ML", "quantity": 10, "expected": [{"lot": "L1", "expiry": "2028-01-31"}]},
        {"lineNo": 2, "item": "GLOVE-NIT-M", "quantity": 5},
    ],
}
SO = {
    "erpId": "CT-SO-1",
    "version": 1,
    "number": "CT-SO-1",
    "customer": "CUST-SH-01",
    "shipTo": {"name": "北京协和医院", "addressLines": ["东城区帅府园1号"], "city": "北京", "country": "CN"},
    "lines": [{"lineNo": 1, "item": "GLOVE-NIT-M", "quantity": 20}, {"lineNo": 2, "item": "SYR-10ML", "quantity": 3}],
}
RMA = {
    "erpId": "CT-RMA-1",
    "version": 1,
    "number": "CT-R-1",
    "customer": "CUST-SH-01",
    "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 2, "reason": "ordered too many"}],
}
STOCK_LEVEL = {"erpId": "CT-SL-1", "version": 1, "item": "SYR-10ML", "warehouse": "MAIN", "minimum": 5, "maximum": 50}


@pytest.fixture
async def admin(client):
    return await login(client, "admin")


KINDS = [
    ("items", ITEM, {"name": "Renamed catheter"}, "/name"),
    ("items", ITEM, {"packLevels": [{"level": "box", "gtin": "14006381333938", "quantity": 12}]}, "/packLevels"),
    ("items", ITEM, {"minTempC": 2.5}, "/minTempC"),
    ("customers", CUSTOMER, {"minShelfLifeDays": 120}, "/minShelfLifeDays"),
    ("suppliers", SUPPLIER, {"gln": "6901234000016"}, "/gln"),
    ("locations", LOCATION, {"frozen": True}, "/frozen"),
    ("purchase-orders", PO, {"expectedDate": "2026-12-31"}, "/expectedDate"),
    ("purchase-orders", PO, {"lines": [{**PO["lines"][0], "quantity": 11}, PO["lines"][1]]}, "/lines/0/quantity"),
    ("purchase-orders", PO, {"lines": [PO["lines"][1], {**PO["lines"][0], "item": "GLOVE-NIT-M"}]}, "/lines/1/item"),
    ("purchase-orders", PO, {"lines": PO["lines"][:1]}, "/lines"),
    ("purchase-orders", PO, {"lines": [*PO["lines"], {"lineNo": 3, "item": "SYR-10ML", "quantity": 1}]}, "/lines/2"),
    ("sales-orders", SO, {"shipTo": {**SO["shipTo"], "city": "上海"}}, "/shipTo/city"),
    (
        "sales-orders",
        SO,
        {"lines": [SO["lines"][0], {**SO["lines"][1], "minShelfLifeDays": 30}]},
        "/lines/1/minShelfLifeDays",
    ),
    ("returns", RMA, {"salesOrder": "SO-1"}, "/salesOrder"),
    ("returns", RMA, {"lines": [{**RMA["lines"][0], "quantity": 3}]}, "/lines/0/quantity"),
    ("stock-levels", STOCK_LEVEL, {"minimum": 6}, "/minimum"),
]


@pytest.mark.parametrize(("path", "record", "change", "pointer"), KINDS, ids=[f"{k[0]}{k[3]}" for k in KINDS])
async def test_the_same_version_with_other_content_is_refused_naming_the_first_differing_field(
    client, admin, path, record, change, pointer
):
    r = await client.post(f"/api/v1/erp/{path}", json=record, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()["id"]
    r = await client.post(f"/api/v1/erp/{path}", json={**record, **change}, headers=admin)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert (problem["code"], problem["pointer"], problem["currentVersion"]) == ("version-reused", pointer, 1)
    assert pointer in problem["detail"]
    # the stored record is untouched: the true replay is still "unchanged", with the id it was created with
    r = await client.post(f"/api/v1/erp/{path}", json=record, headers=admin)
    assert (r.status_code, r.json()["status"], r.json()["id"]) == (200, "unchanged", created)
    # and the change goes through under a new version
    r = await client.post(f"/api/v1/erp/{path}", json={**record, **change, "version": 2}, headers=admin)
    assert (r.status_code, r.json()["status"], r.json()["id"]) == (200, "updated", created), r.text


@pytest.mark.parametrize(("path", "record"), [("items", ITEM), ("customers", CUSTOMER), ("suppliers", SUPPLIER)])
async def test_a_replay_answers_the_real_id_one_by_one_and_in_bulk(client, admin, path, record):
    created = (await client.post(f"/api/v1/erp/{path}", json=record, headers=admin)).json()
    assert created["id"] > 0
    again = (await client.post(f"/api/v1/erp/{path}", json=record, headers=admin)).json()
    assert (again["status"], again["id"]) == ("unchanged", created["id"])
    body = (json.dumps(record) + "\n").encode()
    r = await client.post(
        f"/api/v1/erp/{path}/bulk", content=body, headers={**admin, "content-type": "application/x-ndjson"}
    )
    assert r.json()["results"] == [{"line": 1, "key": record["erpId"], "status": "unchanged", "id": created["id"]}]


async def test_a_bulk_load_refuses_a_reused_version_by_line_and_keeps_the_rest(client, admin):
    await client.post("/api/v1/erp/customers", json=CUSTOMER, headers=admin)
    lines = [
        {**CUSTOMER, "name": "Other name"},
        {**CUSTOMER, "erpId": "CT-CUST-2"},
    ]
    body = "".join(json.dumps(x) + "\n" for x in lines).encode()
    r = await client.post(
        "/api/v1/erp/customers/bulk", content=body, headers={**admin, "content-type": "application/x-ndjson"}
    )
    summary = r.json()
    assert (summary["created"], summary["refused"]) == (1, 1)
    assert summary["problems"][0]["line"] == 1
    assert (summary["problems"][0]["code"], summary["problems"][0]["pointer"]) == ("version-reused", "/name")
