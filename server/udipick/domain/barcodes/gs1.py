"""GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR, DataBar) and plain GTINs, through biip.

biip finds each Application Identifier and supplies its format pattern; udipick adds what a picker needs on
top: the exact place and reason when a scan is refused, check digits on every keyed AI, real
calendar dates with the century taken from ``today`` (biip would read the clock), and
refusal of conflicting repeated AIs.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TypedDict

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier

from udipick.domain.barcodes import dates
from udipick.domain.barcodes.faults import Fault
from udipick.domain.barcodes.scan import Element
from udipick.domain.gs1_numbers import gs1_check_digit
from udipick.domain.values import Value

GS = "\x1d"

#: AIs whose data starts with a GS1 mod-10 check digit: AI -> (start, end) of the checked digits
_CHECK_DIGITS: dict[str, tuple[int, int]] = {
    "00": (0, 18),
    "01": (0, 14),
    "02": (0, 14),
    "03": (0, 14),
    "253": (0, 13),
    "255": (0, 13),
    "402": (0, 17),
    "410": (0, 13),
    "411": (0, 13),
    "412": (0, 13),
    "413": (0, 13),
    "414": (0, 13),
    "415": (0, 13),
    "416": (0, 13),
    "417": (0, 13),
    "8003": (1, 14),
    "8006": (0, 14),
    "8017": (0, 18),
    "8018": (0, 18),
    "8026": (0, 14),
}

#: date / time components of each dated AI (GS1 Barcode Syntax Dictionary); "[x]" is optional
_DATE_SPECS: dict[str, tuple[str, ...]] = {
    "11": ("yymmd0",),
    "12": ("yymmd0",),
    "13": ("yymmd0",),
    "15": ("yymmd0",),
    "16": ("yymmd0",),
    "17": ("yymmd0",),
    "4324": ("yymmd0", "hhmi"),
    "4325": ("yymmd0", "hhmi"),
    "4326": ("yymmdd",),
    "7003": ("yymmdd", "hhmi"),
    "7006": ("yymmdd",),
    "7007": ("yymmdd", "[yymmdd]"),
    "7011": ("yymmdd", "[hhmi]"),
    "8008": ("yymmdd", "hh", "[mi]", "[ss]"),
    "7250": ("yyyymmdd",),
    "7251": ("yyyymmdd", "hhmi"),
}
_WIDTH = {"yymmd0": 6, "yymmdd": 6, "yyyymmdd": 8, "hhmi": 4, "hh": 2, "mi": 2, "ss": 2}

_CSET82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")


def check_digit_fault(ai: str, value: str) -> Fault | None:
    """A wrong GS1 mod-10 check digit, as "AI 01: check digit is 8, expected 7"."""
    span = _CHECK_DIGITS.get(ai)
    if span is None:
        return None
    start, end = span
    digits = value[start:end]
    if len(digits) != end - start or not (digits.isascii() and digits.isdigit()):
        return None  # the format check reports this
    expected = str(gs1_check_digit(digits[:-1]))
    if digits[-1] != expected:
        return Fault(f"AI {ai}: check digit is {digits[-1]}, expected {expected}", end - 1)
    return None


def lint_dates(ai: str, value: str, today: dt.date) -> None:
    """Refuse impossible dates and times in any dated AI; raise Fault(index within value)."""
    spec = _DATE_SPECS.get(ai)
    if spec is None:
        return
    at = 0
    for part in spec:
        optional = part.startswith("[")
        kind = part.strip("[]")
        width = _WIDTH[kind]
        text = value[at : at + width]
        if not text and optional:
            return
        if len(text) < width:
            raise Fault(f"AI {ai}: value is too short for its date or time", len(value))
        try:
            if kind in ("yymmd0", "yymmdd"):
                dates.yymmdd(text, today, offset=at, day_zero=kind == "yymmd0")
            elif kind == "yyyymmdd":
                dates.yyyymmdd(text, offset=at)
            elif kind == "hhmi":
                dates.hour(text[:2], offset=at)
                dates.minute(text[2:], offset=at + 2)
            elif kind == "hh":
                dates.hour(text, offset=at)
            elif kind == "mi":
                dates.minute(text, offset=at)
            else:
                dates.second(text, offset=at)
        except dates.DateFault as exc:
            raise Fault(f"AI {ai}: {exc.reason}", exc.offset) from None
        at += width


def lint(ai: str, value: str, today: dt.date) -> None:
    fault = check_digit_fault(ai, value)
    if fault is not None:
        raise fault
    lint_dates(ai, value, today)


def lookup_ai(text: str) -> GS1ApplicationIdentifier | None:
    """The AI that is exactly ``text`` (e.g. "10"), or None."""
    if not (text.isascii() and text.isdigit()) or not 2 <= len(text) <= 4:
        return None
    try:
        found = GS1ApplicationIdentifier.extract(text)
    except ParseError:
        return None
    return found if found.ai == text else None


def _explain_mismatch(ai: GS1ApplicationIdentifier, data: str, today: dt.date) -> Fault:
    """Why ``data`` (the text after the AI, up to the next GS) does not fit the AI's format."""
    name = ai.ai
    if not data:
        return Fault(f"AI {name}: value is missing", 0)
    lint_dates(name, data, today)  # a specific date or time reason, when that is the problem
    body = ai.format.split("+", 1)[1]
    if not re.search(r"[XYZ]", body):
        for i, ch in enumerate(data):
            if not ("0" <= ch <= "9"):
                return Fault(f"AI {name}: character {ch!r} is not a digit", i)
        fixed = sum(int(n) for n in re.findall(r"(?<![\[.])N(\d+)", body.split("[")[0]))
        if fixed and len(data) < fixed:
            return Fault(f"AI {name}: value has {len(data)} digits, expected {fixed}", len(data))
    else:
        for i, ch in enumerate(data):
            if ch not in _CSET82:
                return Fault(f"AI {name}: character {ch!r} is not allowed in a GS1 value", i)
    return Fault(f"AI {name}: {data!r} does not fit the format {body}", 0)


