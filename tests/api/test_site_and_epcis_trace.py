"""EPCIS a trading partner can trace with, over HTTP on real PostgreSQL: the site record, packing as an
AggregationEvent, SGLN places, a shipment's source and destination, CBV-typed business transactions;
the SSCC label's FROM block from the site record, and the ZPL a browser print agent fetches."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import jsonschema
import msgspec
import pytest
from sqlalchemy import text

from tests.api.test_picking import STENT, SYR, gs1, scan
from tests.conftest import CONFORMANCE, login
from tests.labels.conftest import _decode
from udipick.domain.site import SiteIds
from udipick.integrations.labels.encoding import escape_text
from udipick.services import epcis
from udipick.services.demo import DEMO_SITE

#: TDS 2.0 SGLN EPC URI: company prefix and location reference (12 digits in all), extension
SGLN = re.compile(r"urn:epc:id:sgln:(\d{4,12})\.(\d{0,8})\.([!'()*+,\-.0-9:;=A-Z_a-z]|%2[256F]|%3[CEF]){1,20}")
SITE_SGLN = "urn:epc:id:sgln:0614141.00000.0"


def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((CONFORMANCE / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _places(event: dict) -> list[str]:
    return [event[k]["id"] for k in ("readPoint", "bizLocation") if k in event] + [
        s["source"] for s in event.get("sourceList", []) if s["type"] == "location"
    ]


async def _pick_pack_close(client, order: str) -> tuple[dict, str, dict]:
    """Pick every task of ``order``, pack it into one carton, close it: (picker headers, SSCC, close answer)."""
    sup = await login(client, "supervisor")
    picker = await login(client, "picker", device="tc52-01")
    assert (await client.post("/api/v1/waves", json={"orders": [order]}, headers=sup)).status_code == 201
    raws = []
    for task in [t for t in (await client.get("/api/v1/picking/tasks", headers=picker)).json() if t["order"] == order]:
        remaining = task["remaining"]
        while remaining:
            if task["serial"]:
                raw = gs1(STENT, task["lot"], serial=task["serial"])
            else:
                raw = gs1(SYR, task["lot"])
            r = await scan(client, picker, task, raw)
            assert r.status_code == 200, r.text
            remaining = r.json()["remaining"]
            raws.append(raw)
    sscc = (await client.post("/api/v1/packing/packages", json={"order": order}, headers=picker)).json()["sscc"]
    for raw in raws:
        r = await client.post(
            f"/api/v1/packing/packages/{sscc}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": raw},
            headers=picker,
        )
        assert r.status_code == 200, r.text
    closed = await client.post(f"/api/v1/packing/packages/{sscc}/close", headers=picker)
    assert closed.status_code == 200, closed.text
    return picker, sscc, closed.json()


async def test_packing_and_shipping_are_events_a_trading_partner_can_trace(client, demo_db):
    picker, sscc, _ = await _pick_pack_close(client, "SO-5001")  # 30 syringes of one lot, 2 serialised stents
    assert (await client.post("/api/v1/shipments", json={"order": "SO-5001"}, headers=picker)).status_code == 200
    erp = await login(client, "qa")
    r = await client.get("/api/v1/epcis/events?limit=5000", headers=erp)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    errors = sorted(_validator().iter_errors(doc), key=str)
    assert not errors, errors[0]
    events = doc["epcisBody"]["eventList"]

    (packed,) = [e for e in events if e["bizStep"] == "packing"]
    assert packed["type"] == "AggregationEvent" and packed["action"] == "ADD"
    assert packed["parentID"] == f"https://id.gs1.org/00/{sscc}"
    assert sorted(packed["childEPCs"]) == [
        f"https://id.gs1.org/01/{STENT}/21/STN000101",
        f"https://id.gs1.org/01/{STENT}/21/STN000102",
    ]
    (syringes,) = packed["childQuantityList"]
    assert syringes["quantity"] == 30 and syringes["epcClass"].startswith(f"https://id.gs1.org/01/{SYR}/10/")
    assert packed["disposition"] == "container_closed" and packed["bizLocation"] == {"id": SITE_SGLN}
    assert packed["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:SO-5001"}
    ]

    (shipped,) = [e for e in events if e["bizStep"] == "shipping"]
    assert shipped["type"] == "ObjectEvent" and f"https://id.gs1.org/00/{sscc}" in shipped["epcList"]
    assert shipped["sourceList"] == [
        {"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"},
        {"type": "location", "source": SITE_SGLN},
    ]
    # CUST-SH-01 has GLN 6901234000016 and its ship-to none: the customer's GLN is the place too
    assert shipped["destinationList"] == [
        {"type": "owning_party", "destination": "https://id.gs1.org/417/6901234000016"},
        {"type": "location", "destination": "https://id.gs1.org/414/6901234000016"},
    ]
    assert shipped["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:SO-5001"}
    ]
    picks = [e for e in events if e["bizStep"] == "picking"]
    assert picks and all(SGLN.fullmatch(p) for e in picks for p in _places(e))
    places = [p for e in events for p in _places(e)]
    assert places and all(SGLN.fullmatch(p) for p in places), places
    assert not any("urn:udipick" in json.dumps(e) for e in events)


async def test_a_receipt_against_an_asn_is_a_desadv_and_against_a_po_a_po(client, demo_db):
    """The receipt events name the ERP's inbound document: its kind decides the CBV type."""
    async with demo_db() as s:
        docs = dict((await s.execute(text("SELECT erp_id, kind FROM inbound_documents"))).all())
        await s.execute(
            text(
                "INSERT INTO outbox_events (event_id, type, occurred_at, data) SELECT gen_random_uuid(),"
                " 'receipt.confirmed.v1', now(), jsonb_build_object('document', erp_id, 'gtin', CAST(:g AS text), 'lot', 'L1',"
                " 'quantity', 5, 'status', 'available', 'location', 'RCV-01') FROM inbound_documents ORDER BY id"
            ),
            {"g": SYR},
        )
        await s.commit()
    assert sorted(set(docs.values())) == ["asn", "purchase_order"]  # the demo has both kinds
    qa = await login(client, "qa")
    doc = (await client.get("/api/v1/epcis/events?limit=5000", headers=qa)).json()
    assert not sorted(_validator().iter_errors(doc), key=str)
    seen = {}
    for e in doc["epcisBody"]["eventList"]:
        if e["udipick:eventType"] == "receipt.confirmed.v1":
            (bt,) = e["bizTransactionList"]
            seen[bt["bizTransaction"].rsplit(":", 1)[1]] = bt["type"]
    assert seen == {erp_id: {"asn": "desadv", "purchase_order": "po"}[kind] for erp_id, kind in docs.items()}


