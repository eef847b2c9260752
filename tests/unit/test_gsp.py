"""The GSP records' rules as tables: the acceptance verdict, the arrival temperature, a reading's range,
and the printable page (title, period, signatures, escaping)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest

from udipick.domain import gsp

T = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
QC_T = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def facts(**over) -> gsp.ReceivedFacts:
    base = dict(
        receipt="RCV-000001", document="ASN-1", warehouse="MAIN", arrived_at=T, supplier="S", supplier_licence_no=None,
        item="PEN", gtin="00614141010035", name="Pen", specification=None, registration_no=None,
        registration_holder=None, unit="EA", min_temp_c=Decimal("2.00"), max_temp_c=Decimal("8.00"), lot="L1",
        serial=None, production_date=None, expiry=None, quantity=5, status="available", reasons=None,
        scan_temperature_c=Decimal("5.00"), carrier=None, transport_mode=None, departed_at=None,
        departure_temperature_c=None, receipt_temperature_c=None, transport_temperatures=None,
        received_by="Receiver", scanned_at=T,
    )  # fmt: skip
    return gsp.ReceivedFacts(**{**base, **over})


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({}, ("accepted", None, "Receiver", T)),
        # quarantined at the dock, no QC decision yet: pending, with the dock's reasons
        ({"status": "quarantine", "reasons": "temperature 9 °C outside 2–8 °C"},
         ("pending", "到货温度 9 °C，超出 2–8 °C", None, None)),
        ({"status": "quarantine", "reasons": "QC inspection required on receipt", "qc_movement": "release",
          "qc_by": "Qa", "qc_at": QC_T, "qc_reason": "QC release: retested"},
         ("accepted", "需到货质检；质检放行：retested", "Qa", QC_T)),
        ({"status": "quarantine", "reasons": None, "qc_movement": "hold", "qc_by": "Qa", "qc_at": QC_T,
          "qc_reason": "QC reject: broken"},
         ("rejected", "质检拒收：broken", "Qa", QC_T)),
        # a QC decision never overrides the dock's acceptance of available units
        ({"qc_movement": "hold", "qc_by": "Qa", "qc_at": QC_T}, ("accepted", None, "Receiver", T)),
    ],
)  # fmt: skip
def test_the_acceptance_verdict(over, expected):
    assert gsp.acceptance(facts(**over)) == expected


@pytest.mark.parametrize(
    ("scan", "receipt", "limits", "expected_c", "cold"),
    [
        (Decimal("5.00"), Decimal("6.00"), (Decimal("2"), Decimal("8")), 5.0, True),
        (None, Decimal("6.00"), (None, None), 6.0, False),
        (None, None, (None, None), None, False),
        (Decimal("-18.50"), None, (None, Decimal("-15")), -18.5, True),
    ],
)
def test_the_arrival_temperature_is_the_scans_else_the_vehicles(scan, receipt, limits, expected_c, cold):
    record = gsp.receiving_record(
        facts(scan_temperature_c=scan, receipt_temperature_c=receipt, min_temp_c=limits[0], max_temp_c=limits[1])
    )
    assert (record.arrival_temperature_c, record.cold_chain) == (expected_c, cold)


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        ([], (None, None)),
        ([(Decimal("2"), Decimal("8"))], (2.0, 8.0)),
        ([(Decimal("2"), Decimal("8")), (Decimal("0"), Decimal("6"))], (2.0, 6.0)),
        ([(None, Decimal("25")), (Decimal("2"), None)], (2.0, 25.0)),
        ([(None, None)], (None, None)),
    ],
)
def test_a_locations_range_is_the_tightest_of_its_items(ranges, expected):
    assert gsp.reading_range(ranges) == expected


@pytest.mark.parametrize(
    ("c", "low", "high", "out"),
    [(5, 2, 8, False), (2, 2, 8, False), (8, 2, 8, False), (8.01, 2, 8, True), (1.9, 2, 8, True),
     (-30, None, -15, False), (-14, None, -15, True), (40, None, None, False)],
)  # fmt: skip
def test_out_of_range(c, low, high, out):
    assert gsp.out_of_range(c, low, high) is out


def test_every_field_has_a_column_and_every_column_a_distinct_header():
    for struct, columns, page_only in [
        (gsp.ReceivingRecord, gsp.RECEIVING_COLUMNS, set()),
        (gsp.OutboundReview, gsp.OUTBOUND_COLUMNS, {"order"}),  # the ERP id; the record names the order number
        (gsp.TemperatureRecord, gsp.TEMPERATURE_COLUMNS, set()),
    ]:
        assert len(set(gsp.header(columns))) == len(columns)
        # a column per field: the CSV holds what the NDJSON holds
        assert len(columns) == len(struct.__struct_fields__) - len(page_only)


def test_the_page_has_title_period_signatures_and_escapes_values():
    record = gsp.receiving_record(facts(name="<script>alert(1)</script>"))
    page = gsp.render_page(
        "receiving", [record], warehouse="总仓（MAIN）", period=(dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        tz="Asia/Shanghai", printed_at=T,
    )  # fmt: skip
    assert page.startswith('<!DOCTYPE html><html lang="zh-CN">')
    assert "医疗器械收货验收记录" in page and "仓库：总仓（MAIN）" in page
    assert "期间：2026-03-01 至 2026-03-31（Asia/Shanghai）" in page
    assert "@page{size:A4 landscape" in page and "thead{display:table-header-group}" in page
    for who in ("收货人（签字）", "验收人（签字）", "质量管理人员（签字）"):
        assert who in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    # the page leaves out the ERP's codes (they stay in the CSV)
    assert "<th>GTIN</th>" not in page and "<th>规格型号</th>" in page
    empty = gsp.render_page(
        "outbound", [], warehouse="全部", period=(dt.date(2026, 3, 1), dt.date(2026, 3, 1)), tz="UTC", printed_at=T
    )
    assert "本期间无记录" in empty and "复核人（签字）" in empty


def test_flagged_readings_are_marked_on_the_page():
    reading = gsp.TemperatureRecord(
        warehouse="MAIN", location="COLD-01", sensor="TS-1", measured_at=T, temperature_c=9.5, min_c=2, max_c=8,
        out_of_range=True, received_at=T,
    )  # fmt: skip
    page = gsp.render_page(
        "temperature", [reading, msgspec.structs.replace(reading, temperature_c=5.0, out_of_range=False)],
        warehouse="MAIN", period=(T.date(), T.date()), tz="UTC", printed_at=T, flagged=[True, False],
    )  # fmt: skip
    assert page.count('<td class="nw bad">9.5</td>') == 1 and '<td class="nw">5</td>' in page


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (None, None),
        ("short shelf life: 20 days left, 60 required", "效期不足：剩余 20 天，要求 60 天"),
        ("temperature 12.5 °C outside 2–8 °C", "到货温度 12.5 °C，超出 2–8 °C"),
        ("lot is quarantine", "批号状态：quarantine"),
        ("lot L1 is on hold (recall R-1): keep these units apart and tell QA", "批号 L1 已冻结（recall R-1）"),
        ("QC inspection required on receipt; QC reject: 冷链中断", "需到货质检；质检拒收：冷链中断"),
        # free text and reasons it does not know stay as written
        ("damaged outer carton", "damaged outer carton"),
    ],
)  # fmt: skip
def test_the_acceptance_note_is_worded_in_chinese(note, expected):
    assert gsp.note_zh(note) == expected
