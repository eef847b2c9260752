"""The labels/printers HTTP API on the real app: print to a real local TCP "printer", preview, problems."""

from __future__ import annotations

import io
import json

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import login
from tests.printing.conftest import free_port
from udipick.integrations.labels.render import render_label

ITEM = {"gtin": "09501101530003", "lot": "AB-12x", "expiry": "2027-03-31", "item_name": "Syringe 10 ml"}


async def register(client, admin, name: str, port: int, **extra) -> dict:
    body = {"name": name, "host": "127.0.0.1", "port": port, "dpi": 203, "labelSize": "4x6", **extra}
    r = await client.post("/api/v1/printers", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def problem(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if code:
        assert body["code"] == code, body
    return body


async def test_admins_manage_printers_supervisors_read_and_pickers_neither(client):
    admin, supervisor, picker = [await login(client, u) for u in ("admin", "supervisor", "picker")]
    created = await register(client, admin, "dock-1", 9100, zone="DOCK", location="RCV-01")
    assert created["location"] == "RCV-01" and "sscc" in created["labels"]
    problem(
        await client.post(
            "/api/v1/printers", json={"name": "x", "host": "h", "dpi": 203, "labelSize": "4x6"}, headers=picker
        ),
        403,
        "permission-denied",
    )
    listed = (await client.get("/api/v1/printers", headers=supervisor)).json()
    assert [p["name"] for p in listed] == ["dock-1"]
    problem(await client.get("/api/v1/printers", headers=picker), 403, "permission-denied")
    problem(
        await client.post(
            "/api/v1/printers", json={"name": "dock-1", "host": "h", "dpi": 203, "labelSize": "4x6"}, headers=admin
        ),
        409,
        "printer-already-registered",
    )
    r = await client.put(
        "/api/v1/printers/dock-1",
        headers=admin,
        json={"name": "dock-2", "host": "10.0.0.9", "dpi": 300, "labelSize": "2x1", "zone": "DOCK"},
    )
    assert r.status_code == 200 and r.json()["labels"] == ["item", "location", "lpn"], r.text
    problem(await client.put("/api/v1/printers/dock-2", headers=supervisor, json={}), 403)
    r = await client.put("/api/v1/device-printers/scanner-9", json={"printer": "dock-2"}, headers=admin)
    assert r.json() == {"deviceId": "scanner-9", "printer": "dock-2"}
    assert (await client.get("/api/v1/device-printers", headers=supervisor)).json() == [
        {"deviceId": "scanner-9", "printer": "dock-2"}
    ]
    problem(
        await client.put("/api/v1/device-printers/scanner-9", json={"printer": "nope"}, headers=admin),
        404,
        "unknown-printer",
    )
    assert (await client.delete("/api/v1/printers/dock-2", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/device-printers", headers=admin)).json() == []
    problem(await client.delete("/api/v1/printers/dock-2", headers=admin), 404, "unknown-printer")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"host": "evil^XA~JA", "port": 9100}, 422, "invalid-record"),
        ({"port": 70000}, 422, "invalid-record"),
        ({"dpi": 600}, 422, "invalid-record"),
        ({"labelSize": "A4"}, 422, "invalid-record"),
        ({"name": "bad name!"}, 422, "invalid-record"),
        ({"location": "NOWHERE"}, 404, "not-found"),
        ({"port": "9100; rm"}, 400, "invalid-request"),
        ({"colour": "red"}, 400, "invalid-request"),
    ],
)
async def test_bad_printer_settings_get_a_problem(client, body, status, code):
    admin = await login(client, "admin")
    base = {"name": "p1", "host": "printer-1.local", "dpi": 203, "labelSize": "4x6"}
    problem(await client.post("/api/v1/printers", json={**base, **body}, headers=admin), status, code)


