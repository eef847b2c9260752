"""POST /api/v1/scans/interpret: the scan in GS1 words, plus the item or location it names here."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import login
from udipick.domain.barcodes import interpret
from udipick.domain.errors import DomainError
from udipick.domain.problem import problem_body, status_for
from udipick.services.demo import demo_gtin
from udipick.services.scans import scan_config

GS = "\x1d"


async def test_a_case_level_datamatrix_maps_to_its_item_and_base_units(client):
    h = await login(client, "picker")
    raw = f"]d201{demo_gtin(1001, 1)}17{(dt.date.today() + dt.timedelta(days=200)):%y%m%d}10SY2405B{GS}21X1\r\n"
    r = await client.post("/api/v1/scans/interpret", json={"raw": raw}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "gs1" and body["symbology"] == "]d2"
    assert body["gtin"] == "10614141010018" and body["lot"] == "SY2405B" and body["serial"] == "X1"
    assert body["item"] == {
        "erpId": "SYR-10ML",
        "name": "Sterile syringe 10 ml, Luer lock",
        "gtin": "00614141010011",
        "packLevel": "box",
        "packQuantity": 100,
        "units": 100,
        "lotTracked": True,
        "serialTracked": False,
        "expiryTracked": True,
    }
    assert {"ai": "10", "value": "SY2405B"} in body["elements"]


async def test_a_wedge_scan_with_a_stand_in_separator_reads_the_same(client):
    h = await login(client, "picker")
    raw = f"01{demo_gtin(1002)}10ST-A1|21STN000101"
    body = (await client.post("/api/v1/scans/interpret", json={"raw": raw}, headers=h)).json()
    assert (body["lot"], body["serial"], body["item"]["erpId"]) == ("ST-A1", "STN000101", "STENT-DES-3018")


async def test_hibc_maps_through_labeler_and_product_number(client):
    from udipick.domain.barcodes import hibc_check_character

    h = await login(client, "receiver")
    data = "+A123SCREW450"
    body = (
        await client.post("/api/v1/scans/interpret", json={"raw": data + hibc_check_character(data)}, headers=h)
    ).json()
    assert body["kind"] == "hibc" and body["item"]["erpId"] == "SCREW-CORT-45"


async def test_an_ma_code_reads_as_ma_with_its_di_and_production_identifier(client):
    h = await login(client, "receiver")
    raw = "]Q1MA.156.M0.100001.1234567.L20240101A.S0001.M240101.E20290101.D8891\r\n"
    r = await client.post("/api/v1/scans/interpret", json={"raw": raw}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {
        k: body.get(k) for k in ("kind", "di", "lot", "serial", "productionDate", "expiry", "sterilisationLot")
    } == {
        "kind": "ma",
        "di": "MA.156.M0.100001.1234567",
        "lot": "20240101A",
        "serial": "0001",
        "productionDate": "2024-01-01",
        "expiry": "2029-01-01",
        "sterilisationLot": "8891",
    }
    assert "item" not in body  # items with MA DIs are not registered yet


async def test_a_mangled_ma_code_gets_a_422_problem(client):
    h = await login(client, "receiver")
    r = await client.post("/api/v1/scans/interpret", json={"raw": "MA.156.M0.100001.1234567.E2801"}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["position"] == 26 and "6 or 8 digits" in r.json()["reason"]


async def test_an_ahm_code_reads_as_ahm_with_the_same_fields_as_an_ma_code(client):
    h = await login(client, "receiver")
    raw = "]Q1AHM.1000001.2000001.BN20240101A.SN0001.MD240101.ED20290101\r\n"
    r = await client.post("/api/v1/scans/interpret", json={"raw": raw}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body.get(k) for k in ("kind", "symbology", "di", "lot", "serial", "productionDate", "expiry")} == {
        "kind": "ahm",
        "symbology": "]Q1",
        "di": "AHM.1000001.2000001",
        "lot": "20240101A",
        "serial": "0001",
        "productionDate": "2024-01-01",
        "expiry": "2029-01-01",
    }
    assert "bestBefore" not in body and "expired" not in body


async def test_an_ahm_best_before_date_that_has_passed_marks_the_scan_expired(client):
    h = await login(client, "picker")
    r = await client.post("/api/v1/scans/interpret", json={"raw": "AHM.1000001.2000001.BD20200131"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["bestBefore"], body["expiry"], body["expired"]) == (
        "ahm",
        "2020-01-31",
        "2020-01-31",
        True,
    )


async def test_a_mangled_ahm_code_gets_a_422_problem(client):
    h = await login(client, "receiver")
    r = await client.post("/api/v1/scans/interpret", json={"raw": "AHM.1000001.2000001.ED20280101BN1"}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "unreadable-barcode"
    assert body["position"] == 30 and "separator '.' missing before data unit .BN" in body["reason"]


async def test_location_labels_map_to_locations(client):
    h = await login(client, "picker")
    body = (await client.post("/api/v1/scans/interpret", json={"raw": "LOC-A-01-02"}, headers=h)).json()
    assert body["kind"] == "location" and body["location"] == {
        "code": "A-01-02",
        "type": "pick",
        "zone": "A",
        "frozen": False,
    }


async def test_unreadable_scans_get_a_422_problem_with_position_and_reason(client):
    h = await login(client, "picker")
    r = await client.post("/api/v1/scans/interpret", json={"raw": f"01{demo_gtin(1001)}17261301"}, headers=h)
    assert r.status_code == 422
    p = r.json()
    assert p["code"] == "unreadable-barcode" and "month 13" in p["detail"] and isinstance(p["position"], int)
    r = await client.post("/api/v1/scans/interpret", json={"raw": "+A123SCREW450T"}, headers=h)
    assert r.status_code == 422 and "check character" in r.json()["detail"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789\x1d]dCQe+$/|#ALOCPN-", max_size=60),
        st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    )
)
def test_no_input_gets_a_500(fuzz_client, raw):
    client, headers = fuzz_client
    # the pure rule decides the answer: a reading is 200, a refusal is its own problem (a 422 for
    # unreadable input), and anything that escapes interpret() as a non-domain error fails here too
    try:
        interpret(raw, today=dt.date.today(), config=scan_config(client.app.state.settings))
        expected = (200, None)
    except DomainError as refusal:
        expected = (status_for(refusal), problem_body(refusal)["code"])
    r = client.post("/api/v1/scans/interpret", json={"raw": raw}, headers=headers)
    assert (r.status_code, r.json().get("code") if r.status_code != 200 else None) == expected, (raw, r.text)
    if r.status_code != 200:
        assert r.headers["content-type"].startswith("application/problem+json")
