"""GSP records (医疗器械经营质量管理规范, NMPA 2023): what an inspector reads, built from what udipick holds.

Three records, each one struct (its NDJSON line), one column table (its CSV header and its printed
columns, in Chinese) and one printable page:

- the receiving and acceptance record (收货/验收记录), one line per item, lot, serial and verdict of a
  receipt, with the transport record the cold chain needs;
- the outbound review record (出库复核记录), one line per shipped item, lot, serial and carton;
- the cold-chain temperature record (冷链温度记录), one line per sensor reading.

The rules that turn facts into a record's words live here and nowhere else: what a scan's status and
a later QC decision make of the acceptance verdict (``acceptance``), which arrival temperature a line
carries (``receiving_record``), and which range a reading is judged against (``reading_range``).
Pure: rows in, records, CSV rows and HTML out; no clock (``printed_at`` is passed in).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal

import msgspec

from udipick.domain.receiving import is_cold_chain, read_reason
from udipick.domain.values import Value

Result = Literal["accepted", "rejected", "pending"]
#: a verdict's words on the record (CSV, page)
RESULT_WORDS: dict[str, str] = {"accepted": "合格", "rejected": "不合格", "pending": "待验"}
#: a scan accepted at the dock into available stock passed the acceptance check (domain.receiving) there
DOCK_ACCEPTED = "available"


# ---- the receiving and acceptance record ------------------------------------------------------------


class ReceivedFacts(Value):
    """Units a receipt accepted with one item, lot, serial, temperature and verdict, and what udipick
    knows around them: the receipt's transport record and a later QC decision on the lot."""

    receipt: str
    document: str | None
    warehouse: str
    arrived_at: dt.datetime
    supplier: str | None
    supplier_licence_no: str | None
    item: str
    gtin: str
    name: str
    specification: str | None
    registration_no: str | None
    registration_holder: str | None
    unit: str
    min_temp_c: Decimal | float | None
    max_temp_c: Decimal | float | None
    lot: str | None
    serial: str | None
    production_date: dt.date | None
    expiry: dt.date | None
    quantity: int
    #: the stock status the scans put the units in: ``available`` or ``quarantine``
    status: str
    reasons: str | None
    #: the temperature the receiver entered with the scan (required of cold-chain items)
    scan_temperature_c: Decimal | float | None
    carrier: str | None
    transport_mode: str | None
    departed_at: dt.datetime | None
    departure_temperature_c: Decimal | float | None
    receipt_temperature_c: Decimal | float | None
    transport_temperatures: str | None
    received_by: str
    scanned_at: dt.datetime
    #: the first QC decision on the lot's quarantined units after the scan: ``release`` or ``hold`` (reject)
    qc_movement: str | None = None
    qc_by: str | None = None
    qc_at: dt.datetime | None = None
    qc_reason: str | None = None


