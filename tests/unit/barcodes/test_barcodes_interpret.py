"""What the handheld sends, and what udipick makes of it: table-driven cases."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain.barcodes import Element, ScanConfig, interpret
from udipick.domain.errors import UnreadableBarcode

TODAY = dt.date(2026, 11, 25)
GS = "\x1d"
UDI = "0109521234543213" + "17261200" + "10LOT42" + GS + "21SER9"
UDI_ELEMENTS = (
    Element("01", "09521234543213"),
    Element("17", "261200"),
    Element("10", "LOT42"),
    Element("21", "SER9"),
)


@pytest.mark.parametrize(
    "raw",
    [
        "]d2" + UDI,
        "]C1" + UDI,
        "]Q3" + UDI,
        "]d2" + GS + UDI,  # FNC1 in first position sent as GS
        UDI,
        " " + UDI,
        GS + UDI,
        "#" + UDI,
        UDI.replace(GS, "|"),
        UDI.replace(GS, "#"),
        UDI.replace(GS, "Alt029"),
        UDI.replace(GS, "<GS>"),
        UDI + "\r\n",
        UDI + "\t",
        UDI + GS,
        ("]d2" + UDI).encode(),
    ],
)
def test_a_udi_reads_the_same_however_the_scanner_sends_it(raw: str | bytes) -> None:
    scan = interpret(raw, today=TODAY)
    assert scan.kind == "gs1"
    assert scan.elements == UDI_ELEMENTS
    assert (scan.gtin, scan.lot, scan.serial, scan.expiry) == ("09521234543213", "LOT42", "SER9", dt.date(2026, 12, 31))


def test_space_separates_only_when_configured() -> None:
    raw = UDI.replace(GS, " ")
    with pytest.raises(UnreadableBarcode) as refused:
        interpret(raw, today=TODAY)
    assert refused.value.message == "AI 10: character ' ' is not allowed in a GS1 value"
    assert refused.value.context["position"] == raw.index(" ")
    assert interpret(raw, today=TODAY, config=ScanConfig(space_is_separator=True)).elements == UDI_ELEMENTS


def test_every_field_udipick_names() -> None:
    raw = (
        "]C1"
        + "00106141411234567897"
        + "0209521234543213"
        + "3712"
        + GS
        + "11250101"
        + "15270131"
        + "70032701312359"
        + GS
        + "240ADD-1"
        + GS
        + "10L1"
        + GS
        + "99INTERNAL"
    )
    scan = interpret(raw, today=TODAY)
    assert scan.kind == "gs1"
    assert scan.sscc == "106141411234567897"
    assert scan.content_gtin == "09521234543213"
    assert scan.quantity == 12
    assert scan.production_date == dt.date(2025, 1, 1)
    assert scan.best_before == dt.date(2027, 1, 31)
    assert scan.expiry_time == dt.datetime(2027, 1, 31, 23, 59)
    assert scan.additional_id == "ADD-1"
    assert scan.lot == "L1"
    assert [e.ai for e in scan.elements] == ["00", "02", "37", "11", "15", "7003", "240", "10", "99"]


def test_an_sscc_alone_is_an_sscc_scan() -> None:
    scan = interpret("]C100106141411234567897", today=TODAY)
    assert (scan.kind, scan.sscc) == ("sscc", "106141411234567897")


def test_ai_30_count_when_no_37() -> None:
    assert interpret("]C1" + "0109521234543213" + "3040", today=TODAY).quantity == 40


@pytest.mark.parametrize(
    ("raw", "gtin"),
    [
        ("4006381333931", "04006381333931"),  # EAN-13
        ("036000291452", "00036000291452"),  # UPC-A
        ("96385074", "00000096385074"),  # EAN-8
        ("10614141000415", "10614141000415"),  # GTIN-14
        ("]E04006381333931", "04006381333931"),
        ("]E496385074", "00000096385074"),
    ],
)
def test_plain_gtins_are_padded_to_14(raw: str, gtin: str) -> None:
    scan = interpret(raw, today=TODAY)
    assert (scan.kind, scan.gtin) == ("gtin", gtin)


@pytest.mark.parametrize(
    ("raw", "kind", "code"),
    [
        ("LOC-A-01-02", "location", "A-01-02"),
        ("LPN000123", "lpn", "000123"),
        ("TOTE-17", "tote", "17"),
        ("USR-4711", "badge", "4711"),
        ("]C0LPN000123", "lpn", "000123"),
    ],
)
def test_internal_labels(raw: str, kind: str, code: str) -> None:
    scan = interpret(raw, today=TODAY)
    assert (scan.kind, scan.code) == (kind, code)


def test_internal_prefixes_come_from_config() -> None:
    config = ScanConfig(location_prefix="L:", lpn_prefix="PAL")
    assert interpret("L:B7", today=TODAY, config=config).kind == "location"
    assert interpret("PAL9", today=TODAY, config=config).code == "9"


@pytest.mark.parametrize(
    ("yy", "year"),
    [("26", 2026), ("76", 2076), ("77", 1977), ("99", 1999), ("00", 2000), ("50", 2050)],
)
def test_century_follows_gs1_window_from_today(yy: str, year: int) -> None:
    scan = interpret("]C1" + "0109521234543213" + "17" + yy + "0615", today=TODAY)
    assert scan.expiry == dt.date(year, 6, 15)


def test_century_window_moves_with_today() -> None:
    raw = "]C1" + "0109521234543213" + "17" + "980615"
    assert interpret(raw, today=dt.date(2049, 1, 1)).expiry == dt.date(2098, 6, 15)
    assert interpret(raw, today=dt.date(2026, 1, 1)).expiry == dt.date(1998, 6, 15)


def test_day_00_is_the_last_day_of_the_month() -> None:
    assert interpret("]C1" + "0109521234543213" + "17280200", today=TODAY).expiry == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("raw", "message", "position"),
    [
        ("]d20109521234543213" + "17261301", "AI 17: month 13 is not a month", 23),
        ("]d20109521234543213" + "17260230", "AI 17: day 30 does not exist in February 2026", 25),
        ("]d20109521234543214", "AI 01: check digit is 4, expected 3", 18),
        ("4006381333932", "GTIN check digit is 2, expected 1", 12),
        ("]E04006381333932", "GTIN check digit is 2, expected 1", 15),
        ("]E0400638133393", "symbology ]E0 carries 13 digits, got 12", 15),
        ("]C1" + "7003261231240010X", "AI 7003: hour 24 is not an hour", 13),
        (
            "]C1" + "0109521234543213" + "10" + "A" * 21,
            "AI 10: value is longer than 20 characters, or a GS separator is missing",
            41,
        ),
        ("]C1" + "0109521234543213" + "10AB" + GS + "10CD", "AI 10 appears twice with different values", 24),
        ("]C1" + "89ABC", "no GS1 Application Identifier starts with '89AB'", 3),
        ("]C1" + "01123", "AI 01: value has 3 digits, expected 14", 8),
        ("]d2", "no GS1 data after the symbology identifier", 3),
        ("]X", "symbology identifier is cut short", 0),
        ("", "the scan is empty", 0),
        ("\r\n", "the scan is empty", 0),
        ("hello", "not a GS1, HIBC, MA, AHM, Digital Link or udipick barcode", 0),
        ("LOC-", "location label has no code after 'LOC-'", 4),
        ("https://id.gs1.org/01/09520123456789", "AI 01: check digit is 9, expected 8", 22),
        (b"]d2\xff", "byte 0xFF is not UTF-8 text", 3),
        ("01095212345432131726120010ABCAlt02921X" + "Alt029" + "17261301", "AI 17: month 13 is not a month", 48),
    ],
)
def test_refusals_say_what_and_where(raw: str | bytes, message: str, position: int) -> None:
    with pytest.raises(UnreadableBarcode) as refused:
        interpret(raw, today=TODAY)
    assert refused.value.message == message
    assert refused.value.context == {"position": position, "reason": message}