async def test_printing_sends_the_label_to_the_printer_and_the_job_table_shows_it(client, fake_printer):
    admin = await login(client, "admin")
    picker = await login(client, "picker", device="scanner-1")
    await register(client, admin, "dock", fake_printer.port, zone="DOCK")
    r = await client.post("/api/v1/labels/item/print", json={"data": ITEM, "zone": "DOCK"}, headers=picker)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["status"], out["printer"], out["attempts"], out["willRetry"]) == ("sent", "dock", 1, False)
    assert fake_printer.wait_for_jobs(1) == [render_label("item", ITEM)]
    r = await client.post(f"/api/v1/print-jobs/{out['id']}/reprint", headers=picker)
    assert r.status_code == 201 and r.json()["reprintOf"] == out["id"]
    assert fake_printer.wait_for_jobs(2) == [render_label("item", ITEM)] * 2
    jobs = (await client.get("/api/v1/print-jobs?status=sent", headers=picker)).json()
    assert [j["id"] for j in jobs] == [out["id"] + 1, out["id"]]
    problem(await client.post(f"/api/v1/print-jobs/{out['id']}/retry", headers=picker), 409, "print-job-already-sent")


async def test_a_printer_that_is_down_gives_202_and_the_reason_then_retry_sends_it(client):
    from tests.printing.conftest import FakePrinter

    admin = await login(client, "admin")
    picker = await login(client, "picker")
    port = free_port()
    await register(client, admin, "bench", port)
    r = await client.post(
        "/api/v1/labels/lpn/print", json={"data": {"lpn": "LPN7"}, "printer": "bench", "copies": 2}, headers=picker
    )
    assert r.status_code == 202, r.text
    failed = r.json()
    assert failed["status"] == "failed" and failed["willRetry"] and "did not take the label" in failed["lastError"]
    assert "tries again by itself" in failed["message"]
    printer = FakePrinter(port).start()
    try:
        r = await client.post(f"/api/v1/print-jobs/{failed['id']}/retry", headers=picker)
        assert r.status_code == 201 and r.json()["status"] == "sent", r.text
        assert printer.wait_for_jobs(1) == [render_label("lpn", {"lpn": "LPN7"}) * 2]
    finally:
        printer.stop()


async def test_no_printer_is_a_problem_the_handheld_shows_and_the_job_is_kept_for_a_retry(client, fake_printer):
    admin = await login(client, "admin")
    picker = await login(client, "picker", device="scanner-3")
    body = problem(
        await client.post(
            "/api/v1/labels/location/print", json={"data": {"code": "A-01-01"}, "zone": "A"}, headers=picker
        ),
        409,
        "no-printer-for-label",
    )
    assert "ask a supervisor to assign a printer" in body["detail"] and body["zone"] == "A"
    kept = (await client.get("/api/v1/print-jobs?status=no_printer", headers=picker)).json()
    assert [j["id"] for j in kept] == [body["job_id"]]
    problem(
        await client.post(f"/api/v1/print-jobs/{body['job_id']}/retry", headers=picker), 409, "no-printer-for-label"
    )
    await register(client, admin, "bench", fake_printer.port)
    assert (
        await client.put("/api/v1/device-printers/scanner-3", json={"printer": "bench"}, headers=admin)
    ).status_code == 200
    r = await client.post(f"/api/v1/print-jobs/{body['job_id']}/retry", headers=picker)
    assert r.status_code == 201 and r.json()["printer"] == "bench", r.text
    assert fake_printer.wait_for_jobs(1) == [render_label("location", {"code": "A-01-01"})]


