"""End to end against a real Tryton: its purchase and sale reach udipick through the connector; udipick
receives, picks, packs and ships over its API; Tryton's stock by product and lot ends equal to udipick's,
with the connector killed twice on the way (once between Tryton's commit and its cursor, once with kill -9
mid-stream) and nothing booked twice or lost."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import uuid

import asyncpg
import httpx

from tests.api.test_picking import gs1, scan
from tests.conftest import _dsn, _with_database, login, wait_until
from tests.tryton.conftest import ENV, erp_key, udipick_server
from tests.tryton.scenario import PRODUCTS
from udipick.integrations.tryton.connector import CRASH_AFTER_BOOKING

GTIN = {code: gtin for code, _, gtin, _, _ in PRODUCTS}
#: what the dock receives: (item, lot, days to expiry, quantity); the purchase ordered 40 syringes, 12 catheters
RECEIVED = [
    ("TRY-SYR-5ML", "SY-A1", 200, 30),
    ("TRY-SYR-5ML", "SY-B2", 400, 10),
    ("TRY-CATH-8F", "CA-77", 300, 12),
]
#: what the customer sends back and QA's decision on it: (decision, item, lot, quantity)
RETURNED = [
    ("restock", "TRY-SYR-5ML", "SY-A1", 3),
    ("scrap", "TRY-SYR-5ML", "SY-A1", 2),
    ("to_supplier", "TRY-CATH-8F", "CA-77", 1),
]
BOOKED_TYPES = (
    "receipt.confirmed.v1",
    "pick.confirmed.v1",
    "shipment.confirmed.v1",
    "put-back.confirmed.v1",
    "stock.adjusted.v1",
)

#: Tryton's done stock by product code and lot in the warehouse (all its zones are of type storage), straight
#: from its tables: the test's own reading, independent of the connector's reconciliation
TRYTON_STOCK = """
SELECT p.code, l.number, sum(CASE WHEN tl.type = 'storage' THEN m.quantity ELSE 0 END)
                       - sum(CASE WHEN fl.type = 'storage' THEN m.quantity ELSE 0 END)
  FROM stock_move m JOIN product_product p ON p.id = m.product LEFT JOIN stock_lot l ON l.id = m.lot
  JOIN stock_location fl ON fl.id = m.from_location JOIN stock_location tl ON tl.id = m.to_location
 WHERE m.state = 'done'
 GROUP BY 1, 2
HAVING sum(CASE WHEN tl.type = 'storage' THEN m.quantity ELSE 0 END)
     - sum(CASE WHEN fl.type = 'storage' THEN m.quantity ELSE 0 END) <> 0
"""

UDIPICK_STOCK = """
SELECT i.erp_id, l.lot, sum(s.quantity) FROM stock s JOIN items i ON i.id = s.item_id LEFT JOIN lots l ON l.id = s.lot_id
 WHERE i.erp_id LIKE 'TRY-%' AND s.quantity <> 0 GROUP BY 1, 2
