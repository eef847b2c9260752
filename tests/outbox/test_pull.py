"""Pull side: batch NDJSON, stock snapshot and reconciliation, EPCIS 2.0 documents, /metrics."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import jsonschema
import pytest
from sqlalchemy import text

from tests.conftest import CONFORMANCE, login
from tests.outbox.conftest import ACTOR, write_events
from udipick.domain.site import SiteIds
from udipick.services import epcis
from udipick.services.events import emit


@pytest.fixture
async def erp(demo_db) -> dict[str, str]:
    from udipick.services.identity import add_api_key

    return {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-pull', ['erp:read'])}"}


async def test_batch_pulls_pages_of_ndjson_in_position_order_with_a_next_cursor(client, demo_db, erp):
    ids = await write_events(demo_db, 7)
    r = await client.get("/api/v1/erp/events?after=0&limit=4", headers=erp)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    first = [json.loads(line) for line in r.text.splitlines()]
    assert r.headers["udipick-next-after"] == "4"
    r = await client.get("/api/v1/erp/events?after=4&limit=4", headers=erp)
    rest = [json.loads(line) for line in r.text.splitlines()]
    assert [m["position"] for m in first + rest] == list(range(1, 8))
    assert [m["eventId"] for m in first + rest] == ids
    r = await client.get("/api/v1/erp/events?after=7", headers=erp)
    assert r.text == "" and r.headers["udipick-next-after"] == "7"
    r = await client.get("/api/v1/erp/events?after=-1", headers=erp)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid-cursor"


@pytest.mark.parametrize("path", ["/api/v1/erp/events", "/api/v1/epcis/events"])
@pytest.mark.parametrize(
    ("after", "detail"),
    [
        ("1" * 40, "beyond any position PostgreSQL can hold"),  # used to reach the driver: a 500
        ("4", "beyond the newest position 3"),  # used to answer nothing and hand it back as the next cursor
        (quote("٣"), "ASCII digits"),  # ARABIC-INDIC DIGIT THREE
        ("%203", "ASCII digits"),
    ],
)
async def test_a_pull_after_a_position_udipick_never_gave_out_is_refused(client, demo_db, erp, path, after, detail):
    await write_events(demo_db, 3)
    r = await client.get(f"{path}?after={after}", headers=erp)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "invalid-cursor" and detail in body["detail"] and body["head"] == 3
    # the head itself is a fine cursor: nothing new yet
    r = await client.get(f"{path}?after=3", headers=erp)
    assert r.status_code == 200 and r.headers["udipick-next-after"] == "3"


async def test_the_stock_snapshot_comes_as_csv_and_ndjson_with_the_position_it_reflects(client, demo_db, erp):
    await write_events(demo_db, 3)
    r = await client.get("/api/v1/erp/stock?format=ndjson", headers=erp)
    assert r.status_code == 200
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert r.headers["udipick-as-of-position"] == "3" and r.headers["udipick-as-of-exact"] == "true"
    assert rows and set(rows[0]) == {
        "item",
        "gtin",
        "lot",
        "expiry",
        "serial",
        "warehouse",
        "location",
        "status",
        "quantity",
        "reserved",
    }
    assert all(row["quantity"] > 0 for row in rows)
    serialised = [row for row in rows if row["serial"]]
    assert serialised and all(row["quantity"] == 1 for row in serialised)
    r = await client.get("/api/v1/erp/stock?format=csv", headers=erp)
    lines = r.text.splitlines()
    assert r.headers["content-type"].startswith("text/csv")
    assert lines[0] == "item,gtin,lot,expiry,serial,warehouse,location,status,quantity,reserved"
    assert len(lines) == len(rows) + 1


async def test_reconciliation_returns_only_the_differences_at_the_erps_granularity(client, demo_db, erp):
    rows = [json.loads(line) for line in (await client.get("/api/v1/erp/stock", headers=erp)).text.splitlines()]
    by_lot: dict[tuple, int] = {}
    for row in rows:
        by_lot[(row["item"], row["lot"])] = by_lot.get((row["item"], row["lot"]), 0) + row["quantity"]
    (item, lot), qty = sorted(by_lot.items(), key=lambda kv: str(kv[0]))[0]
    lines = [{"item": i, "lot": lt, "quantity": q} for (i, lt), q in by_lot.items()]
    # the ERP believes 5 more of one lot, and has a lot udipick never saw
    lines = [dict(ln, quantity=ln["quantity"] + 5) if (ln["item"], ln["lot"]) == (item, lot) else ln for ln in lines]
    lines.append({"item": item, "lot": "GHOST-1", "quantity": 2})
    r = await client.post("/api/v1/erp/stock/reconciliation", json={"lines": lines, "groupBy": ["lot"]}, headers=erp)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["exact"] is True and body["groupBy"] == ["lot"]
    diffs = {(d["item"], d.get("lot")): d for d in body["differences"]}
    assert set(diffs) == {(item, lot), (item, "GHOST-1")}
    assert (
        diffs[(item, lot)]["erpQuantity"],
        diffs[(item, lot)]["udipickQuantity"],
        diffs[(item, lot)]["difference"],
    ) == (qty + 5, qty, -5)
    assert diffs[(item, "GHOST-1")]["difference"] == -2
    assert body["matching"] == body["compared"] - 2
    r = await client.post("/api/v1/erp/stock/reconciliation", json={"lines": [{"item": item}]}, headers=erp)
    assert r.status_code == 400 and "quantity" in r.json()["detail"]


async def _demo_events(db) -> None:
    """One of each physical event, through the real event structs as the workflows emit them."""
    from udipick.services import events as ev

    async with db() as s:
        await emit(
            s,
            ACTOR,
            ev.ReceiptConfirmed(
                receipt="R-1",
                document="ASN-2001",
                line_no=1,
                item="STENT-DES-3018",
                gtin="00614141010029",
                lot="ST-C3",
                expiry="2028-01-31",
                production_date=None,
                serials=["STN000301", "STN/302"],
                quantity=2,
                status="available",
                reasons=[],
                location="RCV-01",
                lpn="LPN0001",
            ),
            ev.ReceiptConfirmed(
                receipt="R-1",
                document="PO-1001",
                line_no=2,
                item="SYR-10ML",
                gtin="00614141010012",
                lot="SY 2502A",
                expiry="2027-06-30",
                production_date=None,
                serials=[],
                quantity=120,
                status="quarantine",
                reasons=["short"],
                location="RCV-01",
                lpn="LPN0002",
            ),
        )
        await s.commit()
    await write_events(db, 1, "wave.released.v1")  # no EPCIS counterpart
    async with db() as s:
        await s.execute(
            text(
                "INSERT INTO outbox_events (event_id, type, occurred_at, data) VALUES"
                ' (gen_random_uuid(), \'pick.confirmed.v1\', now(), \'{"order": "SO-5001", "gtin": "00614141010012",'
                ' "lot": "SY2502A", "serial": null, "quantity": 10, "location": "A-01-01"}\'),'
                ' (gen_random_uuid(), \'package.packed.v1\', now(), \'{"sscc": "006141410000000018", "order": "SO-5001",'
                ' "contents": [{"gtin": "00614141010012", "lot": "SY2502A", "quantity": 10}]}\'),'
                ' (gen_random_uuid(), \'shipment.confirmed.v1\', now(), \'{"order": "SO-5001", "customer": "C-1",'
                ' "ssccs": ["006141410000000018"], "lines": [{"gtin": "00614141010029", "serials": ["STN000301"]}]}\'),'
                ' (gen_random_uuid(), \'hold.placed.v1\', now(), \'{"scope": "lot", "gtin": "00614141010012", "lot": "SY2502A"}\')'
            )
        )
        await s.commit()


def _validator():
    schema = json.loads((CONFORMANCE / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _uris(doc: dict) -> list[str]:
    out = []
    for e in doc["epcisBody"]["eventList"]:
        out += e.get("epcList", []) + [q["epcClass"] for q in e.get("quantityList", [])] + [e["eventID"]]
        out += e.get("childEPCs", []) + [q["epcClass"] for q in e.get("childQuantityList", [])]
        out += [e["parentID"]] if "parentID" in e else []
        out += [e[k]["id"] for k in ("readPoint", "bizLocation") if k in e]
    return out


async def test_every_epcis_document_validates_against_the_gs1_schema(client, demo_db, erp):
    await _demo_events(demo_db)
    validator = _validator()
    docs = []
    for after in (0, 2, 5):  # several pages, the empty tail too
        r = await client.get(f"/api/v1/epcis/events?after={after}&limit=3", headers=erp)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
        docs.append(r.json())
    docs.append((await client.get("/api/v1/epcis/events?after=7", headers=erp)).json())  # the head: an empty tail
    for doc in docs:
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, errors[0]
        assert all(urlparse(u).scheme in ("https", "urn") for u in _uris(doc))
    events = (await client.get("/api/v1/epcis/events", headers=erp)).json()["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["receiving", "receiving", "picking", "packing", "shipping", "holding"]
    stent, syringes = events[0], events[1]
    assert stent["action"] == "ADD" and stent["disposition"] == "available"
    assert stent["epcList"] == [
        "https://id.gs1.org/01/00614141010029/21/STN000301",
        "https://id.gs1.org/01/00614141010029/21/STN%2F302",
    ]
    assert stent["ilmd"] == {"cbvmda:lotNumber": "ST-C3", "cbvmda:itemExpirationDate": "2028-01-31"}
    assert syringes["quantityList"] == [
        {"epcClass": "https://id.gs1.org/01/00614141010012/10/SY%202502A", "quantity": 120}
    ]
    assert syringes["disposition"] == "non_sellable_other"
    assert events[2]["action"] == "OBSERVE" and "ilmd" not in events[2]
    assert events[4]["epcList"] == [
        "https://id.gs1.org/00/006141410000000018",
        "https://id.gs1.org/01/00614141010029/21/STN000301",
    ]
    # was urn:udipick:location:A-01-01 before the site record: now the demo site's SGLN with the code as extension
    assert events[2]["readPoint"] == {"id": "urn:epc:id:sgln:0614141.00000.A-01-01"}
    assert [e["udipick:position"] for e in events] == [1, 2, 4, 5, 6, 7]  # the wave (3) has no EPCIS counterpart


def test_the_epcis_mapping_names_only_cbv_vocabulary():
    schema = json.loads(Path(CONFORMANCE / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    steps = set(schema["definitions"]["bizStep"]["anyOf"][1]["enum"])
    dispositions = set(schema["definitions"]["disposition"]["anyOf"][1]["enum"])
    for step, disposition, action in epcis.MAPPING.values():
        assert step in steps and (disposition is None or disposition in dispositions) and action in ("ADD", "OBSERVE")
    assert set(epcis.STATUS_DISPOSITION.values()) <= dispositions
    with_gln = epcis.epcis_event(
        {
            "position": 1,
            "eventId": "e",
            "type": "pick.confirmed.v1",
            "occurredAt": "2026-01-02T03:04:05+08:00",
            "data": {"gtin": "00614141010012", "quantity": 3, "location": "A-01-01"},
        },
        site=SiteIds.parse("0614141000005", "0614141"),
    )
    # was the Digital Link https://id.gs1.org/414/0614141000005/254/A-01-01: now the SGLN EPC URI
    assert with_gln["readPoint"] == {"id": "urn:epc:id:sgln:0614141.00000.A-01-01"}
    assert with_gln["eventTime"] == "2026-01-01T19:04:05Z" and with_gln["quantityList"][0]["epcClass"].endswith(
        "/01/00614141010012"
    )


def test_a_put_back_is_a_storing_event_at_the_shelf_the_units_went_back_to():
    event = epcis.epcis_event(
        {
            "position": 9,
            "eventId": "e",
            "type": "put-back.confirmed.v1",
            "occurredAt": "2026-01-02T03:04:05Z",
            "data": {
                "putBackId": 1,
                "order": "SO-1",
                "gtin": "00614141010012",
                "item": "SYR-10",
                "lot": "L1",
                "serial": None,
                "quantity": 3,
                "fromLocation": "STAGE-1",
                "tote": None,
                "toLocation": "A-01-01",
            },
        },
        site=SiteIds.parse("0614141000005", "0614141"),
    )
    assert event is not None
    assert (event["bizStep"], event["disposition"]) == ("storing", "sellable_accessible")
    assert event["bizLocation"] == {"id": "urn:epc:id:sgln:0614141.00000.A-01-01"}
    assert event["quantityList"] == [{"epcClass": event["quantityList"][0]["epcClass"], "quantity": 3}]
    assert event["quantityList"][0]["epcClass"].endswith("/01/00614141010012/10/L1")


def _verdicts(exposition: str) -> dict[tuple[str, str], int]:
    out = {}
    for line in exposition.splitlines():
        if line.startswith("udipick_scan_verdicts_total{"):
            labels, value = line[len("udipick_scan_verdicts_total{") :].split("} ")
            parts = dict(p.split("=") for p in labels.split(","))
            out[(parts["workflow"].strip('"'), parts["verdict"].strip('"'))] = int(float(value))
    return out


async def test_metrics_show_the_backlog_lag_and_request_latency(client, demo_db, erp):
    from tests.outbox.conftest import make_subscription

    await write_events(demo_db, 4)
    await client.get("/api/v1/erp/events?after=0", headers=erp)  # sequences the 4
    await make_subscription(demo_db, "http://127.0.0.1:9/hook", name="erp-main", from_position=1)
    r = await client.get("/metrics", headers=erp)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert "udipick_outbox_head_position 4" in body
    assert 'udipick_webhook_lag_events{subscription="erp-main"} 3' in body
    assert 'udipick_http_request_duration_seconds_count{method="GET",route="/api/v1/erp/events"}' in body
    assert r.headers["x-request-id"]
    picker = await login(client, "picker")
    # scan verdicts this process answered, by workflow: a refused pick scan counts once, its replay not again
    from tests.api.test_picking import GLOVE, gs1

    body = {"clientScanId": str(uuid.uuid4()), "raw": gs1(GLOVE)}
    before = _verdicts(r.text)
    for _ in range(2):  # no such task: refused and stored; the second is a replay of that answer
        assert (await client.post("/api/v1/picking/tasks/999999/scans", json=body, headers=picker)).status_code == 404
    after = _verdicts((await client.get("/metrics", headers=erp)).text)
    assert after.get(("pick", "refused"), 0) - before.get(("pick", "refused"), 0) == 1
    assert after.get(("pick", "accepted"), 0) == before.get(("pick", "accepted"), 0)
    assert (
        'udipick_scan_verdicts_total{verdict="refused",workflow="pick"}'
        in (await client.get("/metrics", headers=erp)).text
    )
    assert (await client.get("/metrics", headers=picker)).status_code == 403


async def test_metrics_show_this_processs_garbage_collector_pauses(client, erp):
    import gc

    def collections(text: str) -> int:
        return sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in text.splitlines()
            if line.startswith('udipick_gc_pause_seconds_count{generation="2"}')
        )

    before = collections((await client.get("/metrics", headers=erp)).text)
    gc.collect()  # a full collection, as the collector makes one under load
    body = (await client.get("/metrics", headers=erp)).text
    assert collections(body) >= before + 1
    assert "# TYPE udipick_gc_pause_seconds histogram" in body
    longest = next(
        line for line in body.splitlines() if line.startswith('udipick_gc_pause_max_seconds{generation="2"}')
    )
    assert float(longest.rsplit(" ", 1)[1]) > 0


async def test_metrics_show_events_held_back_behind_a_running_transaction(client, demo_db, erp):
    from udipick.db.outbox import add_events

    def value(body: str, name: str) -> float:
        return float(next(line for line in body.splitlines() if line.startswith(name + " ")).split(" ", 1)[1])

    running = demo_db()  # writes an event and stays open: every event committed after it must wait for it
    await add_events(running, ACTOR, [("test.happened.v1", {"n": "running"})])
    try:
        await write_events(demo_db, 2)
        body = (await client.get("/metrics", headers=erp)).text
        assert value(body, "udipick_outbox_unsequenced_events") == 2
        assert value(body, "udipick_outbox_oldest_unsequenced_age_seconds") >= 0
        head = value(body, "udipick_outbox_head_position")
    finally:
        await running.rollback()
        await running.close()
    await client.get("/api/v1/erp/events?after=0", headers=erp)  # sequences what was held back
    body = (await client.get("/metrics", headers=erp)).text
    assert value(body, "udipick_outbox_unsequenced_events") == 0
    assert value(body, "udipick_outbox_head_position") == head + 2


@pytest.mark.parametrize("role, snapshot, metrics", [("supervisor", 200, 200), ("qa", 200, 403), ("picker", 403, 403)])
async def test_the_floor_s_supervisor_reads_the_stock_snapshot_and_the_metrics(client, role, snapshot, metrics):
    who = await login(client, role)
    r = await client.get("/api/v1/erp/stock", params={"format": "csv"}, headers=who)
    assert r.status_code == snapshot, r.text
    if snapshot == 200:
        assert r.headers["content-type"].startswith("text/csv")
    assert (await client.get("/metrics", headers=who)).status_code == metrics
