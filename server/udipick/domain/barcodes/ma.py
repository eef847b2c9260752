"""MA codes (IDcode; ISO/IEC 15459 issuing agency ``MA``), one of the NMPA's three UDI issuing agencies.

An MA UDI is the device identifier (DI) followed by the production identifier (PI). The DI starts with
``MA.``; its segments are separated by ``.``. The PI is a run of data units, each a separator then a
field (sources and decisions: ``docs/ma_codes.md``):

====  ==========================  ========================
unit  field                       form
====  ==========================  ========================
.L    lot (批号)                   alphanumeric, variable
.S    serial (序列号)               alphanumeric, variable
.M    production date (生产日期)     6 or 8 digits, YYMMDD / YYYYMMDD
.V    validity date (有效期)         6 or 8 digits
.E    expiry date (失效期)           6 or 8 digits
.D    sterilisation lot (灭菌批号)   alphanumeric, variable
====  ==========================  ========================

The first two DI segments after ``MA`` (country code, e.g. ``156``, and industry code, e.g. ``M0``)
are never read as data units, so ``MA.156.M0...`` is not a production date.
"""

from __future__ import annotations

import datetime as dt

from udipick.domain.barcodes.dates import join_units, unit_date
from udipick.domain.barcodes.faults import Fault
from udipick.domain.values import Value

PREFIX = "MA."
UNITS = {
    "L": "lot",
    "S": "serial",
    "M": "production date",
    "V": "validity date",
    "E": "expiry date",
    "D": "sterilisation lot",
}
_DATE_UNITS = frozenset("MVE")
#: DI segments after ``MA`` that are never data units (country code, industry code)
_FIXED_DI_SEGMENTS = 2


class MaCode(Value):
    di: str
    lot: str | None = None
    serial: str | None = None
    production_date: dt.date | None = None
    validity_date: dt.date | None = None
    expiry_date: dt.date | None = None
    sterilisation_lot: str | None = None

    @property
    def expiry(self) -> dt.date | None:
        """The date the unit may no longer be used: ``.E`` (失效期), else ``.V`` (有效期)."""
        return self.expiry_date if self.expiry_date is not None else self.validity_date


def looks_like_ma(body: str) -> bool:
    return body.startswith(PREFIX)


def _date(field: str, unit: str, today: dt.date, at: int) -> dt.date:
    return unit_date(field, today, label=f"MA {UNITS[unit]} .{unit}", at=at)


def parse_ma(body: str, today: dt.date) -> MaCode:
    """Parse an MA code; raises :class:`Fault` with the index in ``body`` of what is wrong."""
    if not body.startswith(PREFIX):
        raise Fault("an MA code starts with 'MA.'", 0)
    segments = body.split(".")
    starts: list[int] = []
    pos = 0
    for seg in segments:
        starts.append(pos)
        pos += len(seg) + 1
    first_unit = None
    for i in range(1 + _FIXED_DI_SEGMENTS, len(segments)):
        if segments[i][:1] in UNITS:
            first_unit = i
            break
    di_segments = segments if first_unit is None else segments[:first_unit]
    for i, seg in enumerate(di_segments):
        if not seg:
            raise Fault("empty segment in the MA device identifier (two dots in a row?)", starts[i])
        if not seg.isascii() or not seg.isalnum():
            bad = next(j for j, ch in enumerate(seg) if not (ch.isascii() and ch.isalnum()))
            raise Fault(f"character {seg[bad]!r} is not allowed in an MA device identifier", starts[i] + bad)
    if len(di_segments) < 2:
        raise Fault("MA code has no device identifier after 'MA.'", len(body))
    di = ".".join(di_segments)
    texts: dict[str, str] = {}
    dates: dict[str, dt.date] = {}
    if first_unit is not None:
        for i in range(first_unit, len(segments)):
            seg, at = segments[i], starts[i]
            if not seg:
                raise Fault("empty MA data unit (two dots in a row?)", at)
            unit, field = seg[0], seg[1:]
            if unit not in UNITS:
                raise Fault(f"unknown MA data unit .{unit} (expected one of .L .S .M .V .E .D)", at)
            if unit in texts or unit in dates:
                raise Fault(f"MA data unit .{unit} ({UNITS[unit]}) appears twice", at)
            if not field:
                raise Fault(f"MA data unit .{unit} ({UNITS[unit]}) is empty", at + 1)
            if unit in _DATE_UNITS:
                dates[unit] = _date(field, unit, today, at + 1)
            else:
                if not field.isascii() or not field.isalnum():
                    bad = next(j for j, ch in enumerate(field) if not (ch.isascii() and ch.isalnum()))
                    raise Fault(f"character {field[bad]!r} is not allowed in MA {UNITS[unit]}", at + 1 + bad)
                texts[unit] = field
    return MaCode(
        di=di,
        lot=texts.get("L"),
        serial=texts.get("S"),
        production_date=dates.get("M"),
        validity_date=dates.get("V"),
        expiry_date=dates.get("E"),
        sterilisation_lot=texts.get("D"),
    )


def build_ma(code: MaCode, *, eight_digit_dates: bool = True) -> str:
    """The MA code text for ``code`` (units in the order L S M V E D); the inverse of :func:`parse_ma`."""
    return join_units(
        code.di,
        (
            ("L", code.lot),
            ("S", code.serial),
            ("M", code.production_date),
            ("V", code.validity_date),
            ("E", code.expiry_date),
            ("D", code.sterilisation_lot),
        ),
        eight_digit_dates=eight_digit_dates,
    )