# ---- the site record ------------------------------------------------------------------------------

SITE = {
    "companyName": "华东医疗供应链有限公司",
    "gln": "6901234000016",
    "gs1CompanyPrefix": "6901234",
    "addressLines": ["闵行区申长路 990 号", "B 栋 2 层"],
    "city": "上海",
    "postalCode": "201100",
    "country": "CN",
    "licences": [
        {"kind": "医疗器械经营许可证", "number": "沪闵食药监械经营许20250123号", "validUntil": "2030-05-31"},
        {
            "kind": "第二类医疗器械经营备案凭证",
            "number": "沪闵食药监械经营备20250456号",
            "issuedBy": "闵行区市场监督管理局",
        },
    ],
}


async def test_the_site_record_round_trips_and_feeds_epcis(client, demo_db):
    admin = await login(client, "admin")
    before = await client.get("/api/v1/admin/site", headers=admin)
    assert before.status_code == 200 and before.json()["gln"] == DEMO_SITE.gln
    r = await client.put("/api/v1/admin/site", json=SITE, headers=admin)
    assert r.status_code == 200, r.text
    after = (await client.get("/api/v1/admin/site", headers=admin)).json()
    assert after == r.json() and after["updatedBy"] == "admin" and after["updatedAt"]
    assert {k: v for k, v in after.items() if k not in ("updatedAt", "updatedBy")} == {
        **SITE,
        "pickRequiresTote": False,
        "gspChecks": False,  # not sent: the GSP checks stay off
        "licences": [
            {**SITE["licences"][0], "issuedBy": None},
            {**SITE["licences"][1], "validUntil": None},
        ],
    }
    async with demo_db() as s:
        await s.execute(
            text(
                "INSERT INTO outbox_events (event_id, type, occurred_at, data) VALUES (gen_random_uuid(),"
                " 'pick.confirmed.v1', now(), CAST(:d AS jsonb))"
            ),
            {"d": json.dumps({"gtin": SYR, "lot": "L1", "quantity": 2, "location": "冷库 1", "order": "SO-9"})},
        )
        await s.commit()
    qa = await login(client, "qa")
    doc = (await client.get("/api/v1/epcis/events", headers=qa)).json()
    (pick,) = doc["epcisBody"]["eventList"]
    # the new GLN, split at the new prefix; a code that cannot be a GLN extension names the site and travels apart
    assert pick["readPoint"] == {"id": "urn:epc:id:sgln:6901234.00001.0"}
    assert pick["udipick:location"] == "冷库 1"
    assert pick["bizTransactionList"] == [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000016:SO-9"}]
    assert not sorted(_validator().iter_errors(doc), key=str)


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"gln": "6901234000018"}, 400, "invalid-gln", "gln"),  # check digit 6, not 8
        ({"gln": "690123400001"}, 400, "invalid-gln", "gln"),
        ({"gs1CompanyPrefix": "6901235"}, 400, "invalid-gln", "gln"),  # the GLN is not under this prefix
        ({"gs1CompanyPrefix": "69"}, 400, "invalid-gln", "gs1CompanyPrefix"),
        ({"country": "China"}, 400, None, None),
        ({"companyName": ""}, 400, None, None),
        ({"licences": [{"kind": "经营许可证"}]}, 400, None, None),
        ({"addressLines": ["1", "2", "3", "4"]}, 400, None, None),
    ],
)
async def test_a_bad_site_record_is_refused_with_a_problem_and_changes_nothing(
    client, demo_db, change, status, code, field
):
    admin = await login(client, "admin")
    before = (await client.get("/api/v1/admin/site", headers=admin)).json()
    r = await client.put("/api/v1/admin/site", json={**SITE, **change}, headers=admin)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code and r.json()["field"] == field
    assert (await client.get("/api/v1/admin/site", headers=admin)).json() == before


