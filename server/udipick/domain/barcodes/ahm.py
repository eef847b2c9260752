"""AHM codes (Alibaba Health, 阿里健康; ISO/IEC 15459 issuing agency ``AHM``), one of the NMPA's three UDI
issuing agencies next to GS1 and MA.

The published rules found say what an AHM UDI carries, not how it is spelled: the DI is the manufacturer
code (厂商标识代码) plus the product code (产品标识代码); the PI is made of lot (BN), serial (SN), production
date (MD), best-before date (BD) and expiry date (ED). How those are written in one string is udipick's
reading, chosen to match the MA code's shape (sources, and every decision: ``docs/ahm_codes.md``)::

    AHM.<manufacturer code>.<product code>[.BN<lot>][.SN<serial>][.MD<date>][.BD<date>][.ED<date>]

=====  ===============================  ================================================
unit   field                            form (our reading)
=====  ===============================  ================================================
.BN    lot (产品批次信息)                 ASCII letters and digits, 1 to 20
.SN    serial (单品序列号)                ASCII letters and digits, 1 to 20
.MD    production date (产品生产日期)      6 or 8 digits, YYMMDD / YYYYMMDD
.BD    best-before date (产品保质日期)     6 or 8 digits
.ED    expiry date (产品有效日期)          6 or 8 digits
=====  ===============================  ================================================

The DI is exactly ``AHM`` and two segments, so every later segment must be a data unit: an unknown unit
is refused, not read as part of the DI.
"""

from __future__ import annotations

import datetime as dt

from udipick.domain.barcodes.dates import join_units, unit_date
from udipick.domain.barcodes.faults import Fault
from udipick.domain.values import Value

PREFIX = "AHM."
SEPARATOR = "."
UNITS = {
    "BN": "lot",
    "SN": "serial",
    "MD": "production date",
    "BD": "best-before date",
    "ED": "expiry date",
}
_DATE_UNITS = frozenset({"MD", "BD", "ED"})
_UNIT_LIST = " ".join("." + unit for unit in UNITS)
#: lot and serial are stored in 20-character columns, as GS1 AI 10 and 21 allow at most 20
MAX_TEXT = 20
#: DI segments after ``AHM``: manufacturer code (厂商标识代码), product code (产品标识代码)
DI_SEGMENTS = ("manufacturer code", "product code")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_DIGITS = frozenset("0123456789")


class AhmCode(Value):
    di: str
    lot: str | None = None
    serial: str | None = None
    production_date: dt.date | None = None
    best_before: dt.date | None = None
    expiry_date: dt.date | None = None

    @property
    def expiry(self) -> dt.date | None:
        """The date the unit may no longer be used: ``.ED`` (有效日期), else ``.BD`` (保质日期)."""
        return self.expiry_date if self.expiry_date is not None else self.best_before


def looks_like_ahm(body: str) -> bool:
    return body.startswith(PREFIX)


def _not_alnum(text: str) -> int:
    """Index of the first character that is not an ASCII letter or digit, else -1 (C string methods first: speed)."""
    if text.isascii() and text.isalnum():
        return -1
    return next((i for i, ch in enumerate(text) if ch not in _ALNUM), -1)


def _not_digit(text: str) -> int:
    """Index of the first character that is not an ASCII digit, else -1."""
    if text.isascii() and text.isdigit():
        return -1
    return next((i for i, ch in enumerate(text) if ch not in _DIGITS), -1)


def _missing_separator(field: str, i: int) -> str:
    """Words for a non-digit at ``i`` of a date: a data unit run into it means a dropped separator."""
    unit = field[i : i + 2]
    return f"; separator '.' missing before data unit .{unit}?" if unit in UNITS else ""


def _date(field: str, unit: str, today: dt.date, at: int) -> dt.date:
    bad = _not_digit(field)
    hint = _missing_separator(field, bad) if bad >= 0 else ""
    return unit_date(field, today, label=f"AHM {UNITS[unit]} .{unit}", at=at, hint=hint)


def parse_ahm(body: str, today: dt.date) -> AhmCode:
    """Parse an AHM code; raises :class:`Fault` with the index in ``body`` of what is wrong."""
    if not body.startswith(PREFIX):
        raise Fault("an AHM code starts with 'AHM.'", 0)
    segments = body.split(SEPARATOR)
    starts: list[int] = []
    pos = 0
    for seg in segments:
        starts.append(pos)
        pos += len(seg) + 1
    for k, what in enumerate(DI_SEGMENTS, start=1):
        if k >= len(segments):
            raise Fault(f"AHM device identifier has no {what}: it is AHM.<manufacturer code>.<product code>", len(body))
        seg, at = segments[k], starts[k]
        if not seg:
            raise Fault(f"AHM {what} is empty (two dots in a row?)", at)
        if seg[:2] in UNITS:
            raise Fault(
                f"AHM device identifier has no {what}: {seg[:2]!r} starts data unit .{seg[:2]} "
                "(it is AHM.<manufacturer code>.<product code>)",
                at,
            )
        bad = _not_alnum(seg)
        if bad >= 0:
            raise Fault(f"character {seg[bad]!r} is not allowed in an AHM {what}", at + bad)
    di = SEPARATOR.join(segments[: 1 + len(DI_SEGMENTS)])
    texts: dict[str, str] = {}
    dates: dict[str, dt.date] = {}
    for k in range(1 + len(DI_SEGMENTS), len(segments)):
        seg, at = segments[k], starts[k]
        if not seg:
            raise Fault("empty AHM data unit (two dots in a row?)", at)
        unit, field = seg[:2], seg[2:]
        if unit not in UNITS:
            raise Fault(f"unknown AHM data unit .{unit} (expected one of {_UNIT_LIST})", at)
        name = UNITS[unit]
        if unit in texts or unit in dates:
            raise Fault(f"AHM data unit .{unit} ({name}) appears twice", at)
        if not field:
            raise Fault(f"AHM data unit .{unit} ({name}) is empty", at + 2)
        if unit in _DATE_UNITS:
            dates[unit] = _date(field, unit, today, at + 2)
            continue
        bad = _not_alnum(field)
        if bad >= 0:
            raise Fault(f"character {field[bad]!r} is not allowed in AHM {name}", at + 2 + bad)
        if len(field) > MAX_TEXT:
            raise Fault(f"AHM {name} .{unit} is {len(field)} characters, at most {MAX_TEXT}", at + 2 + MAX_TEXT)
        texts[unit] = field
    return AhmCode(
        di=di,
        lot=texts.get("BN"),
        serial=texts.get("SN"),
        production_date=dates.get("MD"),
        best_before=dates.get("BD"),
        expiry_date=dates.get("ED"),
    )


def build_ahm(code: AhmCode, *, eight_digit_dates: bool = True) -> str:
    """The AHM code text for ``code`` (units in the order BN SN MD BD ED); the inverse of :func:`parse_ahm`."""
    return join_units(
        code.di,
        (
            ("BN", code.lot),
            ("SN", code.serial),
            ("MD", code.production_date),
            ("BD", code.best_before),
            ("ED", code.expiry_date),
        ),
        eight_digit_dates=eight_digit_dates,
        separator=SEPARATOR,
    )
