"""DI check rules per issuing agency, and how a scan names its item (``domain.udi_di``)."""

from __future__ import annotations

import datetime as dt

import pytest
from msgspec.structs import replace

from udipick.domain.barcodes import Scan, interpret
from udipick.domain.udi_di import DiKey, GtinKey, HibcKey, di_fault, item_key, key_text

TODAY = dt.date(2026, 12, 6)


@pytest.mark.parametrize(
    ("agency", "di", "fault"),
    [
        ("ma", "MA.156.M0.100001.10000012", None),
        ("ma", "MA.156.M0.A00001.1000001X", None),
        ("ma", "MA.156.M0.100001.1000001", "is not MA.<country code"),  # product code of 7
        ("ma", "MA.156.M0.100001.100000123", "is not MA.<country code"),  # of 9
        ("ma", "MA.15.M0.100001.10000012", "is not MA.<country code"),  # country code of 2
        ("ma", "MA.1X6.M0.100001.10000012", "is not MA.<country code"),  # country code not digits
        ("ma", "MA.156.M0.100-01.10000012", "is not MA.<country code"),  # not alphanumeric
        ("ma", "MA.156.M0.100001", "is not MA.<country code"),  # no product code
        ("ma", "MA.156.M0.100001.10000012.L1", "is not MA.<country code"),  # a whole code, not a DI
        ("ma", "ma.156.M0.100001.10000012", "starts with 'MA.'"),
        ("ma", "01234567890128", "starts with 'MA.'"),
        ("ma", "MA.156.M0.L00001.10000012", "starts with 'L'"),  # would read as a lot
        ("ma", "MA.156.M0.100001.E0000012", "starts with 'E'"),  # would read as an expiry
        ("ahm", "AHM.1000001.2000001", None),
        ("ahm", "AHM.A1.B2", None),
        ("ahm", "AHM." + "1" * 30 + "." + "2" * 29, None),  # 64 characters
        ("ahm", "AHM." + "1" * 30 + "." + "2" * 30, "at most 64"),
        ("ahm", "AHM.1000001", "is not AHM.<manufacturer code>"),  # no product code
        ("ahm", "AHM.1000001.2000001.BN1", "is not AHM.<manufacturer code>"),  # a whole code, not a DI
        ("ahm", "AHM00001234", "is not AHM.<manufacturer code>"),
        ("ahm", "ahm.1000001.2000001", "is not AHM.<manufacturer code>"),
        ("ahm", "AHM.1000-01.2000001", "is not AHM.<manufacturer code>"),
        ("ahm", "AHM.编码.2000001", "is not AHM.<manufacturer code>"),
        ("ahm", "", "is not AHM.<manufacturer code>"),
        ("ahm", "AHM.BN00001.2000001", "starts with 'BN'"),  # would read as a lot
        ("ahm", "AHM.1000001.ED20290101", "starts with 'ED'"),  # would read as an expiry
        ("gs1", "01234567890128", "no issuing agency"),
    ],
)
def test_a_di_is_checked_by_its_agencys_rule(agency, di, fault):
    got = di_fault(agency, di)
    if fault is None:
        assert got is None
    else:
        assert got is not None and fault in got


def test_every_ma_di_that_passes_reads_back_as_itself_from_a_scanned_code():
    for di in ("MA.156.M0.100001.10000012", "MA.156.M0.A00001.1000001X", "MA.156.M9.999999.ZZZZZZZZ"):
        assert di_fault("ma", di) is None
        scan = interpret(f"{di}.LLOT1.E20290101", today=TODAY)
        assert (scan.kind, scan.di, scan.lot) == ("ma", di, "LOT1")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("0109506000134352", GtinKey("09506000134352")),
        ("]d20109506000134352\x1d10LOT1", GtinKey("09506000134352")),
        ("02095060001343523712\x1d10ABC", GtinKey("09506000134352")),  # content GTIN of a logistic unit
        ("+A123BJC5D6E7F", None),  # replaced below: the HIBC key
        ("MA.156.M0.100001.10000012.LLOT1.E20290101", DiKey("ma", "MA.156.M0.100001.10000012")),
        ("]Q1MA.156.M0.100001.10000012", DiKey("ma", "MA.156.M0.100001.10000012")),
        ("LOC-A-01-01", None),
        ("00106141411234567897", None),  # an SSCC names a unit, not a trade item
    ],
)
def test_a_scan_names_its_item_by_one_key(raw, key):
    scan = interpret(raw, today=TODAY)
    if raw.startswith("+"):
        assert (scan.hibc_lic, scan.hibc_pcn) == ("A123", "BJC5D6E")
        key = HibcKey("A123", "BJC5D6E", scan.hibc_uom)
    assert item_key(scan) == key


def test_an_ahm_scan_names_its_item_by_the_ahm_di():
    # the AHM reader is another branch's: an interpretation as it answers (kind "ahm", ``di``) stands in for it
    scan = replace(Scan(kind="ma", raw="AHM.1000001.2000001.BNL1", di="AHM.1000001.2000001", lot="L1"), kind="ahm")
    assert item_key(scan) == DiKey("ahm", "AHM.1000001.2000001")


def test_a_di_without_its_agencys_kind_names_nothing():
    assert item_key(Scan(kind="location", raw="LOC-1", di="MA.156.M0.100001.10000012")) is None
    assert item_key(Scan(kind="ma", raw="MA.")) is None


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (GtinKey("09506000134352"), "09506000134352"),
        (HibcKey("A123", "SCREW45", 3), "A123/SCREW45"),
        (DiKey("ma", "MA.156.M0.100001.10000012"), "MA.156.M0.100001.10000012"),
        (None, None),
    ],
)
def test_a_key_is_shown_as_printed(key, text):
    assert key_text(key) == text
