"""The GSP records' printable pages in Chromium (zh-CN): the receiving and acceptance record, the outbound
review record and the cold-chain temperature record, each after a real receipt, shipment and sensor batch
through the API; each page printed to A4 landscape PDF (more than one page for a long record).

Screenshots go to artifacts/screenshots/; with ``UDIPICK_DOC_SHOTS=1`` they replace the committed
docs/screenshots/gsp_*.png that docs/gsp.md shows."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, SHOTS, db_fetch, in_thread, yymmdd
from udipick.services.demo import demo_gtin

pytestmark = pytest.mark.browser

DOCS_SHOTS = ROOT / "docs" / "screenshots"
#: A4 landscape at 96 CSS px per inch
A4_LANDSCAPE = {"width": 1123, "height": 794}
TODAY = dt.date.today()


class Api:
    """udipick over HTTP as one demo user or API key (test set-up, outside the browser)."""

    def __init__(self, base: str, *, user: str | None = None, key: str | None = None) -> None:
        self.base = base
        self.headers = {"Content-Type": "application/json"}
        if key is not None:
            self.headers["Authorization"] = f"Bearer {key}"
        if user is not None:
            token = self.call(
                "POST", "/api/v1/auth/login", {"username": user, "password": f"{user}-demo", "deviceId": "gsp-test"}
            )["token"]
            self.headers.update({"Authorization": f"Bearer {token}", "X-Device-Id": "gsp-test"})

    def call(self, method: str, path: str, body: dict | None = None):
        req = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers=self.headers,
        )
        with urllib.request.urlopen(req, timeout=20) as r:
            return json.loads(r.read() or b"null")


def _datamatrix(ref: int, lot: str, expiry: dt.date) -> str:
    return f"]d201{demo_gtin(ref)}17{yymmdd(expiry)}10{lot}"


def _gs1(gtin: str, lot: str) -> str:
    return f"01{gtin}10{lot}"


def _set_master_data(database_url: str) -> None:
    db_fetch(
        database_url,
        "UPDATE items SET specification = $1, registration_no = $2, registration_holder = $3 WHERE erp_id = 'PEN-NDL-4MM'"
        " RETURNING id",
        "32G×4mm",
        "国械注准20223150001",
        "上海示例医疗器械有限公司",
    )
    db_fetch(
        database_url,
        "UPDATE items SET specification = $1, registration_no = $2, registration_holder = $3 WHERE erp_id = 'SYR-10ML'"
        " RETURNING id",
        "10ml 鲁尔锁",
        "苏械注准20192140002",
        "江苏示例医疗用品有限公司",
    )
    db_fetch(
        database_url,
        "UPDATE items SET specification = 'M 号', registration_no = '苏械备20180001', registration_holder = '张家港示例乳胶制品有限公司'"
        " WHERE erp_id = 'GLOVE-NIT-M' RETURNING id",
    )
    db_fetch(database_url, "UPDATE suppliers SET licence_no = '沪药监械经营许20230001' RETURNING id")
    db_fetch(database_url, "UPDATE customers SET licence_no = '沪药监械经营备20240002' RETURNING id")


@pytest.fixture(scope="module")
def records(server: str, browser_database_url: str) -> str:
    """A cold-chain receipt (one lot warm and rejected by QA), a shipment and a day of cold-room readings."""
    _set_master_data(browser_database_url)
    receiver, qa, sup, picker = (Api(server, user=u) for u in ("receiver", "qa", "supervisor", "picker"))
    transport = {
        "carrier": "顺丰冷运",
        "transportMode": "冷藏车",
        "departedAt": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).isoformat(),
        "departureTemperatureC": 4.5,
        "arrivalTemperatureC": 5.5,
        "transportTemperatures": "记录仪 TL-88：全程 3.1–6.4 °C",
    }
    rid = receiver.call("POST", "/api/v1/receipts", {"document": "ASN-2002", "transport": transport})["id"]
    for raw, qty, temp in [
        (_datamatrix(1003, "PN4001", TODAY + dt.timedelta(days=200)), 30, 5.0),
        (_datamatrix(1003, "PN4002", TODAY + dt.timedelta(days=210)), 10, 12.5),
        (_datamatrix(1001, "SY2502A", TODAY + dt.timedelta(days=400)), 20, None),
    ]:
        body = {"clientScanId": str(uuid.uuid4()), "raw": raw, "quantity": qty}
        if temp is not None:
            body["temperatureC"] = temp
        receiver.call("POST", f"/api/v1/receipts/{rid}/scans", body)
    lot_id = next(q["lotId"] for q in qa.call("GET", "/api/v1/qc/quarantine") if q["lot"] == "PN4002")
    qa.call("POST", f"/api/v1/qc/lots/{lot_id}/reject", {"reason": "运输温度超标，拒收", "password": "qa-demo"})

    sup.call("POST", "/api/v1/waves", {"orders": ["SO-5002"]})
    raws = {
        "GLOVE-NIT-M": lambda t: _gs1(demo_gtin(1004, 1), t["lot"]),
        "PEN-NDL-4MM": lambda t: _gs1(demo_gtin(1003), t["lot"]),
        "SYR-10ML": lambda t: _gs1(demo_gtin(1001), t["lot"]),
    }
    for task in [t for t in picker.call("GET", "/api/v1/picking/tasks") if t["order"] == "SO-5002"]:
        remaining = task["remaining"]
        while remaining:
            body = {
                "clientScanId": str(uuid.uuid4()),
                "raw": raws[task["item"]["erpId"]](task),
                "locationRaw": task["location"]["barcode"],
            }
            remaining = picker.call("POST", f"/api/v1/picking/tasks/{task['taskId']}/scans", body)["remaining"]
    sscc = picker.call("POST", "/api/v1/packing/packages", {"order": "SO-5002"})["sscc"]
    packs = (
        [_gs1(demo_gtin(1004, 1), "GL-77-01")] * 2
        + [_gs1(demo_gtin(1003), "PN3001")] * 10
        + [_gs1(demo_gtin(1001), "SY2405B")] * 10
    )
    for raw in packs:
        picker.call("POST", f"/api/v1/packing/packages/{sscc}/scans", {"clientScanId": str(uuid.uuid4()), "raw": raw})
    picker.call("POST", f"/api/v1/packing/packages/{sscc}/close")
    sup.call("POST", "/api/v1/shipments", {"order": "SO-5002"})

    key = _sensor_key(browser_database_url)
    gateway = Api(server, key=key)
    start = dt.datetime.combine(TODAY, dt.time(0, 0), dt.timezone(dt.timedelta(hours=8)))
    # a reading every 10 minutes for a day: the record spans several printed pages; two excursions
    readings = [
        {
            "sensor": "TS-COLD-01",
            "location": "COLD-01",
            "at": (start + dt.timedelta(minutes=10 * n)).isoformat(),
            "temperatureC": 9.1 if n in (40, 41) else round(4.0 + (n % 7) * 0.3, 1),
        }
        for n in range(144)
        if start + dt.timedelta(minutes=10 * n) < dt.datetime.now(dt.UTC)
    ]
    gateway.call("POST", "/api/v1/gsp/temperatures", {"readings": readings})
    return server


def _sensor_key(database_url: str) -> str:
    """An API key with scope sensors:write, made as ``udipick api-key add`` makes it."""
    from udipick.config import normalize_database_url
    from udipick.db.engine import make_engine, make_sessionmaker
    from udipick.services.identity import add_api_key

    async def go() -> str:
        engine = make_engine(normalize_database_url(database_url))
        try:
            return await add_api_key(make_sessionmaker(engine), f"cold-room-{uuid.uuid4().hex[:6]}", ["sensors:write"])
        finally:
            await engine.dispose()

    return in_thread(go)


@pytest.fixture
def paper(browser, records: str, console):
    """A zh-CN browser the size of an A4 landscape sheet, signed in as QA (the token in its headers)."""
    token = Api(records, user="qa").headers
    ctx = browser.new_context(
        base_url=records,
        viewport=A4_LANDSCAPE,
        device_scale_factor=1,
        locale="zh-CN",
        extra_http_headers={"Authorization": token["Authorization"], "X-Device-Id": token["X-Device-Id"]},
    )
    pg = ctx.new_page()
    pg.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    yield pg
    ctx.close()
    assert console.errors == []


def _shot(page, name: str, *, full_page: bool = True) -> Path:
    folder = DOCS_SHOTS if os.environ.get("UDIPICK_DOC_SHOTS") == "1" else SHOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def _pdf_pages(page) -> tuple[int, list[tuple[float, float]]]:
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    sizes = [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)]
    return len(sizes), sizes


@pytest.mark.parametrize(
    ("path", "name", "title", "must_show", "signatures"),
    [
        (
            "/api/v1/gsp/receiving-records",
            "gsp_receiving",
            "医疗器械收货验收记录",
            ["国械注准20223150001", "上海示例医疗器械有限公司", "32G×4mm", "PN4001", "PN4002", "不合格", "合格",
             "顺丰冷运", "冷藏车", "12.5", "运输温度超标，拒收", "沪药监械经营许20230001"],
            ["收货人（签字）", "验收人（签字）", "质量管理人员（签字）"],
        ),
        (
            "/api/v1/gsp/outbound-reviews",
            "gsp_outbound",
            "医疗器械出库复核记录",
            ["SO-5002", "Riverside Clinic", "沪药监械经营备20240002", "PN3001", "GL-77-01", "SY2405B", "复核结论", "Picker"],
            ["复核人（签字）", "质量管理人员（签字）"],
        ),
        (
            "/api/v1/gsp/temperatures?location=COLD-01",
            "gsp_temperatures",
            "冷链温度监测记录",
            ["COLD-01", "TS-COLD-01", "9.1", "库位：COLD-01"],
            ["记录人（签字）", "质量管理人员（签字）"],
        ),
    ],
)  # fmt: skip
def test_each_record_prints_in_chinese_on_a4_landscape(paper, path, name, title, must_show, signatures):
    sep = "&" if "?" in path else "?"
    paper.goto(f"{path}{sep}format=html&from={TODAY - dt.timedelta(days=1)}&to={TODAY + dt.timedelta(days=1)}")
    assert paper.title().startswith(title)
    head = paper.locator("thead th.page-head")
    assert title in head.inner_text() and "仓库：" in head.inner_text() and "期间：" in head.inner_text()
    body = paper.locator("body").inner_text()
    for word in [*must_show, *signatures]:
        assert word in body, word
    # every row has a cell under every column
    columns = paper.locator("thead tr:nth-child(2) th").count()
    assert paper.locator("tbody tr").count() >= 2
    assert all(n == columns for n in paper.locator("tbody tr").evaluate_all("rows => rows.map(r => r.cells.length)"))
    # Chinese is drawn with a CJK font, not boxes: a run of Han characters is wider than the same count of "x"
    assert paper.evaluate(
        """() => { const c = document.createElement('canvas').getContext('2d');
                   c.font = '16px "Noto Sans CJK SC", sans-serif';
                   return c.measureText('验收记录').width > c.measureText('xxxx').width * 1.5 }"""
    )
    _shot(paper, name)
    paper.emulate_media(media="print")
    assert paper.evaluate("getComputedStyle(document.querySelector('thead')).display") == "table-header-group"
    pages, sizes = _pdf_pages(paper)
    # A4 landscape is 842 × 595 pt
    assert pages >= 1 and all(abs(w - 842) < 2 and abs(h - 595) < 2 for w, h in sizes), sizes
    if name == "gsp_temperatures":
        assert pages >= 2  # a day of readings: the header repeats on each sheet (thead is a table-header-group)
        flagged = paper.locator("td.bad").count()
        assert flagged >= 1 and flagged % columns == 0


@pytest.mark.parametrize(
    ("locale", "tile", "print_word"), [("en-US", "GSP records", "Print"), ("zh-CN", "GSP 记录", "打印")]
)
def test_qa_prints_and_exports_a_record_from_the_handheld(browser, records: str, console, locale, tile, print_word):
    """QA's GSP screen: the period, then the printed page in a new window and the CSV as a file (the API
    needs the token, so the screen fetches and hands them over), in both languages."""
    from tests.browser.conftest import sign_in

    ctx = browser.new_context(
        base_url=records, viewport={"width": 412, "height": 732}, locale=locale, accept_downloads=True
    )
    page = ctx.new_page()
    page.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    try:
        sign_in(page, "qa")
        page.get_by_test_id("tile-gsp").click()
        page.get_by_test_id("gsp").wait_for()
        assert tile in page.locator("h1").inner_text()
        page.get_by_test_id("gsp-from").fill(str(TODAY - dt.timedelta(days=1)))
        page.get_by_test_id("gsp-to").fill(str(TODAY + dt.timedelta(days=1)))
        assert page.get_by_test_id("gsp-print-receiving").inner_text() == print_word
        with ctx.expect_page() as popup:
            page.get_by_test_id("gsp-print-receiving").click()
        sheet = popup.value
        sheet.wait_for_load_state()
        sheet.locator("thead th.page-head").wait_for()
        assert "医疗器械收货验收记录" in sheet.locator("thead th.page-head").inner_text()
        assert "PN4002" in sheet.locator("tbody").inner_text()
        sheet.close()

        page.get_by_test_id("gsp-location").fill("COLD-01")
        with page.expect_download() as dl:
            page.get_by_test_id("gsp-csv-temperatures").click()
        data = Path(dl.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8-sig").startswith("仓库,库位,传感器,测量时间")
        assert dl.value.suggested_filename.startswith("udipick-gsp-temperatures-")
        assert all(",COLD-01," in line for line in data.decode("utf-8-sig").splitlines()[1:])
        if locale == "zh-CN":
            page.evaluate("window.scrollTo(0, 0)")
            _shot(page, "gsp_handheld_zh", full_page=False)  # the header sticks: a full-page shot would cover a field
    finally:
        ctx.close()
    assert console.errors == []


def test_the_gsp_screen_is_not_offered_to_a_picker(browser, records: str):
    from tests.browser.conftest import sign_in

    ctx = browser.new_context(base_url=records, viewport={"width": 412, "height": 732})
    page = ctx.new_page()
    try:
        sign_in(page, "picker")
        assert page.get_by_test_id("tile-gsp").count() == 0
    finally:
        ctx.close()