def _max_length(ai: GS1ApplicationIdentifier) -> int | None:
    found = re.search(r"\.\.(\d+)\]?$", ai.format)
    return int(found.group(1)) if found else None


_PATTERNS: dict[tuple[str, bool], re.Pattern[str]] = {}


def _pattern(ai: GS1ApplicationIdentifier, *, full: bool) -> re.Pattern[str]:
    key = (ai.ai, full)
    found = _PATTERNS.get(key)
    if found is None:
        found = _PATTERNS[key] = re.compile(ai.pattern if full else ai.pattern.removesuffix("$"))
    return found


def match_element(text: str, today: dt.date, *, full: bool = False) -> tuple[GS1ApplicationIdentifier, str]:
    """(AI, value) of the element string at the start of ``text``, matched with biip's AI table
    and format patterns, exactly as ``GS1ElementString.extract`` / ``.parse`` match it, but
    without building biip's GTIN/decimal/date objects, which udipick does not use (dates:
    biip would take the century from the clock)."""
    try:
        ai = GS1ApplicationIdentifier.extract(text)
    except ParseError:
        head = text[:4].split(GS, 1)[0]
        raise Fault(f"no GS1 Application Identifier starts with {head!r}", 0) from None
    segment = text if full else text.split(GS, 1)[0]
    matched = _pattern(ai, full=full).match(segment)
    if matched is None:
        data = segment[len(ai.ai) :]
        try:
            fault = _explain_mismatch(ai, data, today)
        except Fault as specific:
            fault = specific
        raise fault.shifted(len(ai.ai))
    groups = matched.groups()
    value = groups[0] if len(groups) == 1 else "".join(g for g in groups if g is not None)
    if not value:  # some patterns of the AI table admit an empty value; GS1 never does
        raise Fault(f"AI {ai.ai}: the value is missing", len(ai.ai))
    return ai, value


