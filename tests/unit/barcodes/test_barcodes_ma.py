"""MA codes (IDcode): conformance vectors written from the published data-unit rules, mangled input,
and round trips (build a code from fields, read it back). Sources: docs/ma_codes.md."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CONFORMANCE
from udipick.domain.barcodes import interpret
from udipick.domain.barcodes.ma import MaCode, build_ma
from udipick.domain.errors import UnreadableBarcode

TODAY = dt.date(2026, 11, 25)
VECTORS = json.loads((CONFORMANCE / "ma" / "ma_vectors.json").read_text(encoding="utf-8"))


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["raw"])
def test_published_rules_read_as_ma(case: dict) -> None:
    scan = interpret(case["raw"], today=TODAY)
    assert scan.kind == "ma"
    got = {
        "raw": case["raw"],
        "di": scan.di,
        "lot": scan.lot,
        "serial": scan.serial,
        "productionDate": _iso(scan.production_date),
        "expiry": _iso(scan.expiry),
        "validityDate": _iso(scan.validity_date),
        "sterilisationLot": scan.sterilisation_lot,
    }
    assert got == case


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["raw"])
def test_mangled_ma_codes_are_refused_with_position_and_reason(case: dict) -> None:
    with pytest.raises(UnreadableBarcode) as info:
        interpret(case["raw"], today=TODAY)
    if case["position"] is not None:
        assert info.value.context["position"] == case["position"]
    if case["reason"] is not None:
        assert case["reason"] in info.value.context["reason"]


def test_industry_code_m0_is_part_of_the_di_not_a_production_date() -> None:
    scan = interpret("MA.156.M0.100001.1234567.M240101", today=TODAY)
    assert (scan.di, scan.production_date) == ("MA.156.M0.100001.1234567", dt.date(2024, 1, 1))


def test_gs1_and_hibc_are_not_read_as_ma() -> None:
    assert interpret("]d20109521234543213172612001010ABC", today=TODAY).kind == "gs1"
    assert interpret("+A123BJC5D6E71G", today=TODAY).kind == "hibc"


alnum = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
dates8 = st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31))
dates6 = st.dates(dt.date(1977, 1, 1), dt.date(2076, 12, 31))  # two-digit years: GS1 window around TODAY
di = st.lists(st.text("0123456789", min_size=1, max_size=8), min_size=1, max_size=3).map(
    lambda segs: "MA.156.M0." + ".".join(segs)
)


@st.composite
def ma_codes(draw: st.DrawFn, dates: st.SearchStrategy[dt.date]) -> MaCode:
    opt = lambda s: draw(st.none() | s)  # noqa: E731
    return MaCode(
        di=draw(di),
        lot=opt(alnum),
        serial=opt(alnum),
        production_date=opt(dates),
        validity_date=opt(dates),
        expiry_date=opt(dates),
        sterilisation_lot=opt(alnum),
    )


@settings(max_examples=300, deadline=None)
@given(ma_codes(dates8))
def test_round_trip_with_eight_digit_dates(code: MaCode) -> None:
    scan = interpret(build_ma(code), today=TODAY)
    assert scan.kind == "ma"
    assert (scan.di, scan.lot, scan.serial, scan.production_date, scan.validity_date, scan.sterilisation_lot) == (
        code.di,
        code.lot,
        code.serial,
        code.production_date,
        code.validity_date,
        code.sterilisation_lot,
    )
    assert scan.expiry == code.expiry


@settings(max_examples=300, deadline=None)
@given(ma_codes(dates6))
def test_round_trip_with_six_digit_dates(code: MaCode) -> None:
    scan = interpret(build_ma(code, eight_digit_dates=False), today=TODAY)
    assert (scan.production_date, scan.validity_date, scan.expiry) == (
        code.production_date,
        code.validity_date,
        code.expiry,
    )
    assert (scan.di, scan.lot, scan.serial, scan.sterilisation_lot) == (
        code.di,
        code.lot,
        code.serial,
        code.sterilisation_lot,
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_anything_after_ma_prefix_is_read_or_refused_never_crashes(tail: str) -> None:
    try:
        scan = interpret("MA." + tail, today=TODAY)
    except UnreadableBarcode as exc:
        assert not exc.context.get("internal")
    else:
        assert scan.kind == "ma" and scan.di is not None and scan.di.startswith("MA.")


@settings(max_examples=200, deadline=None)
@given(ma_codes(dates8), st.sampled_from("MVE"), st.sampled_from([5, 7, 9]))
def test_a_date_unit_of_other_than_6_or_8_digits_is_refused_at_the_unit(code: MaCode, unit: str, width: int) -> None:
    raw = build_ma(code) + "." + unit + "20270101123"[:width]
    with pytest.raises(UnreadableBarcode) as info:
        interpret(raw, today=TODAY)
    # a duplicate unit is refused first, at the same place
    assert info.value.context["position"] == raw.rindex("." + unit) + 1 + (0 if _has(code, unit) else 1)
    assert ("appears twice" if _has(code, unit) else "must be 6 or 8 digits") in info.value.context["reason"]


def _has(code: MaCode, unit: str) -> bool:
    return {"M": code.production_date, "V": code.validity_date, "E": code.expiry_date}[unit] is not None
