"""AHM codes (Alibaba Health): conformance vectors written from the published data-unit list, mangled input,
and round trips (build a code from fields, read it back). Sources and our reading of the syntax: docs/ahm_codes.md."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from tests.conftest import CONFORMANCE
from udipick.domain.barcodes import interpret
from udipick.domain.barcodes.ahm import MAX_TEXT, UNITS, AhmCode, build_ahm
from udipick.domain.errors import UnreadableBarcode

TODAY = dt.date(2026, 11, 25)
VECTORS = json.loads((CONFORMANCE / "ahm" / "ahm_vectors.json").read_text(encoding="utf-8"))


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["raw"])
def test_published_data_units_read_as_ahm(case: dict) -> None:
    scan = interpret(case["raw"], today=TODAY)
    assert scan.kind == "ahm"
    got = {
        "raw": case["raw"],
        "di": scan.di,
        "lot": scan.lot,
        "serial": scan.serial,
        "productionDate": _iso(scan.production_date),
        "expiry": _iso(scan.expiry),
        "bestBefore": _iso(scan.best_before),
    }
    assert got == case


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["raw"])
def test_mangled_ahm_codes_are_refused_with_position_and_reason(case: dict) -> None:
    with pytest.raises(UnreadableBarcode) as info:
        interpret(case["raw"], today=TODAY)
    assert info.value.context["position"] == case["position"]
    assert case["reason"] in info.value.context["reason"]
    assert not info.value.context.get("internal")


@pytest.mark.parametrize(
    ("raw", "symbology"),
    [
        ("]Q1AHM.1.2.BNA1", "]Q1"),  # QR Code
        ("]d1AHM.1.2.BNA1", "]d1"),  # Data Matrix, no FNC1
        ("]C0AHM.1.2.BNA1", "]C0"),  # Code 128, no FNC1
        ("AHM.1.2.BNA1", None),  # keyboard wedge without an identifier
    ],
)
def test_the_aim_symbology_identifier_is_read_and_kept(raw: str, symbology: str | None) -> None:
    scan = interpret(raw, today=TODAY)
    assert (scan.kind, scan.symbology, scan.di, scan.lot) == ("ahm", symbology, "AHM.1.2", "A1")


def test_an_ahm_code_in_a_gs1_symbology_is_not_read_as_ahm() -> None:
    # FNC1 in first position promises GS1 element strings; "AHM." is not one
    with pytest.raises(UnreadableBarcode):
        interpret("]d2AHM.1.2.BNA1", today=TODAY)


def test_the_answer_has_the_shape_of_an_ma_answer() -> None:
    """kind, di, lot, serial, productionDate, expiry: the item lookup by agency DI reads MA and AHM alike."""
    ahm = interpret("AHM.1000001.2000001.BNL1.SNS1.MD240101.ED290101", today=TODAY)
    ma = interpret("MA.156.M0.100001.1234567.LL1.SS1.M240101.E290101", today=TODAY)
    fields = ("lot", "serial", "production_date", "expiry")
    assert [getattr(ahm, f) for f in fields] == [getattr(ma, f) for f in fields]
    assert (ahm.kind, ahm.di, ma.kind, ma.di) == ("ahm", "AHM.1000001.2000001", "ma", "MA.156.M0.100001.1234567")


def test_ma_gs1_and_hibc_are_not_read_as_ahm() -> None:
    assert interpret("MA.156.M0.100001.1234567.LA1", today=TODAY).kind == "ma"
    assert interpret("]d20109521234543213172612001010ABC", today=TODAY).kind == "gs1"
    assert interpret("+A123BJC5D6E71G", today=TODAY).kind == "hibc"


def test_a_past_expiry_is_read_as_is_judging_it_is_the_workflows_business() -> None:
    assert interpret("AHM.1.2.ED20200101", today=TODAY).expiry == dt.date(2020, 1, 1)


alnum = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=MAX_TEXT)
dates8 = st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31))
dates6 = st.dates(dt.date(1977, 1, 1), dt.date(2076, 12, 31))  # two-digit years: GS1 window around TODAY
di_segment = st.text("0123456789", min_size=1, max_size=10) | alnum.filter(lambda s: s[:2] not in UNITS)
di = st.tuples(di_segment, di_segment).map(lambda segs: "AHM." + ".".join(segs))


@st.composite
def ahm_codes(draw: st.DrawFn, dates: st.SearchStrategy[dt.date]) -> AhmCode:
    opt = lambda s: draw(st.none() | s)  # noqa: E731
    return AhmCode(
        di=draw(di),
        lot=opt(alnum),
        serial=opt(alnum),
        production_date=opt(dates),
        best_before=opt(dates),
        expiry_date=opt(dates),
    )


def _fields(code: AhmCode) -> tuple[object, ...]:
    return (code.di, code.lot, code.serial, code.production_date, code.best_before, code.expiry)


@settings(max_examples=300, deadline=None)
@given(ahm_codes(dates8))
def test_round_trip_with_eight_digit_dates(code: AhmCode) -> None:
    scan = interpret(build_ahm(code), today=TODAY)
    assert scan.kind == "ahm"
    assert (scan.di, scan.lot, scan.serial, scan.production_date, scan.best_before, scan.expiry) == _fields(code)


@settings(max_examples=300, deadline=None)
@given(ahm_codes(dates6))
def test_round_trip_with_six_digit_dates(code: AhmCode) -> None:
    scan = interpret(build_ahm(code, eight_digit_dates=False), today=TODAY)
    assert (scan.di, scan.lot, scan.serial, scan.production_date, scan.best_before, scan.expiry) == _fields(code)


@settings(max_examples=200, deadline=None)
@given(ahm_codes(dates8), st.permutations(["BN", "SN", "MD", "BD", "ED"]))
def test_the_order_of_the_data_units_does_not_matter(code: AhmCode, order: list[str]) -> None:
    parts = build_ahm(code).split(".")
    units = {p[:2]: p for p in parts[3:]}
    raw = ".".join(parts[:3] + [units[u] for u in order if u in units])
    scan = interpret(raw, today=TODAY)
    assert (scan.di, scan.lot, scan.serial, scan.production_date, scan.best_before, scan.expiry) == _fields(code)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_anything_after_the_ahm_prefix_is_read_or_refused_never_crashes(tail: str) -> None:
    try:
        scan = interpret("AHM." + tail, today=TODAY)
    except UnreadableBarcode as exc:
        assert not exc.context.get("internal")
        assert exc.context["position"] is not None
    else:
        assert scan.kind == "ahm" and scan.di is not None and scan.di.count(".") == 2


@settings(max_examples=200, deadline=None)
@given(ahm_codes(dates8), st.sampled_from(["MD", "BD", "ED"]), st.sampled_from([5, 7, 9]))
def test_a_date_unit_of_other_than_6_or_8_digits_is_refused_at_the_unit(code: AhmCode, unit: str, width: int) -> None:
    raw = build_ahm(code) + "." + unit + "20270101123"[:width]
    with pytest.raises(UnreadableBarcode) as info:
        interpret(raw, today=TODAY)
    # a duplicate unit is refused first, at the separator before it; a bad length at the field
    assert info.value.context["position"] == raw.rindex("." + unit) + 1 + (0 if _has(code, unit) else 2)
    assert ("appears twice" if _has(code, unit) else "must be 6 or 8 digits") in info.value.context["reason"]


@settings(max_examples=200, deadline=None)
@given(ahm_codes(dates8), st.sampled_from(["BN", "SN"]), st.integers(MAX_TEXT + 1, 40))
def test_a_lot_or_serial_longer_than_20_is_refused_at_its_21st_character(code: AhmCode, unit: str, n: int) -> None:
    code = replace(code, lot=None) if unit == "BN" else replace(code, serial=None)
    raw = build_ahm(code) + "." + unit + "7" * n
    with pytest.raises(UnreadableBarcode) as info:
        interpret(raw, today=TODAY)
    assert info.value.context["position"] == raw.rindex("." + unit) + 3 + MAX_TEXT
    assert f"at most {MAX_TEXT}" in info.value.context["reason"]


def _has(code: AhmCode, unit: str) -> bool:
    return {"MD": code.production_date, "BD": code.best_before, "ED": code.expiry_date}[unit] is not None
