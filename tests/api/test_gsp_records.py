"""GSP records over HTTP: a receipt (cold-chain goods with their transport record, one lot warm and rejected
by QA) and a shipment are built through the API, and every field of the receiving and acceptance record and
of the outbound review record is checked, in NDJSON and in CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zoneinfo

from sqlalchemy import text

from tests.api.test_packing import pick_order
from tests.api.test_picking import GLOVE_BOX, SYR, gs1
from tests.conftest import login
from tests.receiving.helpers import datamatrix, days, scan_body
from udipick.domain.gsp import OUTBOUND_COLUMNS, RECEIVING_COLUMNS, header
from udipick.services.demo import demo_gtin

PEN = demo_gtin(1003)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DEPARTED = "2026-03-01T06:30:00+08:00"


async def _master_data(db) -> None:
    """The regulatory master data the ERP sends (migration 0027)."""
    async with db.begin() as s:
        await s.execute(
            text(
                "UPDATE items SET specification = :spec, registration_no = :reg, registration_holder = :holder,"
                " device_class = 'II' WHERE erp_id = 'PEN-NDL-4MM'"
            ),
            {"spec": "32G×4mm", "reg": "国械注准20223150001", "holder": "上海示例医疗器械有限公司"},
        )
        await s.execute(
            text("UPDATE items SET specification = '10ml 鲁尔锁', registration_no = '苏械注准20192140002',"
                 " registration_holder = '江苏示例医疗用品有限公司' WHERE erp_id IN ('SYR-10ML')")
        )  # fmt: skip
        await s.execute(text("UPDATE suppliers SET licence_no = '沪药监械经营许20230001' WHERE erp_id = 'SUP-MEDTEC'"))
        await s.execute(text("UPDATE customers SET licence_no = '沪药监械经营备20240002' WHERE erp_id = 'CUST-RIVER'"))


async def _lines(client, path: str, headers, **params) -> list[dict]:
    r = await client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in r.text.splitlines()]


async def _csv(client, path: str, headers, **params) -> list[dict]:
    r = await client.get(path, params={**params, "format": "csv"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and "utf-8" in r.headers["content-type"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))


def _local(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def test_receiving_and_acceptance_record_of_a_cold_chain_receipt(client, demo_db):
    await _master_data(demo_db)
    receiver = await login(client, "receiver", device="hh-dock-1")
    qa = await login(client, "qa")
    transport = {
        "carrier": "顺丰冷运",
        "transportMode": "冷藏车",
        "departedAt": DEPARTED,
        "departureTemperatureC": 4.5,
        "arrivalTemperatureC": 5.5,
        "transportTemperatures": "记录仪 TL-88：全程 3.1–6.4 °C",
    }
    r = await client.post("/api/v1/receipts", json={"document": "ASN-2002", "transport": transport}, headers=receiver)
    assert r.status_code == 201, r.text
    assert r.json()["transport"] == {**transport, "departedAt": "2026-02-28T22:30:00Z"}  # stored as UTC
    rid, number = r.json()["id"], r.json()["number"]

    async def scan(body):
        res = await client.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=receiver)
        assert res.status_code == 200, res.text
        return res.json()

    cold_ok = await scan(
        scan_body(datamatrix("PEN-NDL-4MM", lot="PN4001", expiry=days(200)), quantity=30, temperatureC=5)
    )
    assert cold_ok["status"] == "available"
    warm = await scan(
        scan_body(datamatrix("PEN-NDL-4MM", lot="PN4002", expiry=days(210)), quantity=10, temperatureC=12.5)
    )
    assert warm["status"] == "quarantine"
    ambient = await scan(scan_body(datamatrix("SYR-10ML", lot="SY2502A", expiry=days(400)), quantity=20))
    assert ambient["status"] == "available"

    # before QA decides, the warm lot is pending
    before = await _lines(client, "/api/v1/gsp/receiving-records", qa)
    assert [(x["lot"], x["result"], x["acceptedBy"]) for x in before] == [
        ("PN4001", "accepted", "Receiver"),
        ("PN4002", "pending", None),
        ("SY2502A", "accepted", "Receiver"),
    ]
    lot_id = next(
        q["lotId"] for q in (await client.get("/api/v1/qc/quarantine", headers=qa)).json() if q["lot"] == "PN4002"
    )
    r = await client.post(
        f"/api/v1/qc/lots/{lot_id}/reject", json={"reason": "冷链中断", "password": "qa-demo"}, headers=qa
    )
    assert r.status_code == 200, r.text

    async with demo_db() as s:
        facts = {
            row.lot: row
            for row in (
                await s.execute(
                    text(
                        "SELECT l.lot, min(rs.scanned_at) AS scanned_at, r.created_at FROM receipt_scans rs"
                        " JOIN receipts r ON r.id = rs.receipt_id JOIN lots l ON l.id = rs.lot_id"
                        " WHERE rs.receipt_id = :r GROUP BY l.lot, r.created_at"
                    ),
                    {"r": rid},
                )
            ).all()
        }
        rejected_at = await s.scalar(
            text(
                "SELECT occurred_at FROM stock_ledger WHERE document_type = 'qc' AND movement = 'hold' AND lot_id = :l"
            ),
            {"l": lot_id},
        )
    arrived = facts["PN4001"].created_at.astimezone(SHANGHAI)
    common = {
        "receipt": number,
        "document": "ASN-2002",
        "warehouse": "MAIN",
        "arrivedAt": arrived.isoformat(),
        "supplier": "MedTec Devices GmbH",
        "supplierLicenceNo": "沪药监械经营许20230001",
        "carrier": "顺丰冷运",
        "transportMode": "冷藏车",
        "departedAt": dt.datetime.fromisoformat(DEPARTED).astimezone(SHANGHAI).isoformat(),
        "departureTemperatureC": 4.5,
        "transportTemperatures": "记录仪 TL-88：全程 3.1–6.4 °C",
        "receivedBy": "Receiver",
    }
    pen = {
        "item": "PEN-NDL-4MM",
        "gtin": PEN,
        "name": "Insulin pen needle 32G 4 mm (2-8 °C)",
        "specification": "32G×4mm",
        "registrationNo": "国械注准20223150001",
        "registrationHolder": "上海示例医疗器械有限公司",
        "serial": None,
        "productionDate": None,
        "unit": "EA",
        "coldChain": True,
    }
    expected = [
        {
            **common,
            **pen,
            "lot": "PN4001",
            "expiry": days(200).isoformat(),
            "quantity": 30,
            "arrivalTemperatureC": 5.0,
            "result": "accepted",
            "resultNote": None,
            "acceptedBy": "Receiver",
            "acceptedAt": facts["PN4001"].scanned_at.astimezone(SHANGHAI).isoformat(),
        },
        {
            **common,
            **pen,
            "lot": "PN4002",
            "expiry": days(210).isoformat(),
            "quantity": 10,
            "arrivalTemperatureC": 12.5,
            "result": "rejected",
            "resultNote": "到货温度 12.5 °C，超出 2–8 °C；质检拒收：冷链中断",
            "acceptedBy": "Qa",
            "acceptedAt": rejected_at.astimezone(SHANGHAI).isoformat(),
        },
        {
            **common,
            "item": "SYR-10ML",
            "gtin": demo_gtin(1001),
            "name": "Sterile syringe 10 ml, Luer lock",
            "specification": "10ml 鲁尔锁",
            "registrationNo": "苏械注准20192140002",
            "registrationHolder": "江苏示例医疗用品有限公司",
            "lot": "SY2502A",
            "serial": None,
            "productionDate": None,
            "expiry": days(400).isoformat(),
            "quantity": 20,
            "unit": "EA",
            "coldChain": False,
            # no reading with the scan (not cold-chain): the one taken as the vehicle was opened
            "arrivalTemperatureC": 5.5,
            "result": "accepted",
            "resultNote": None,
            "acceptedBy": "Receiver",
            "acceptedAt": facts["SY2502A"].scanned_at.astimezone(SHANGHAI).isoformat(),
        },
    ]
    got = await _lines(client, "/api/v1/gsp/receiving-records", qa)
    assert got == expected

    rows = await _csv(client, "/api/v1/gsp/receiving-records", qa)
    assert list(rows[0]) == header(RECEIVING_COLUMNS)
    words = {"accepted": "合格", "rejected": "不合格"}
    assert rows == [
        {
            "收货单号": e["receipt"],
            "采购单/到货通知": "ASN-2002",
            "仓库": "MAIN",
            "到货日期": _local(e["arrivedAt"]),
            "供货者": "MedTec Devices GmbH",
            "供货者许可证/备案编号": "沪药监械经营许20230001",
            "产品编码": e["item"],
            "GTIN": e["gtin"],
            "产品名称": e["name"],
            "规格型号": e["specification"],
            "注册证编号/备案编号": e["registrationNo"],
            "注册人/备案人": e["registrationHolder"],
            "批号": e["lot"],
            "序列号": "",
            "生产日期": "",
            "有效期至": e["expiry"],
            "数量": str(e["quantity"]),
            "单位": "EA",
            "冷链": "是" if e["coldChain"] else "否",
            "到货温度(°C)": f"{e['arrivalTemperatureC']:g}",
            "承运单位": "顺丰冷运",
            "运输方式": "冷藏车",
            "启运时间": "2026-03-01 06:30",
            "启运温度(°C)": "4.5",
            "运输过程温度记录": "记录仪 TL-88：全程 3.1–6.4 °C",
            "收货人": "Receiver",
            "验收结论": words[e["result"]],
            "验收说明": e["resultNote"] or "",
            "验收人": e["acceptedBy"],
            "验收时间": _local(e["acceptedAt"]),
        }
        for e in expected
    ]

    # the period is whole days in the time zone: a period before the receipt holds nothing
    yesterday = (arrived.date() - dt.timedelta(days=1)).isoformat()
    assert await _lines(client, "/api/v1/gsp/receiving-records", qa, **{"from": yesterday, "to": yesterday}) == []
    assert await _lines(client, "/api/v1/gsp/receiving-records", qa, warehouse="MAIN") == got


async def test_outbound_review_record_of_a_shipment(client, demo_db):
    await _master_data(demo_db)
    sup = await login(client, "supervisor")
    picker = await login(client, "picker")
    qa = await login(client, "qa")
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    await pick_order(client, picker, "SO-5002")
    sscc = (await client.post("/api/v1/packing/packages", json={"order": "SO-5002"}, headers=picker)).json()["sscc"]
    raws = [gs1(GLOVE_BOX, "GL-77-01")] * 2 + [gs1(PEN, "PN3001")] * 10 + [gs1(SYR, "SY2405B")] * 10
    for raw in raws:
        r = await client.post(
            f"/api/v1/packing/packages/{sscc}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": raw},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    assert (await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)).status_code == 200
    # nothing shipped yet: packed units are not on the record
    assert await _lines(client, "/api/v1/gsp/outbound-reviews", qa) == []
    # the ship confirm by the supervisor: the record names the packer as reviewer and the supervisor as shipper
    r = await client.post("/api/v1/shipments", json={"order": "SO-5002"}, headers=sup)
    assert r.status_code == 200, r.text

    async with demo_db() as s:
        shipped_at = await s.scalar(text("SELECT max(occurred_at) FROM stock_ledger WHERE movement = 'ship'"))
        packed_at = {
            row.erp_id: row.at
            for row in (
                await s.execute(
                    text(
                        "SELECT i.erp_id, max(sl.occurred_at) AS at FROM stock_ledger sl JOIN items i ON i.id = sl.item_id"
                        " WHERE sl.movement = 'pack' GROUP BY i.erp_id"
                    )
                )
            ).all()
        }
        lots = {row.lot: row for row in (await s.execute(text("SELECT lot, expiry, production_date FROM lots"))).all()}
    common = {
        "order": "SO-5002",
        "orderNumber": "SO-5002",
        "warehouse": "MAIN",
        "customer": "Riverside Clinic",
        "customerLicenceNo": "沪药监械经营备20240002",
        "serial": None,
        "unit": "EA",
        "sscc": sscc,
        "shippedAt": shipped_at.astimezone(SHANGHAI).isoformat(),
        "shippedBy": "Supervisor",
        "reviewedBy": "Picker",
        "result": "accepted",
    }

    def line(item, gtin, name, spec, reg, holder, lot, qty):
        return {
            **common,
            "item": item,
            "gtin": gtin,
            "name": name,
            "specification": spec,
            "registrationNo": reg,
            "registrationHolder": holder,
            "lot": lot,
            "productionDate": lots[lot].production_date.isoformat(),
            "expiry": lots[lot].expiry.isoformat(),
            "quantity": qty,
            "reviewedAt": packed_at[item].astimezone(SHANGHAI).isoformat(),
        }

    expected = [
        line(
            "GLOVE-NIT-M", demo_gtin(1004), "Nitrile examination gloves, size M", "M 号 无粉", "沪械注准20202140321",
            "上海示范防护用品有限公司", "GL-77-01", 20,
        ),
        line(
            "PEN-NDL-4MM", PEN, "Insulin pen needle 32G 4 mm (2-8 °C)", "32G×4mm", "国械注准20223150001",
            "上海示例医疗器械有限公司", "PN3001", 10,
        ),
        line(
            "SYR-10ML", demo_gtin(1001), "Sterile syringe 10 ml, Luer lock", "10ml 鲁尔锁", "苏械注准20192140002",
            "江苏示例医疗用品有限公司", "SY2405B", 10,
        ),
    ]  # fmt: skip
    got = await _lines(client, "/api/v1/gsp/outbound-reviews", qa)
    assert got == expected

    rows = await _csv(client, "/api/v1/gsp/outbound-reviews", qa)
    assert list(rows[0]) == header(OUTBOUND_COLUMNS)
    assert rows == [
        {
            "销售单号": "SO-5002",
            "仓库": "MAIN",
            "购货者": "Riverside Clinic",
            "购货者许可证/备案编号": "沪药监械经营备20240002",
            "产品编码": e["item"],
            "GTIN": e["gtin"],
            "产品名称": e["name"],
            "规格型号": e["specification"] or "",
            "注册证编号/备案编号": e["registrationNo"] or "",
            "注册人/备案人": e["registrationHolder"] or "",
            "批号": e["lot"],
            "序列号": "",
            "生产日期": e["productionDate"],
            "有效期至": e["expiry"],
            "数量": str(e["quantity"]),
            "单位": "EA",
            "箱号(SSCC)": sscc,
            "出库日期": _local(e["shippedAt"]),
            "复核人": "Picker",
            "复核时间": _local(e["reviewedAt"]),
            "复核结论": "合格",
            "发货人": "Supervisor",
        }
        for e in expected
    ]


async def test_the_records_sources_cannot_be_deleted(client, demo_db):
    """Receipts, their scans, shipped cartons, documents and partners stay for as long as the GSP keeps
    the records that name them (docs/gsp.md): the database refuses to delete them."""
    receiver = await login(client, "receiver")
    r = await client.post("/api/v1/receipts", json={"document": "ASN-2002"}, headers=receiver)
    rid = r.json()["id"]
    r = await client.post(
        f"/api/v1/receipts/{rid}/scans",
        json=scan_body(datamatrix("SYR-10ML", lot="SY2502A", expiry=days(400)), quantity=20),
        headers=receiver,
    )
    assert r.status_code == 200
    statements = [
        "DELETE FROM receipt_scans",
        "UPDATE receipt_scans SET quantity = quantity + 1",
        "TRUNCATE receipt_scans CASCADE",
        "DELETE FROM receipts",
        "DELETE FROM suppliers",
        "DELETE FROM customers",
        "DELETE FROM warehouses",
        "DELETE FROM inbound_documents",
        "DELETE FROM outbound_documents",
    ]
    for sql in statements:
        async with demo_db() as s:
            try:
                await s.execute(text(sql))
            except Exception as exc:  # noqa: BLE001 - the refusal's text is what is checked
                assert "append-only" in str(exc) or "are kept for the records" in str(exc), (sql, exc)
            else:
                raise AssertionError(f"{sql} was allowed")
            finally:
                await s.rollback()
    # a closed carton is kept; an open one may still be discarded (ship-confirm drops an empty one)
    async with demo_db.begin() as s:
        cid = await s.scalar(text("INSERT INTO containers (kind, code) VALUES ('carton', 'C-T1') RETURNING id"))
        doc = await s.scalar(text("SELECT id FROM outbound_documents WHERE erp_id = 'SO-5002'"))
        await s.execute(text("INSERT INTO packages (container_id, document_id) VALUES (:c, :d)"), {"c": cid, "d": doc})
    async with demo_db.begin() as s:
        await s.execute(text("DELETE FROM packages WHERE container_id = :c"), {"c": cid})
        await s.execute(
            text(
                "INSERT INTO packages (container_id, document_id, status, closed_at) VALUES (:c, :d, 'closed', now())"
            ),
            {"c": cid, "d": doc},
        )
    async with demo_db() as s:
        try:
            await s.execute(text("DELETE FROM packages WHERE container_id = :c"), {"c": cid})
        except Exception as exc:  # noqa: BLE001
            assert "are kept for the records" in str(exc)
        else:
            raise AssertionError("a closed package was deleted")


async def test_period_and_time_zone_are_checked(client, demo_db):
    qa = await login(client, "qa")
    for params, pointer in [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "/from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "/from"),
        ({"tz": "Mars/Olympus"}, "/tz"),
    ]:
        r = await client.get("/api/v1/gsp/receiving-records", params=params, headers=qa)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["pointer"] == pointer
    r = await client.get("/api/v1/gsp/outbound-reviews", params={"from": "yesterday"}, headers=qa)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/gsp/outbound-reviews", params={"warehouse": "NOPE"}, headers=qa)
    assert r.status_code == 404 and r.json()["warehouse"] == "NOPE"