class ReceivingRecord(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One line of the receiving and acceptance record (收货/验收记录)."""

    receipt: str
    document: str | None
    warehouse: str
    arrived_at: dt.datetime
    supplier: str | None
    supplier_licence_no: str | None
    item: str
    gtin: str
    name: str
    specification: str | None
    registration_no: str | None
    registration_holder: str | None
    lot: str | None
    serial: str | None
    production_date: dt.date | None
    expiry: dt.date | None
    quantity: int
    unit: str
    cold_chain: bool
    arrival_temperature_c: float | None
    carrier: str | None
    transport_mode: str | None
    departed_at: dt.datetime | None
    departure_temperature_c: float | None
    transport_temperatures: str | None
    received_by: str
    result: Result
    result_note: str | None
    accepted_by: str | None
    accepted_at: dt.datetime | None


def acceptance(facts: ReceivedFacts) -> tuple[Result, str | None, str | None, dt.datetime | None]:
    """The verdict, its note, who gave it and when.

    Units the dock check accepted into available stock were accepted there by the receiver. Units it
    quarantined (a warm cold-chain reading, a short shelf life, an item QA must release) wait for QA:
    pending until a QC decision on their lot, then accepted (released) or rejected by the signer."""
    if facts.status == DOCK_ACCEPTED:
        return "accepted", None, facts.received_by, facts.scanned_at
    if facts.qc_movement == "release":
        return "accepted", note_zh(_join(facts.reasons, facts.qc_reason)), facts.qc_by, facts.qc_at
    if facts.qc_movement == "hold":
        return "rejected", note_zh(_join(facts.reasons, facts.qc_reason)), facts.qc_by, facts.qc_at
    return "pending", note_zh(facts.reasons), None, None


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


#: the dock's quarantine reasons (``domain.receiving.read_reason`` reads the stored English text back as facts)
#: and QA's decisions, in the record's language
_REASONS_ZH = {
    "short-shelf-life": "效期不足：剩余 {remainingDays} 天，要求 {requiredDays} 天",
    "temperature-out-of-range": "到货温度 {temperatureC:g} °C，超出 {range}",
    "lot-not-released": "批号状态：{lotStatus}",
    "lot-on-hold": "批号 {lot} 已冻结（{hold}）",
    "qc-required": "需到货质检",
}
_QC_ZH = {"QC release: ": "质检放行：", "QC reject: ": "质检拒收："}


def note_zh(note: str | None) -> str | None:
    """An acceptance note (dock reasons and QA's decision, joined by ``; ``) worded in Chinese for the GSP
    record; a part it does not know (free text, a reason written before these codes) stays as written."""
    if not note:
        return note
    parts = []
    for part in note.split("; "):
        reason = read_reason(part)
        if reason is not None and reason.code in _REASONS_ZH:
            parts.append(_REASONS_ZH[reason.code].format(**reason.facts))
            continue
        for prefix, zh in _QC_ZH.items():
            if part.startswith(prefix):
                part = zh + part[len(prefix) :]
                break
        parts.append(part)
    return "；".join(parts)


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def receiving_record(facts: ReceivedFacts) -> ReceivingRecord:
    """The record line. Its arrival temperature is the one measured with these goods at the scan, or,
    when the scan had none (goods that are not cold-chain), the one measured as the vehicle was opened."""
    result, note, by, at = acceptance(facts)
    scan_c = _float(facts.scan_temperature_c)
    return ReceivingRecord(
        receipt=facts.receipt,
        document=facts.document,
        warehouse=facts.warehouse,
        arrived_at=facts.arrived_at,
        supplier=facts.supplier,
        supplier_licence_no=facts.supplier_licence_no,
        item=facts.item,
        gtin=facts.gtin,
        name=facts.name,
        specification=facts.specification,
        registration_no=facts.registration_no,
        registration_holder=facts.registration_holder,
        lot=facts.lot,
        serial=facts.serial,
        production_date=facts.production_date,
        expiry=facts.expiry,
        quantity=facts.quantity,
        unit=facts.unit,
        cold_chain=is_cold_chain(facts.min_temp_c, facts.max_temp_c),
        arrival_temperature_c=scan_c if scan_c is not None else _float(facts.receipt_temperature_c),
        carrier=facts.carrier,
        transport_mode=facts.transport_mode,
        departed_at=facts.departed_at,
        departure_temperature_c=_float(facts.departure_temperature_c),
        transport_temperatures=facts.transport_temperatures,
        received_by=facts.received_by,
        result=result,
        result_note=note,
        accepted_by=by,
        accepted_at=at,
    )


# ---- the outbound review record ---------------------------------------------------------------------


class OutboundReview(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One line of the outbound review record (出库复核记录).

    The review is the pack check: every unit was scanned into its carton against the order's picks
    (item, lot, serial; recalled and frozen units refused), and ship-confirm refuses a shipment with a
    unit unpacked or a recalled one packed. So a shipped line passed the review; ``reviewed_by`` are the
    people who scanned its units into the carton, ``shipped_by`` who confirmed the shipment."""

    order: str
    order_number: str
    warehouse: str
    customer: str
    customer_licence_no: str | None
    item: str
    gtin: str
    name: str
    specification: str | None
    registration_no: str | None
    registration_holder: str | None
    lot: str | None
    serial: str | None
    production_date: dt.date | None
    expiry: dt.date | None
    quantity: int
    unit: str
    sscc: str | None
    shipped_at: dt.datetime
    shipped_by: str | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    result: Result


#: the verdict of every shipped line: the pack check is the review, and nothing ships that did not pass it
SHIPPED_IS_REVIEWED: Result = "accepted"


# ---- the cold-chain temperature record --------------------------------------------------------------


class TemperatureRecord(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One sensor reading of a location (冷链温度记录), judged against the range stored with it."""

    warehouse: str
    location: str
    sensor: str
    measured_at: dt.datetime
    temperature_c: float
    min_c: float | None
    max_c: float | None
    out_of_range: bool
    received_at: dt.datetime


def reading_range(
    item_ranges: Iterable[tuple[Decimal | float | None, Decimal | float | None]],
) -> tuple[float | None, float | None]:
    """The range a location must keep: the tightest of the ranges of the items stored in it (the
    warmest minimum, the coldest maximum). A side no item limits is ``None``."""
    lows = [float(lo) for lo, _ in item_ranges if lo is not None]
    highs = [float(hi) for _, hi in item_ranges if hi is not None]
    return (max(lows) if lows else None, min(highs) if highs else None)


def out_of_range(temperature_c: float, low: float | None, high: float | None) -> bool:
    return (low is not None and temperature_c < low) or (high is not None and temperature_c > high)


# ---- columns: the CSV header and the printed page ----------------------------------------------------


def _words(result: str) -> str:
    return RESULT_WORDS.get(result, result)


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _c(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _t(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M")


def _d(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d")


#: (CSV header, cell) per column; CSV cells of times are local times as ``YYYY-MM-DD HH:MM``
RECEIVING_COLUMNS: list[tuple[str, Any]] = [
    ("收货单号", lambda r: r.receipt),
    ("采购单/到货通知", lambda r: r.document),
    ("仓库", lambda r: r.warehouse),
    ("到货日期", lambda r: _t(r.arrived_at)),
    ("供货者", lambda r: r.supplier),
    ("供货者许可证/备案编号", lambda r: r.supplier_licence_no),
    ("产品编码", lambda r: r.item),
    ("GTIN", lambda r: r.gtin),
    ("产品名称", lambda r: r.name),
    ("规格型号", lambda r: r.specification),
    ("注册证编号/备案编号", lambda r: r.registration_no),
    ("注册人/备案人", lambda r: r.registration_holder),
    ("批号", lambda r: r.lot),
    ("序列号", lambda r: r.serial),
    ("生产日期", lambda r: _d(r.production_date)),
    ("有效期至", lambda r: _d(r.expiry)),
    ("数量", lambda r: r.quantity),
    ("单位", lambda r: r.unit),
    ("冷链", lambda r: _yes(r.cold_chain)),
    ("到货温度(°C)", lambda r: _c(r.arrival_temperature_c)),
    ("承运单位", lambda r: r.carrier),
    ("运输方式", lambda r: r.transport_mode),
    ("启运时间", lambda r: _t(r.departed_at)),
    ("启运温度(°C)", lambda r: _c(r.departure_temperature_c)),
    ("运输过程温度记录", lambda r: r.transport_temperatures),
    ("收货人", lambda r: r.received_by),
    ("验收结论", lambda r: _words(r.result)),
    ("验收说明", lambda r: r.result_note),
    ("验收人", lambda r: r.accepted_by),
    ("验收时间", lambda r: _t(r.accepted_at)),
]

OUTBOUND_COLUMNS: list[tuple[str, Any]] = [
    ("销售单号", lambda r: r.order_number),
    ("仓库", lambda r: r.warehouse),
    ("购货者", lambda r: r.customer),
    ("购货者许可证/备案编号", lambda r: r.customer_licence_no),
    ("产品编码", lambda r: r.item),
    ("GTIN", lambda r: r.gtin),
    ("产品名称", lambda r: r.name),
    ("规格型号", lambda r: r.specification),
    ("注册证编号/备案编号", lambda r: r.registration_no),
    ("注册人/备案人", lambda r: r.registration_holder),
    ("批号", lambda r: r.lot),
    ("序列号", lambda r: r.serial),
    ("生产日期", lambda r: _d(r.production_date)),
    ("有效期至", lambda r: _d(r.expiry)),
    ("数量", lambda r: r.quantity),
    ("单位", lambda r: r.unit),
    ("箱号(SSCC)", lambda r: r.sscc),
    ("出库日期", lambda r: _t(r.shipped_at)),
    ("复核人", lambda r: r.reviewed_by),
    ("复核时间", lambda r: _t(r.reviewed_at)),
    ("复核结论", lambda r: _words(r.result)),
    ("发货人", lambda r: r.shipped_by),
]

TEMPERATURE_COLUMNS: list[tuple[str, Any]] = [
    ("仓库", lambda r: r.warehouse),
    ("库位", lambda r: r.location),
    ("传感器", lambda r: r.sensor),
    ("测量时间", lambda r: r.measured_at.strftime("%Y-%m-%d %H:%M:%S")),
    ("温度(°C)", lambda r: _c(r.temperature_c)),
    ("下限(°C)", lambda r: _c(r.min_c)),
    ("上限(°C)", lambda r: _c(r.max_c)),
    ("超出范围", lambda r: _yes(r.out_of_range)),
    ("接收时间", lambda r: r.received_at.strftime("%Y-%m-%d %H:%M:%S")),
]


def header(columns: Sequence[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in columns]


def cells(columns: Sequence[tuple[str, Any]], records: Iterable[Any]) -> list[list[Any]]:
    return [[cell(r) for _, cell in columns] for r in records]


# ---- the printable page -----------------------------------------------------------------------------

TITLES = {
    "receiving": "医疗器械收货验收记录",
    "outbound": "医疗器械出库复核记录",
    "temperature": "冷链温度监测记录",
}
#: the signatures each record needs on paper
SIGNATURES = {
    "receiving": ["收货人", "验收人", "质量管理人员"],
    "outbound": ["复核人", "质量管理人员"],
    "temperature": ["记录人", "质量管理人员"],
}
#: columns kept on one line (dates, times, numbers): broken, they are misread
NOWRAP = {
    "到货日期", "生产日期", "有效期至", "数量", "单位", "批号/序列号", "冷链", "到货温度(°C)", "启运时间", "启运温度(°C)", "验收时间",
    "出库日期", "复核时间", "测量时间", "温度(°C)", "下限(°C)", "上限(°C)", "接收时间", "验收结论", "复核结论",
}  # fmt: skip


def _lines(*parts: str | None) -> list[str]:
    """Cell text shown on several lines on the page (empty parts left out)."""
    return [p for p in parts if p]


def _transport(r: ReceivingRecord) -> list[str]:
    departed = " ".join(
        x
        for x in (
            _t(r.departed_at),
            f"{_c(r.departure_temperature_c)} °C" if r.departure_temperature_c is not None else None,
        )
        if x
    )
    return _lines(
        " / ".join(x for x in (r.carrier, r.transport_mode) if x) or None,
        f"启运 {departed}" if departed else None,
        r.transport_temperatures,
    )


def _omit(columns: list[tuple[str, Any]], names: set[str]) -> list[tuple[str, Any]]:
    return [c for c in columns if c[0] not in names]


#: the printed page's columns: the CSV's, with a receipt's transport record and each party's licence in one
#: cell, and the ERP's codes left out (they stay in the CSV), so that a record fits one A4 landscape width
PAGE_COLUMNS: dict[str, list[tuple[str, Any]]] = {
    "receiving": [
        ("收货单号", lambda r: r.receipt),
        ("到货日期", lambda r: _t(r.arrived_at)),
        ("供货者（许可证/备案编号）", lambda r: _lines(r.supplier, r.supplier_licence_no)),
        ("产品名称", lambda r: r.name),
        ("规格型号", lambda r: r.specification),
        ("注册证编号/备案编号", lambda r: r.registration_no),
        ("注册人/备案人", lambda r: r.registration_holder),
        ("批号/序列号", lambda r: _lines(r.lot, r.serial)),
        ("生产日期", lambda r: _d(r.production_date)),
        ("有效期至", lambda r: _d(r.expiry)),
        ("数量", lambda r: f"{r.quantity} {r.unit}"),
        ("冷链", lambda r: _yes(r.cold_chain)),
        ("到货温度(°C)", lambda r: _c(r.arrival_temperature_c)),
        ("运输记录", _transport),
        ("收货人", lambda r: r.received_by),
        ("验收结论", lambda r: _words(r.result)),
        ("验收说明", lambda r: r.result_note),
        ("验收人", lambda r: r.accepted_by),
        ("验收时间", lambda r: _t(r.accepted_at)),
    ],
    "outbound": _omit(OUTBOUND_COLUMNS, {"产品编码", "GTIN"}),
    "temperature": TEMPERATURE_COLUMNS,
}

_CSS = (
    "@page{size:A4 landscape;margin:10mm 8mm 12mm 8mm}"
    "*{box-sizing:border-box}"
    "body{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',sans-serif;"
    "margin:0;padding:8px;color:#000;font-size:8pt}"
    "table.record{border-collapse:collapse;width:100%;table-layout:auto}"
    "table.record th,table.record td{border:0.5pt solid #444;padding:2px 3px;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}"
    "td.nw{white-space:nowrap}"
    "table.record thead th{background:#eee}"
    "thead{display:table-header-group}tr{page-break-inside:avoid;break-inside:avoid}"
    "th.page-head{background:#fff!important;border:none!important;padding:0 0 4px 0;font-weight:normal}"
    ".title{font-size:14pt;font-weight:bold;text-align:center;margin:0 0 4px 0}"
    ".meta{display:flex;justify-content:space-between;font-size:8.5pt}"
    "td.bad{font-weight:bold;text-decoration:underline}"
    ".signatures{display:flex;gap:24px;margin-top:18px;font-size:9.5pt;break-inside:avoid}"
    ".signatures span{flex:1;border-bottom:0.5pt solid #000;padding-bottom:14px}"
    ".empty{padding:12px;text-align:center}"
    "@media screen{body{padding:16px}}"
)


def _td(nowrap: bool, bad: bool) -> str:
    classes = " ".join(c for c, on in (("nw", nowrap), ("bad", bad)) if on)
    return f'<td class="{classes}">' if classes else "<td>"


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list):
        return "<br>".join(html.escape(str(v)) for v in value)
    return html.escape(str(value))


def render_page(
    kind: Literal["receiving", "outbound", "temperature"],
    records: Sequence[Any],
    *,
    warehouse: str,
    period: tuple[dt.date, dt.date],
    tz: str,
    printed_at: dt.datetime,
    flagged: Sequence[bool] | None = None,
    subject: str | None = None,
) -> str:
    """A self-contained page to print on A4 landscape (no script, no outside resource), every value escaped.

    The title, warehouse and period sit in the table's header, which the browser repeats at the top of
    every printed page, with the column names; the signature lines close the record. ``flagged``: rows
    to mark (readings out of range)."""
    columns = PAGE_COLUMNS[kind]
    shown = list(enumerate(header(columns)))
    rows = cells(columns, records)
    title = TITLES[kind]
    meta = [
        f"仓库：{warehouse}",
        *([subject] if subject else []),
        f"期间：{period[0].isoformat()} 至 {period[1].isoformat()}（{tz}）",
        f"共 {len(records)} 条",
        f"打印时间：{printed_at.strftime('%Y-%m-%d %H:%M')}",
    ]
    head = (
        f'<tr><th class="page-head" colspan="{len(shown)}"><div class="title">{html.escape(title)}</div>'
        '<div class="meta">' + "".join(f"<span>{html.escape(m)}</span>" for m in meta) + "</div></th></tr>"
        "<tr>" + "".join(f"<th>{html.escape(name)}</th>" for _, name in shown) + "</tr>"
    )
    body_rows = []
    for n, row in enumerate(rows):
        bad = bool(flagged and flagged[n])
        tds = "".join(f"{_td(name in NOWRAP, bad)}{_cell(row[i])}</td>" for i, name in shown)
        body_rows.append(f"<tr>{tds}</tr>")
    if not body_rows:
        body_rows.append(f'<tr><td class="empty" colspan="{len(shown)}">本期间无记录</td></tr>')
    signatures = "".join(f"<span>{html.escape(s)}（签字）：</span>" for s in SIGNATURES[kind]) + "<span>日期：</span>"
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} {period[0].isoformat()}–{period[1].isoformat()}</title>"
        f"<style>{_CSS}</style></head><body>"
        f'<table class="record"><thead>{head}</thead><tbody>{"".join(body_rows)}</tbody></table>'
        f'<div class="signatures">{signatures}</div>'
        "</body></html>"
    )