async def test_only_an_administrator_edits_the_site_record(client, demo_db):
    sup = await login(client, "supervisor")
    assert (await client.get("/api/v1/admin/site", headers=sup)).status_code == 403
    assert (await client.put("/api/v1/admin/site", json=SITE, headers=sup)).status_code == 403


# ---- the SSCC label's FROM block and the ZPL a browser print agent fetches -------------------------


async def test_the_sscc_label_says_who_it_is_from_and_still_scans_back_exactly(client, demo_db):
    picker, sscc, closed = await _pick_pack_close(client, "SO-5001")
    async with demo_db() as s:
        zpl = (
            await s.execute(text("SELECT zpl FROM print_jobs WHERE id = :i"), {"i": closed["label"]["jobId"]})
        ).scalar()
    text_zpl = bytes(zpl).decode()
    for line in (DEMO_SITE.company_name, *DEMO_SITE.address_lines, "201203 上海"):
        assert escape_text(line) in text_zpl, line
    assert _decode(bytes(zpl), size="4x6", dpi=203) == [("]C1", f"(00){sscc}", f"00{sscc}")]  # two GTINs: SSCC only

    r = await client.get(f"/api/v1/labels/sscc.zpl?sscc={sscc}", headers=picker)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    assert r.content == bytes(zpl)  # the same label closing the carton printed
    small = await client.get(f"/api/v1/labels/sscc.zpl?sscc={sscc}&size=4x2&dpi=300", headers=picker)
    assert small.status_code == 200 and "FROM" not in small.text  # the 4x2 label has no address blocks
    assert _decode(small.content, size="4x2", dpi=300) == [("]C1", f"(00){sscc}", f"00{sscc}")]


async def test_the_zpl_endpoint_serves_location_labels_and_refuses_what_it_does_not_know(client, demo_db):
    picker = await login(client, "picker")
    r = await client.get("/api/v1/labels/location.zpl?code=A-01-01", headers=picker)
    assert r.status_code == 200, r.text
    async with demo_db() as s:
        barcode = await s.scalar(text("SELECT barcode FROM locations WHERE code = 'A-01-01'"))
    assert sorted(_decode(r.content, size="4x6", dpi=203)) == sorted(
        [("]C0", barcode, barcode), ("]d1", barcode, barcode)]
    )

    cases = [
        ("item.zpl?gtin=" + SYR, 404, "unknown-label-template"),  # an item label is printed from data, not fetched
        ("sscc.png?sscc=006141410000000012", 404, "unknown-label-template"),
        ("sscc", 404, "unknown-label-template"),
        ("sscc.zpl", 422, "invalid-label-data"),
        ("sscc.zpl?sscc=006141410000000013", 422, "invalid-sscc"),
        ("sscc.zpl?sscc=006141419999999994", 404, "not-found"),
        ("location.zpl?code=Z-99", 404, "not-found"),
        ("location.zpl?code=A-01-01&size=9x9", 404, "unknown-label-template"),
        ("location.zpl?code=A-01-01&dpi=abc", 400, None),
    ]
    for path, status, code in cases:
        r = await client.get(f"/api/v1/labels/{path}", headers=picker)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), path
        if code:
            assert r.json()["code"] == code, (path, r.json())