async def test_erp_text_that_looks_like_zpl_prints_as_text_inside_one_label(client, fake_printer):
    admin = await login(client, "admin")
    picker = await login(client, "picker")
    await register(client, admin, "ship", fake_printer.port)
    data = {"sscc": "106141411234567897", "to_name": "^XZ~JA^FDpwned_5E", "to_address": ["~JA", "上海^XA"]}
    r = await client.post("/api/v1/labels/sscc/print", json={"data": data, "printer": "ship"}, headers=picker)
    assert r.status_code == 201, r.text
    [sent] = fake_printer.wait_for_jobs(1)
    assert sent.count(b"^XA") == 1 and sent.count(b"^XZ") == 1 and b"~JA" not in sent and b"pwned" in sent


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/v1/labels/pallet/print", {"data": {}}, 404, "unknown-label-template"),
        ("/api/v1/labels/item/print", {"data": {"gtin": "09501101530004"}}, 422, "invalid-gtin"),
        ("/api/v1/labels/item/print", {"data": {"gtin": "09501101530003", "lot": "A^XZ"}}, 422, "invalid-label-data"),
        ("/api/v1/labels/sscc/print", {"data": {"sscc": "106141411234567890"}}, 422, "invalid-sscc"),
        ("/api/v1/labels/lpn/print", {"data": {"lpn": "L1"}, "size": "9x9"}, 422, "invalid-label-data"),
        ("/api/v1/labels/lpn/print", {"data": {"lpn": "L1"}, "dpi": 600}, 422, "invalid-label-data"),
        ("/api/v1/labels/lpn/print", {"data": {"lpn": "L1"}, "copies": 0}, 400, "invalid-request"),
        ("/api/v1/labels/lpn/print", {"data": "LPN1"}, 400, "invalid-request"),
        ("/api/v1/labels/lpn/print", {"data": {"lpn": "L1"}, "printer": "ghost"}, 404, "unknown-printer"),
        ("/api/v1/labels/item/print", {"data": {**ITEM, "serial": "S1"}, "copies": 2}, 422, "invalid-label-data"),
        ("/api/v1/print-jobs/999999/reprint", {}, 404, "unknown-print-job"),
    ],
)
async def test_bad_print_requests_get_a_problem_never_a_500(client, path, body, status, code):
    picker = await login(client, "picker")
    problem(await client.post(path, json=body, headers=picker), status, code)


async def test_the_preview_is_the_real_zpl_rendered_and_its_datamatrix_scans_back(client):
    picker = await login(client, "picker")
    query = "size=4x2&dpi=300&gtin=09501101530003&lot=AB-12x&expiry=2027-03-31&serial=SN-0000000000000001"
    r = await client.get(f"/api/v1/labels/item/preview.png?{query}", headers=picker)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (1200, 600)
    found = {b.text for b in zxingcpp.read_barcodes(image.convert("L"))}
    assert "(01)09501101530003(17)270331(10)AB-12x(21)SN-0000000000000001" in found
    data = json.dumps({"lpn": "LPN0042", "description": "上海 pallet"})
    r = await client.get("/api/v1/labels/lpn/preview.png", params={"data": data, "size": "2x1"}, headers=picker)
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (406, 203)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("size=9x9&lpn=L1", 404, "unknown-label-template"),
        ("dpi=abc&lpn=L1", 422, "invalid-label-data"),
        ("dpi=600&lpn=L1", 404, "unknown-label-template"),
        ("data=%7Bnot-json&lpn=L1", 422, "invalid-label-data"),
        ("data=%5B1%5D", 422, "invalid-label-data"),
        ("lpn=L%C3%A9", 422, "invalid-label-data"),
    ],
)
async def test_a_bad_preview_request_gets_a_problem(client, query, status, code):
    picker = await login(client, "picker")
    problem(await client.get(f"/api/v1/labels/lpn/preview.png?{query}", headers=picker), status, code)


async def test_bad_job_filters_get_a_problem(client):
    picker = await login(client, "picker")
    problem(await client.get("/api/v1/print-jobs?status=lost", headers=picker), 422, "invalid-label-data")
    problem(await client.get("/api/v1/print-jobs?limit=0", headers=picker), 400, "invalid-request")
    problem(await client.get("/api/v1/print-jobs/abc", headers=picker), 404)
