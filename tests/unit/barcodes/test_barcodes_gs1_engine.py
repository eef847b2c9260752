"""The GS1 Barcode Syntax Engine's own test vectors, run through ``interpret``.

Source: tests/conformance/gs1-syntax-engine (gs1/gs1-syntax-engine @ 50657dbd, Apache-2.0).
Every case the engine accepts must give the same AI data here; every case it refuses must be
refused. Deliberate differences are listed in KNOWN_DIFFERENCES with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path

import pytest

from udipick.domain.barcodes import Element, ScanConfig, interpret
from udipick.domain.errors import UnreadableBarcode

CONFORMANCE = Path(__file__).parents[2] / "conformance"
ENGINE = CONFORMANCE / "gs1-syntax-engine"
TODAY = dt.date(2026, 11, 25)

VECTORS = json.loads((ENGINE / "unit_test_vectors.json").read_text(encoding="utf-8"))


@cache
def _dictionary() -> dict[str, int | None]:
    """AI -> fixed data length for pre-defined-length AIs ("*" flag), None for the others.

    Read from the engine's syntax dictionary, so the expected AI data is split without biip."""
    table: dict[str, int | None] = {}
    for line in (ENGINE / "gs1-syntax-dictionary.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        ais, rest = parts[0], parts[1:]
        flags = rest[0] if rest and not rest[0][0].isalpha() and not rest[0].startswith("[") else ""
        specs = rest[1:] if flags else rest
        fixed = None
        if "*" in flags:
            fixed = sum(int(re.match(r"[NXYZ](\d+)", s).group(1)) for s in specs if re.match(r"[NXYZ]\d+", s))
        lo, _, hi = ais.partition("-")
        for n in range(int(lo), int(hi or lo) + 1):
            table[str(n).zfill(len(lo))] = fixed
    return table


def engine_elements(data_str: str) -> tuple[Element, ...]:
    """The engine's ``^``-separated AI data ("^0112345678901231^10ABC") as elements."""
    assert data_str.startswith("^")
    table = _dictionary()
    out: list[Element] = []
    for chunk in data_str[1:].split("^"):
        while chunk:
            ai = next(chunk[:n] for n in (2, 3, 4) if chunk[:n] in table)
            fixed = table[ai]
            end = len(chunk) if fixed is None else len(ai) + fixed
            out.append(Element(ai, chunk[len(ai) : end]))
            chunk = chunk[end:]
    return tuple(out)


def _case_id(case: dict) -> str:
    return f"line{case['source_line']}"


# ---- processScanData ---------------------------------------------------------------------

SCAN_DIFFERENCES = {
    # The engine hands back non-GS1 data of ]Q1/]d1/]J0 symbols as plain text; udipick only
    # accepts data it can act on (GS1, Digital Link, HIBC, GTIN, its own labels).
    852: "empty ]Q1 symbol: nothing a warehouse can act on",
    853: "plain text 'TESTING' is not a barcode udipick knows",
    854: "plain text '^TESTING' is not a barcode udipick knows",
    855: "plain text '\\^TESTING' is not a barcode udipick knows",
    879: "empty ]d1 symbol: nothing a warehouse can act on",
    880: "plain text 'TESTING' is not a barcode udipick knows",
    881: "plain text '^TESTING' is not a barcode udipick knows",
    882: "plain text '\\^TESTING' is not a barcode udipick knows",
    894: "empty ]J0 symbol: nothing a warehouse can act on",
    895: "plain text 'TESTING' is not a barcode udipick knows",
    896: "plain text '^TESTING' is not a barcode udipick knows",
    897: "plain text '\\^TESTING' is not a barcode udipick knows",
    # processScanData does not interpret a URI; udipick does, with the engine's own parseDLuri
    # rule that forbids a mixed-case scheme (parseDLuri line 1343).
    874: "mixed-case scheme 'HtTps://' is refused as a Digital Link (engine parseDLuri rule)",
}

#: URIs the engine returns as plain text: udipick reads them as Digital Link (same AI data the
#: engine's parseDLuri gives)
DL_IN_SCAN = {
    "https://example.com/01/12312312312333?99=TEST": (Element("01", "12312312312333"), Element("99", "TEST")),
    "HTTPS://example.com/01/12312312312333?99=TEST": (Element("01", "12312312312333"), Element("99", "TEST")),
}


@pytest.mark.parametrize("case", VECTORS["processScanData"], ids=_case_id)
def test_scan_data_matches_the_gs1_engine(case: dict) -> None:
    line = case["source_line"]
    if line in SCAN_DIFFERENCES:
        with pytest.raises(UnreadableBarcode):
            interpret(case["scan_data"], today=TODAY)
        pytest.xfail(f"deliberate difference: {SCAN_DIFFERENCES[line]}")
    if not case["should_succeed"]:
        with pytest.raises(UnreadableBarcode):
            interpret(case["scan_data"], today=TODAY)
        return
    scan = interpret(case["scan_data"], today=TODAY)
    expected = case["expect_data_str"]
    aim = case["scan_data"][:3]
    assert scan.symbology == aim
    if expected.startswith("^"):
        assert scan.elements == engine_elements(expected)
        assert scan.kind in ("gs1", "sscc")
    elif expected in DL_IN_SCAN:
        assert scan.kind == "digital_link"
        assert scan.elements == DL_IN_SCAN[expected]
    else:  # EAN-13 / EAN-8, maybe with a composite component "digits|^AI data"
        digits, _, composite = expected.partition("|")
        assert scan.gtin == digits.zfill(14)
        if composite:
            assert scan.elements == (Element("01", digits.zfill(14)), *engine_elements(composite))
        else:
            assert scan.kind == "gtin"


# ---- parseDLuri --------------------------------------------------------------------------

#: engine options switched on around these cases in dl.c (see source_line)
ZERO_SUPPRESSED_GTIN = {1449, 1459, 1469, 1484, 1494, 1635, 1641, 1669, 1679, 1689, 1699}
CONVENIENCE_ALPHAS = {1437, 1438, 1439}
DL_DIFFERENCES = {
    1767: "unknown AI (89) accepted only with the engine's permitUnknownAIs and the "
    "unknown-AI-not-DL-attribute check switched off; udipick never accepts AIs it cannot name",
}


@pytest.mark.parametrize("case", VECTORS["parseDLuri"], ids=_case_id)
def test_digital_link_matches_the_gs1_engine(case: dict) -> None:
    line = case["source_line"]
    config = ScanConfig(
        dl_zero_suppressed_gtin=line in ZERO_SUPPRESSED_GTIN, dl_convenience_alphas=line in CONVENIENCE_ALPHAS
    )
    if line in DL_DIFFERENCES:
        with pytest.raises(UnreadableBarcode):
            interpret(case["dl_uri"], today=TODAY, config=config)
        pytest.xfail(f"deliberate difference: {DL_DIFFERENCES[line]}")
    if not case["should_succeed"]:
        with pytest.raises(UnreadableBarcode):
            interpret(case["dl_uri"], today=TODAY, config=config)
        return
    scan = interpret(case["dl_uri"], today=TODAY, config=config)
    assert scan.kind == "digital_link"
    assert scan.digital_link_uri == case["dl_uri"]
    assert scan.elements == engine_elements(case["expect_data_str"])


def test_digital_link_in_a_qr_code_keeps_the_symbology() -> None:
    scan = interpret("]Q1https://id.gs1.org/01/09520123456788/10/ABC1?17=261200", today=TODAY)
    assert (scan.kind, scan.symbology, scan.gtin, scan.lot) == ("digital_link", "]Q1", "09520123456788", "ABC1")
    assert scan.expiry == dt.date(2026, 12, 31)


# ---- linters -----------------------------------------------------------------------------

#: the linter verdicts udipick applies (check digits, digits, character set, dates and times)
APPLIED_LINTERS = {
    "GS1_LINTER_OK",
    "GS1_LINTER_NON_DIGIT_CHARACTER",
    "GS1_LINTER_INVALID_CSET82_CHARACTER",
    "GS1_LINTER_INCORRECT_CHECK_DIGIT",
    "GS1_LINTER_ILLEGAL_MONTH",
    "GS1_LINTER_ILLEGAL_DAY",
    "GS1_LINTER_ILLEGAL_HOUR",
    "GS1_LINTER_ILLEGAL_MINUTE",
    "GS1_LINTER_ILLEGAL_SECOND",
}
LINTER_CASES = [c for c in VECTORS["linters"] if c["expect_linter"] in APPLIED_LINTERS]


def _element_string(bracketed: str) -> str:
    pairs = re.findall(r"\((\d+)\)([^(]*)", bracketed)
    return "]C1" + "\x1d".join(ai + value for ai, value in pairs)


@pytest.mark.parametrize("case", LINTER_CASES, ids=lambda c: f"{c['bracketed']}-{c['expect_linter'][11:]}")
def test_check_digit_and_date_linters_match_the_gs1_engine(case: dict) -> None:
    data = _element_string(case["bracketed"])
    if case["expect_linter"] == "GS1_LINTER_OK":
        scan = interpret(data, today=TODAY)
        assert scan.elements == tuple(Element(a, v) for a, v in re.findall(r"\((\d+)\)([^(]*)", case["bracketed"]))
    else:
        with pytest.raises(UnreadableBarcode):
            interpret(data, today=TODAY)


def test_linter_cases_not_applied_are_listed() -> None:
    """The other verdicts (IBAN, coupons, ISO 3166/4217 codes, CSET 39/64, check pairs, GCP
    lengths, ...) judge AIs udipick stores but does not act on; biip checks their format only."""
    skipped = {c["expect_linter"] for c in VECTORS["linters"]} - APPLIED_LINTERS
    assert skipped and not skipped & APPLIED_LINTERS