async def test_an_open_carton_has_no_label_to_fetch_yet(client, demo_db):
    picker = await login(client, "picker")
    sup = await login(client, "supervisor")
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=sup)).status_code == 201
    # SO-5002 is released, nothing picked: the empty carton is open
    sscc = (await client.post("/api/v1/packing/packages", json={"order": "SO-5002"}, headers=picker)).json()["sscc"]
    r = await client.get(f"/api/v1/labels/sscc.zpl?sscc={sscc}", headers=picker)
    assert r.status_code == 409 and r.json()["code"] == "package-not-closed" and r.json()["packageStatus"] == "open"


@pytest.mark.parametrize(
    ("customer_gln", "ship_to_gln", "destinations"),
    [
        (
            "6901234000016",
            "6901234000023",
            [
                {"type": "owning_party", "destination": "https://id.gs1.org/417/6901234000016"},
                {"type": "location", "destination": "https://id.gs1.org/414/6901234000023"},
            ],
        ),
        (None, "6901234000023", [{"type": "location", "destination": "https://id.gs1.org/414/6901234000023"}]),
        (None, None, None),  # nothing a partner could resolve: no destinationList at all
    ],
)
def test_a_shipment_names_the_ship_to_place_before_the_customers_own_gln(customer_gln, ship_to_gln, destinations):
    message = {
        "position": 9,
        "eventId": "4b7f1c1e-0000-4000-8000-000000000001",
        "type": "shipment.confirmed.v1",
        "occurredAt": "2026-12-06T08:00:00Z",
        "data": {
            "order": "SO-1",
            "customer": "C-1",
            "customerGln": customer_gln,
            "shipTo": {"name": "Ward 3", "gln": ship_to_gln},
            "ssccs": ["006141410000000012"],
            "lines": [],
        },
    }
    event = epcis.epcis_event(message, site=SiteIds.parse("0614141000005", "0614141"))
    assert event is not None and event.get("destinationList") == destinations
    assert event["sourceList"][1] == {"type": "location", "source": SITE_SGLN}
    bare = epcis.epcis_event(message, site=None)  # no site record: no source, private document URN
    assert bare is not None and "sourceList" not in bare
    assert bare["bizTransactionList"] == [{"type": "po", "bizTransaction": "urn:udipick:po:SO-1"}]
    doc = msgspec.json.decode(msgspec.json.encode(epcis.document([message], site=None, now=dt.datetime.now(dt.UTC))))
    assert not sorted(_validator().iter_errors(doc), key=str)


async def test_the_erp_sends_customer_supplier_and_ship_to_glns_with_their_check_digit(client, demo_db):
    """A GLN names a party in EPCIS: one with a wrong check digit is refused at the door, with a pointer."""
    admin = await login(client, "admin")
    r = await client.post(
        "/api/v1/erp/customers",
        json={"erpId": "C-GLN", "version": 1, "name": "Ward", "gln": "6901234000023"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    for path, record, pointer in [
        ("customers", {"erpId": "C-BAD", "version": 1, "name": "X", "gln": "6901234000024"}, "/gln"),
        ("suppliers", {"erpId": "S-BAD", "version": 1, "name": "X", "gln": "4012345000008"}, "/gln"),
        (
            "sales-orders",
            {
                "erpId": "SO-GLN",
                "version": 1,
                "number": "SO-GLN",
                "customer": "C-GLN",
                "shipTo": {"name": "Ward 3", "gln": "6901234000017"},
                "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 1}],
            },
            "/shipTo/gln",
        ),
    ]:
        r = await client.post(f"/api/v1/erp/{path}", json=record, headers=admin)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["code"] == "invalid-gln" and r.json()["pointer"] == pointer, r.json()