class Located(Value):
    element: Element
    index: int  # where the AI starts in the parsed text


def parse_element_strings(text: str, today: dt.date) -> list[Located]:
    """Every element string in ``text`` (GS = 0x1D only; stand-ins already replaced)."""
    found: list[Located] = []
    seen: dict[str, str] = {}
    pos = 0
    end = len(text)
    while pos < end and text[pos] == GS:
        pos += 1
    if pos >= end:
        raise Fault("no GS1 data after the symbology identifier", pos)
    while pos < end:
        start = pos
        try:
            definition, value = match_element(text[pos:] if pos else text, today)
        except Fault as fault:
            raise fault.shifted(start) from None
        ai = definition.ai
        value_at = start + len(ai)
        pos = value_at + len(value)
        try:
            lint(ai, value, today)
        except Fault as fault:
            raise fault.shifted(value_at) from None
        if pos < end and text[pos] != GS and definition.separator_required:
            longest = _max_length(definition)
            if text[pos] not in _CSET82:
                reason = f"AI {ai}: character {text[pos]!r} is not allowed in a GS1 value"
            elif longest is not None and len(value) == longest:
                reason = f"AI {ai}: value is longer than {longest} characters, or a GS separator is missing"
            else:
                reason = f"AI {ai}: value must be followed by a GS separator"
            raise Fault(reason, pos)
        earlier = seen.get(ai)
        if earlier is not None and earlier != value:
            raise Fault(f"AI {ai} appears twice with different values", start)
        seen[ai] = value
        found.append(Located(Element(ai, value), start))
        while pos < end and text[pos] == GS:
            pos += 1
    return found


class ScanFields(TypedDict, total=False):
    """The :class:`~udipick.domain.barcodes.scan.Scan` fields that GS1 element strings fill in."""

    gtin: str
    content_gtin: str
    sscc: str
    lot: str
    serial: str
    additional_id: str
    expiry: dt.date
    production_date: dt.date
    best_before: dt.date
    expiry_time: dt.datetime
    quantity: int


def fields_from_elements(elements: tuple[Element, ...], today: dt.date) -> ScanFields:
    """Scan fields named in GS1 words; values already linted, so dates are valid here."""
    fields: ScanFields = {}
    count: str | None = None
    for element in elements:
        ai, value = element.ai, element.value
        if ai == "01":
            fields.setdefault("gtin", value)
        elif ai == "02":
            fields.setdefault("content_gtin", value)
        elif ai == "00":
            fields.setdefault("sscc", value)
        elif ai == "10":
            fields.setdefault("lot", value)
        elif ai == "21":
            fields.setdefault("serial", value)
        elif ai == "240":
            fields.setdefault("additional_id", value)
        elif ai == "17":
            fields.setdefault("expiry", dates.yymmdd(value, today))
        elif ai == "11":
            fields.setdefault("production_date", dates.yymmdd(value, today))
        elif ai == "15":
            fields.setdefault("best_before", dates.yymmdd(value, today))
        elif ai == "7003":
            day = dates.yymmdd(value[:6], today, day_zero=False)
            fields.setdefault(
                "expiry_time", dt.datetime(day.year, day.month, day.day, int(value[6:8]), int(value[8:10]))
            )
        elif ai == "37" or (ai == "30" and count is None):
            count = value
    if count is not None:
        fields["quantity"] = int(count)
    return fields


def parse_plain_gtin(digits: str) -> str:
    """EAN-8 / UPC-A / EAN-13 / GTIN-14 digits → GTIN-14, check digit verified."""
    expected = str(gs1_check_digit(digits[:-1]))
    if digits[-1] != expected:
        raise Fault(f"GTIN check digit is {digits[-1]}, expected {expected}", len(digits) - 1)
    return digits.zfill(14)