"""


async def _fetch(dsn: str, sql: str, *args) -> list[tuple]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


class Connector:
    """``udipick connect tryton`` as a process: started, killed and restarted by the test."""

    def __init__(self, tryton_db: str, config, udipick_db: str, url: str, key: str) -> None:
        self.args = [sys.executable, "-m", "udipick.cli", "connect", "tryton", "--tryton-db", tryton_db]
        self.args += ["--config", str(config), "--url", url, "--interval", "0.1", "--pull-every", "0.5"]
        self.env = {**ENV, "DATABASE_URL": udipick_db, "UDIPICK_API_KEY": key}
        self.proc: subprocess.Popen | None = None

    def once(self) -> dict:
        done = subprocess.run([*self.args, "--once"], env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    def start(self, **env: str) -> subprocess.Popen:
        self.proc = subprocess.Popen(
            self.args, env={**self.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        return self.proc

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def reconcile(self) -> tuple[int, dict]:
        done = subprocess.run([*self.args, "--reconcile"], env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1) and done.stdout, done.stderr[-3000:]
        return done.returncode, json.loads(done.stdout)


async def test_tryton_purchase_and_sale_go_through_udipick_and_the_stock_ends_equal(
    tryton_db, tryton_config, demo_database_url, pg_admin_url, today
):
    tryton_dsn = _dsn(_with_database(pg_admin_url, tryton_db))
    udipick_dsn = _dsn(demo_database_url)
    made = subprocess.run(
        [sys.executable, "-m", "tests.tryton.scenario", tryton_db, str(tryton_config)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    tryton = json.loads(made.stdout)
    assert (tryton["purchaseState"], tryton["saleState"]) == ("processing", "processing")
    po, so = tryton["purchase"], tryton["sale"]

    with udipick_server(demo_database_url) as url:
        key = erp_key(demo_database_url)
        connector = Connector(tryton_db, tryton_config, demo_database_url, url, key)

        # ---- Tryton → udipick: products, parties, the purchase and the sale; a second pass changes nothing
        first = connector.once()
        assert first["refused"] == []
        assert {
            k: first["sent"].get(k) for k in ("items", "suppliers", "customers", "purchase-orders", "sales-orders")
        } == {
            "items": 2,
            "suppliers": 1,
            "customers": 1,
            "purchase-orders": 1,
            "sales-orders": 1,
        }
        versions = (
            "SELECT 'item', erp_id, erp_version FROM items UNION ALL SELECT 'po', erp_id, erp_version FROM inbound_documents"
            " UNION ALL SELECT 'so', erp_id, erp_version FROM outbound_documents"
        )
        before = await _fetch(udipick_dsn, versions)
        assert connector.once()["refused"] == []
        assert await _fetch(udipick_dsn, versions) == before
        lines = await _fetch(
            udipick_dsn,
            "SELECT d.erp_id, i.erp_id, l.quantity_ordered, i.expiry_tracked, i.gtin FROM inbound_documents d"
            " JOIN inbound_lines l ON l.document_id = d.id JOIN items i ON i.id = l.item_id WHERE d.erp_id = $1",
            po,
        )
        assert sorted(lines) == sorted((po, code, q, True, g) for code, _, g, q, _ in PRODUCTS)
        out = await _fetch(
            udipick_dsn,
            "SELECT d.status, i.erp_id, l.quantity FROM outbound_documents d JOIN outbound_lines l"
            " ON l.document_id = d.id JOIN items i ON i.id = l.item_id WHERE d.erp_id = $1",
            so,
        )
        assert sorted(out) == sorted(("open", code, q) for code, _, _, _, q in PRODUCTS)

        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            # ---- receive and put away in udipick; the connector runs and crashes after booking the second
            # receipt line in Tryton, before writing its cursor
            connector.start(**{CRASH_AFTER_BOOKING: "2"})
            receiver = await login(client, "receiver", device="hh-tryton")
            r = await client.post("/api/v1/receipts", json={"document": po}, headers=receiver)
            assert r.status_code == 201, r.text
            rid = r.json()["id"]
            for item, lot, days, qty in RECEIVED:
                raw = gs1(GTIN[item], lot, today + dt.timedelta(days=days))
                body = {"clientScanId": str(uuid.uuid4()), "raw": raw, "quantity": qty}
                r = await client.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=receiver)
                assert r.status_code == 200, r.text
            closed = await client.post(f"/api/v1/receipts/{rid}/close", json={}, headers=receiver)
            assert closed.status_code == 200, closed.text
            for task in closed.json()["putawayTasks"]:
                body = {"clientScanId": str(uuid.uuid4()), "raw": "LOC-R-01-02"}
                r = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=body, headers=receiver)
                assert r.status_code == 200, r.text
            assert connector.proc is not None and connector.proc.wait(timeout=120) == 137
            booked = await _fetch(tryton_dsn, "SELECT type FROM udipick_booked_events")
            assert [t for (t,) in booked] == ["receipt.confirmed.v1"] * 2

            connector.start()
            await wait_until(lambda: _booked(tryton_dsn, "receipt.confirmed.v1", 3), timeout=120)

            # ---- release, pick, pack and ship; the connector is killed -9 in the middle of the picks
            sup = await login(client, "supervisor")
            picker = await login(client, "picker")
            r = await client.post("/api/v1/waves", json={"orders": [so]}, headers=sup)
            assert r.status_code == 201, r.text
            tasks = [t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["order"] == so]
            assert tasks
            picks = 0
            for task in tasks:
                remaining = task["remaining"]
                while remaining:
                    r = await scan(client, picker, task, gs1(GTIN[task["item"]["erpId"]], task["lot"]))
                    assert r.status_code == 200, r.text
                    remaining = r.json()["remaining"]
                    picks += 1
                    if picks == 3:
                        await wait_until(lambda: _booked(tryton_dsn, "pick.confirmed.v1", 1), timeout=60)
                        connector.kill()
            connector.start()

            r = await client.post("/api/v1/packing/packages", json={"order": so}, headers=picker)
            assert r.status_code == 201, r.text
            sscc = r.json()["sscc"]
            picked = await _fetch(
                udipick_dsn,
                "SELECT i.erp_id, l.lot, s.quantity FROM stock s JOIN items i ON i.id = s.item_id"
                " JOIN lots l ON l.id = s.lot_id WHERE s.status = 'picked' AND s.quantity > 0",
            )
            for item, lot, qty in picked:
                for _ in range(qty):
                    body = {"clientScanId": str(uuid.uuid4()), "raw": gs1(GTIN[item], lot)}
                    r = await client.post(f"/api/v1/packing/packages/{sscc}/scans", json=body, headers=picker)
                    assert r.status_code == 200, r.text
            r = await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)
            assert r.status_code == 200, r.text
            r = await client.post("/api/v1/shipments", json={"order": so}, headers=picker)
            assert r.status_code == 200, r.text

        # ---- the connector catches up: every stock event booked once, the cursor at udipick's head
        async def caught_up() -> bool:
            head = (await _fetch(udipick_dsn, "SELECT max(position) FROM outbox_events"))[0][0]
            cur = await _fetch(udipick_dsn, "SELECT events_after FROM erp_connector_cursors")
            return bool(cur) and cur[0][0] >= head

        await wait_until(caught_up, timeout=120)
        connector.stop()

        expected = await _fetch(
            udipick_dsn,
            "SELECT event_id::text, type FROM outbox_events WHERE type = ANY($1::text[])"
            " AND (data->>'item' LIKE 'TRY-%' OR data->'lines'->0->>'item' LIKE 'TRY-%') ORDER BY position",
            list(BOOKED_TYPES),
        )
        booked = await _fetch(tryton_dsn, "SELECT event_id::text, type FROM udipick_booked_events ORDER BY position")
        assert booked == expected and len(booked) == 3 + picks + 1
        assert (await _fetch(tryton_dsn, "SELECT count(*) FROM udipick_booked_events WHERE move_ids = '{}'")) == [(0,)]

        shipped = {code: q for code, *_, q in PRODUCTS}
        tryton_stock = {(c, lot): int(q) for c, lot, q in await _fetch(tryton_dsn, TRYTON_STOCK)}
        udipick_stock = {(c, lot): int(q) for c, lot, q in await _fetch(udipick_dsn, UDIPICK_STOCK)}
        assert tryton_stock == udipick_stock
        assert sum(tryton_stock.values()) == sum(q for *_, q in RECEIVED) - sum(shipped.values())
        received = await _fetch(
            tryton_dsn,
            "SELECT p.code, l.number, sum(m.quantity) FROM stock_move m JOIN product_product p ON p.id = m.product"
            " JOIN stock_lot l ON l.id = m.lot JOIN stock_location f ON f.id = m.from_location"
            " WHERE f.type = 'supplier' AND m.state = 'done' GROUP BY 1, 2",
        )
        assert sorted((c, lot, int(q)) for c, lot, q in received) == sorted((i, lot, q) for i, lot, _, q in RECEIVED)
        sent = await _fetch(
            tryton_dsn,
            "SELECT p.code, sum(m.quantity) FROM stock_move m JOIN product_product p ON p.id = m.product"
            " JOIN stock_location t ON t.id = m.to_location WHERE t.type = 'customer' AND m.state = 'done' GROUP BY 1",
        )
        assert {c: int(q) for c, q in sent} == shipped
        expiries = await _fetch(tryton_dsn, "SELECT number, expiration_date FROM stock_lot")
        assert sorted(expiries) == sorted((lot, today + dt.timedelta(days=d)) for _, lot, d, _ in RECEIVED)

        # ---- the connector's own reconciliation agrees
        code, report = connector.reconcile()
        assert (code, report["differences"], report["inStep"]) == (0, [], True)

        # ---- a change in Tryton reaches udipick as a newer version of the item
        before = await _fetch(udipick_dsn, "SELECT name, erp_version FROM items WHERE erp_id = 'TRY-CATH-8F'")
        renamed = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.tryton.scenario",
                tryton_db,
                str(tryton_config),
                "rename",
                "TRY-CATH-8F",
                "Catheter 8 Fr, hydrophilic",
            ],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert renamed.returncode == 0, renamed.stderr[-3000:]
        assert connector.once()["refused"] == []
        after = await _fetch(udipick_dsn, "SELECT name, erp_version FROM items WHERE erp_id = 'TRY-CATH-8F'")
        assert after[0][0] == "Catheter 8 Fr, hydrophilic" and after[0][1] > before[0][1]

        # ---- a count in udipick while the connector is down: the report names the lot, one pass books the loss
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            picker = await login(client, "picker")
            body = {
                "clientScanId": str(uuid.uuid4()),
                "location": "R-01-02",
                "item": "TRY-SYR-5ML",
                "lines": [{"lot": "SY-A1", "quantity": 5}, {"lot": "SY-B2", "quantity": 8}],
            }
            r = await client.post("/api/v1/counts", json=body, headers=picker)
            assert r.status_code == 200 and r.json()["adjusted"] == 1, r.text
        code, report = connector.reconcile()
        assert code == 1 and report["differences"] == [
            {"item": "TRY-SYR-5ML", "lot": "SY-B2", "tryton": 10, "udipick": 8}
        ]
        assert report["connectorEventsAfter"] < report["udipickAsOfPosition"]
        connector.once()
        code, report = connector.reconcile()
        assert (code, report["differences"]) == (0, [])
        lost = await _fetch(
            tryton_dsn,
            "SELECT l.number, m.quantity FROM stock_move m JOIN stock_lot l ON l.id = m.lot"
            " JOIN stock_location t ON t.id = m.to_location WHERE t.type = 'lost_found' AND m.state = 'done'",
        )
        assert [(lot, int(q)) for lot, q in lost] == [("SY-B2", 2)]

        # ---- the customer sends units back; QA restocks, scraps and returns some to the supplier; a damaged
        # catheter is scrapped off the shelf. Tryton books each, and still holds what udipick holds
        expiry = {lot: today + dt.timedelta(days=d) for _, lot, d, _ in RECEIVED}
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            receiver = await login(client, "receiver", device="hh-returns")
            qa = await login(client, "qa", device="hh-qa")
            r = await client.post(
                "/api/v1/returns", json={"blind": True, "customer": tryton["customer"]}, headers=receiver
            )
            assert r.status_code == 201, r.text
            ret = r.json()
            decided = {}
            for decision, item, lot, qty in RETURNED:
                body = {"clientScanId": str(uuid.uuid4()), "raw": gs1(GTIN[item], lot, expiry[lot]), "quantity": qty}
                r = await client.post(f"/api/v1/returns/{ret['id']}/scans", json=body, headers=receiver)
                assert r.status_code == 200, r.text
                decided[decision] = r.json()["accepted"]["id"]
            for decision, line_id in decided.items():
                body = {"decision": decision, "reason": "inspected", "password": "qa-demo"}
                r = await client.post(f"/api/v1/returns/lines/{line_id}/disposition", json=body, headers=qa)
                assert r.status_code == 200, r.text
            # restocked units are put away between udipick's bins: nothing more for Tryton
            (task,) = [
                t
                for t in (await client.get("/api/v1/putaway/tasks", headers=receiver)).json()
                if t["receipt"] == ret["number"]
            ]
            body = {"clientScanId": str(uuid.uuid4()), "raw": "LOC-R-01-02"}
            r = await client.post(f"/api/v1/putaway/tasks/{task['id']}/confirm", json=body, headers=receiver)
            assert r.status_code == 200, r.text
            body = {
                "location": "R-01-02",
                "raw": gs1(GTIN["TRY-CATH-8F"], "CA-77", expiry["CA-77"]),
                "quantity": 1,
                "reason": "damaged",
                "password": "qa-demo",
            }
            r = await client.post("/api/v1/scrap", json=body, headers=qa)
            assert r.status_code == 200, r.text
        assert connector.once()["refused"] == []
        code, report = connector.reconcile()
        assert (code, report["differences"], report["inStep"]) == (0, [], True)
        tryton_stock = {(c, lot): int(q) for c, lot, q in await _fetch(tryton_dsn, TRYTON_STOCK)}
        udipick_stock = {(c, lot): int(q) for c, lot, q in await _fetch(udipick_dsn, UDIPICK_STOCK)}
        assert (
            tryton_stock
            == udipick_stock
            == {
                ("TRY-SYR-5ML", "SY-A1"): 5 + 3,  # counted 5, then 3 restocked
                ("TRY-SYR-5ML", "SY-B2"): 8,
                ("TRY-CATH-8F", "CA-77"): 12 - 7 - 1,  # received, shipped, scrapped off the shelf
            }
        )
        moved = await _fetch(
            tryton_dsn,
            "SELECT f.type, t.type, p.code, l.number, sum(m.quantity) FROM stock_move m"
            " JOIN product_product p ON p.id = m.product JOIN stock_lot l ON l.id = m.lot"
            " JOIN stock_location f ON f.id = m.from_location JOIN stock_location t ON t.id = m.to_location"
            " WHERE m.state = 'done' AND (f.type IN ('customer', 'lost_found') OR t.type IN ('supplier', 'lost_found'))"
            " GROUP BY 1, 2, 3, 4",
        )
        assert sorted((f, t, c, lot, int(q)) for f, t, c, lot, q in moved) == [
            ("customer", "storage", "TRY-CATH-8F", "CA-77", 1),
            ("customer", "storage", "TRY-SYR-5ML", "SY-A1", 5),
            ("storage", "lost_found", "TRY-CATH-8F", "CA-77", 1),  # scrapped off the shelf
            ("storage", "lost_found", "TRY-SYR-5ML", "SY-A1", 2),  # returned, then scrapped
            ("storage", "lost_found", "TRY-SYR-5ML", "SY-B2", 2),  # the count's loss
            ("storage", "supplier", "TRY-CATH-8F", "CA-77", 1),  # returned, then sent back to the supplier
        ]
        booked = await _fetch(tryton_dsn, "SELECT type, count(*) FROM udipick_booked_events GROUP BY 1")
        assert {t: n for t, n in booked if t.startswith(("return.", "stock.scrapped"))} == {
            "return.received.v1": 3,
            "return.disposed.v1": 2,  # scrap and to the supplier; restock changes nothing in Tryton
            "stock.scrapped.v1": 1,
        }


async def test_a_purchase_cancelled_in_tryton_is_cancelled_or_closed_in_udipick(
    tryton_db, tryton_config, demo_database_url, pg_admin_url, today
):
    """Tryton cancels a purchase that is processing by cancelling its moves and ignoring them. One nothing
    was received on ends cancelled in udipick; one udipick is receiving waits for the receipt to close (the
    cancel is refused meanwhile and sent again by the next run) and ends closed, its received units kept."""
    udipick_dsn = _dsn(demo_database_url)

    def scenario(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "tests.tryton.scenario", tryton_db, str(tryton_config), *args],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    scenario()
    being_received, untouched = scenario("purchases", "TRY-SYR-5ML:15", "TRY-CATH-8F:5")["purchases"]
    status = "SELECT erp_id, status FROM inbound_documents WHERE erp_id = ANY($1::text[]) ORDER BY erp_id"
    numbers = sorted([being_received, untouched])

    with udipick_server(demo_database_url) as url:
        connector = Connector(tryton_db, tryton_config, demo_database_url, url, erp_key(demo_database_url))
        assert connector.once()["refused"] == []
        assert await _fetch(udipick_dsn, status, numbers) == [(n, "open") for n in numbers]

        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            receiver = await login(client, "receiver", device="hh-tryton")
            r = await client.post("/api/v1/receipts", json={"document": being_received}, headers=receiver)
            assert r.status_code == 201, r.text
            rid = r.json()["id"]
            raw = gs1(GTIN["TRY-SYR-5ML"], "SY-C3", today + dt.timedelta(days=500))
            r = await client.post(
                f"/api/v1/receipts/{rid}/scans",
                json={"clientScanId": str(uuid.uuid4()), "raw": raw, "quantity": 4},
                headers=receiver,
            )
            assert r.status_code == 200, r.text

            cancelled = scenario("cancel-purchases", *numbers)
            assert {n: (c["exception"], c["shipmentState"]) for n, c in cancelled.items()} == {
                n: ("exception", "none") for n in numbers
            }
            passed = connector.once()
            assert passed["sent"].get("purchase-order-cancels") == 1 and passed["refused"] == []
            assert await _fetch(udipick_dsn, status, numbers) == sorted(
                [(untouched, "cancelled"), (being_received, "receiving")]
            )

            r = await client.post(
                f"/api/v1/receipts/{rid}/close", json={"reason": "supplier short-shipped"}, headers=receiver
            )
            assert r.status_code == 200, r.text

        # a new run (the cancel refused above is not remembered in memory) sends it again: now it closes
        passed = connector.once()
        assert passed["sent"].get("purchase-order-cancels") == 1 and passed["refused"] == []
        assert await _fetch(udipick_dsn, status, numbers) == sorted(
            [(untouched, "cancelled"), (being_received, "closed")]
        )
        events = await _fetch(
            udipick_dsn,
            "SELECT data->>'document', data->>'status', data->>'reason' FROM outbox_events"
            " WHERE type = 'purchase-order.cancelled.v1' ORDER BY position",
        )
        assert events == [
            (untouched, "cancelled", "cancelled in Tryton (its moves ignored)"),
            (being_received, "closed", "cancelled in Tryton (its moves ignored)"),
        ]
        # nothing more is sent on later runs, and the 4 units received are booked in Tryton
        assert connector.once()["sent"].get("purchase-order-cancels") is None
        tryton_dsn = _dsn(_with_database(pg_admin_url, tryton_db))
        received = await _fetch(
            tryton_dsn,
            "SELECT l.number, sum(m.quantity) FROM stock_move m JOIN stock_lot l ON l.id = m.lot"
            " JOIN stock_location f ON f.id = m.from_location WHERE f.type = 'supplier' AND m.state = 'done'"
            " GROUP BY 1",
        )
        assert [(lot, int(q)) for lot, q in received] == [("SY-C3", 4)]


async def _booked(dsn: str, event_type: str, at_least: int) -> bool:
    rows = await _fetch(dsn, "SELECT count(*) FROM udipick_booked_events WHERE type = $1", event_type)
    return rows[0][0] >= at_least
