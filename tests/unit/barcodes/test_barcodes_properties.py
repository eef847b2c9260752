"""Properties: generated GS1 and HIBC symbols read back; nothing a scanner sends crashes."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from udipick.domain.barcodes import Element, Scan, ScanConfig, hibc_check_character, interpret
from udipick.domain.barcodes.gs1 import check_digit_fault
from udipick.domain.errors import DomainError, UnreadableBarcode

TODAY = dt.date(2026, 11, 25)
GS = "\x1d"
CONFIG = ScanConfig()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
# stand-ins must not occur inside values: they are not in CSET 82, but "Alt029"/"<GS>" letters are
SAFE = CSET82.replace("<", "").replace("A", "")


def _with_check_digit(payload: str) -> str:
    for digit in "0123456789":
        if check_digit_fault("01", (payload + digit).rjust(14, "0")[-14:]) is None:
            return payload + digit
    raise AssertionError


digits = st.text("0123456789", min_size=1)
gtin = st.text("0123456789", min_size=13, max_size=13).map(_with_check_digit)
sscc = st.text("0123456789", min_size=17, max_size=17).map(
    lambda p: next(p + d for d in "0123456789" if check_digit_fault("00", p + d) is None)
)
date6 = st.dates(dt.date(1980, 1, 1), dt.date(2070, 12, 31)).map(lambda d: d.strftime("%y%m%d"))
text20 = st.text(SAFE, min_size=1, max_size=20)

#: (AI, value strategy, fixed length?)
AIS = [
    ("01", gtin, True),
    ("02", gtin, True),
    ("00", sscc, True),
    ("11", date6, True),
    ("15", date6, True),
    ("17", date6, True),
    ("10", text20, False),
    ("21", text20, False),
    ("240", st.text(SAFE, min_size=1, max_size=30), False),
    ("37", st.text("0123456789", min_size=1, max_size=8), False),
    ("99", st.text(SAFE, min_size=1, max_size=90), False),
    (
        "7003",
        st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2070, 12, 31)).map(lambda t: t.strftime("%y%m%d%H%M")),
        False,
    ),
]


@st.composite
def gs1_messages(draw: st.DrawFn) -> list[Element]:
    picks = draw(st.lists(st.sampled_from(AIS), min_size=1, max_size=6, unique_by=lambda a: a[0]))
    return [Element(ai, draw(values)) for ai, values, _ in picks]


def _encode(elements: list[Element], separator: str) -> str:
    fixed = {ai for ai, _, is_fixed in AIS if is_fixed}
    out = ""
    for i, element in enumerate(elements):
        out += element.ai + element.value
        if element.ai not in fixed and i < len(elements) - 1:
            out += separator
    return out


@SETTINGS
@given(
    gs1_messages(),
    st.sampled_from((GS, *CONFIG.separator_stand_ins)),
    st.sampled_from(("", "]d2", "]C1", "]Q3", "]e0")),
)
def test_generated_gs1_message_reads_back(elements: list[Element], separator: str, aim: str) -> None:
    raw = aim + _encode(elements, separator)
    # without a symbology identifier 8/12/13/14 bare digits are read as a GTIN (EAN-8, UPC-A,
    # EAN-13, GTIN-14): far likelier at a goods-in desk than e.g. a lone (11) production date
    assume(aim or not (raw.isdigit() and len(raw) in (8, 12, 13, 14)))
    scan = interpret(raw, today=TODAY)
    assert scan.elements == tuple(elements)
    assert scan.symbology == (aim or None)
    by_ai = {e.ai: e.value for e in elements}
    assert scan.gtin == by_ai.get("01")
    assert scan.lot == by_ai.get("10")
    assert scan.serial == by_ai.get("21")
    if "17" in by_ai:
        assert scan.expiry is not None and scan.expiry.strftime("%y%m%d")[:4] == by_ai["17"][:4]


hibc_alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HIBC_ALPHABET = hibc_alnum + "-. $/+%"


@st.composite
def hibc_symbols(draw: st.DrawFn) -> tuple[str, dict]:
    lic = draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) + draw(st.text(hibc_alnum, min_size=3, max_size=3))
    pcn = draw(st.text(hibc_alnum, min_size=1, max_size=18))
    uom = draw(st.integers(0, 9))
    expected = {"hibc_lic": lic, "hibc_pcn": pcn, "hibc_uom": uom}
    data = f"+{lic}{pcn}{uom}"
    if draw(st.booleans()):
        expiry = draw(st.dates(dt.date(2000, 1, 1), dt.date(2070, 12, 31)))
        lot = draw(st.text(hibc_alnum, min_size=1, max_size=18))
        qty = draw(st.none() | st.integers(0, 99))
        data += "/$$" + ("" if qty is None else f"8{qty:02d}") + "3" + expiry.strftime("%y%m%d") + lot
        expected |= {"expiry": expiry, "lot": lot, "quantity": qty}
    return data + hibc_check_character(data), expected


@SETTINGS
@given(hibc_symbols(), st.sampled_from(("", "]d1", "]C0", "]A0")))
def test_generated_hibc_reads_back(symbol: tuple[str, dict], aim: str) -> None:
    raw, expected = symbol
    scan = interpret(aim + raw, today=TODAY)
    assert scan.kind == "hibc"
    for name, value in expected.items():
        assert getattr(scan, name) == value, name


@SETTINGS
@given(hibc_symbols(), st.data())
def test_one_changed_character_in_hibc_is_caught(symbol: tuple[str, dict], data: st.DataObject) -> None:
    raw, _ = symbol
    at = data.draw(st.integers(1, len(raw) - 1))
    new = data.draw(st.sampled_from(HIBC_ALPHABET).filter(lambda ch: ch != raw[at]))
    changed = raw[:at] + new + raw[at + 1 :]
    try:
        scan = interpret(changed, today=TODAY)
    except UnreadableBarcode:
        return
    raise AssertionError(f"{changed!r} read as {scan}")  # a single substitution always changes mod 43


# ---- fuzz --------------------------------------------------------------------------------

scanner_text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(list("0123456789]d2CQe1+$/|#<>GS A-.%" + GS)), max_size=60),
    st.builds(
        lambda p, t: p + t,
        st.sampled_from(["]d2", "]C1", "]Q1", "]E0", "+", "+$$", "https://a/01/", "*+", "LOC-"]),
        st.text(max_size=40),
    ),
)


def _only_scan_or_domain_error(raw: str | bytes) -> None:
    try:
        result = interpret(raw, today=TODAY)
    except DomainError as exc:
        assert not exc.context.get("internal"), f"parser crashed on {raw!r}: {exc.__cause__!r}"
        return
    assert isinstance(result, Scan)


@settings(max_examples=300, deadline=None)
@given(scanner_text)
@example("30")  # an AI with an empty value (found by this test): refused, not a crash
@example("]d20104150000000015\x1d30")
def test_any_text_gives_a_scan_or_a_domain_error(raw: str) -> None:
    _only_scan_or_domain_error(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_any_bytes_give_a_scan_or_a_domain_error(raw: bytes) -> None:
    _only_scan_or_domain_error(raw)
