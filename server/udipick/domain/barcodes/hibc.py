"""HIBC (Health Industry Bar Code) Supplier Labeling Standard, ANSI/HIBC 2.6.

No maintained Python library reads HIBC, so this is written from the standard:

* primary ``+ LIC(4) PCN(1..18) U check``: labeler identification code (first character a
  letter), product/catalog number, unit-of-measure digit;
* secondary ``+ data link check`` when printed as its own symbol (``link`` repeats the primary's
  check character), or ``+ primary / data check`` concatenated with one check character;
* secondary data: ``$`` lot, ``$+`` serial, ``$$`` / ``$$+`` with an optional quantity (``8`` +
  2 digits, ``9`` + 5 digits) then a date format flag (``0``/``1`` MMYY, ``2`` MMDDYY, ``3`` YYMMDD,
  ``4`` YYMMDDHH, ``5`` YYJJJ, ``6`` YYJJJHH, ``7`` none) then lot or serial; the older form
  starts straight with a 5-digit Julian date ``YYJJJ``;
* supplemental fields after ``/``: ``S`` serial, ``16D`` production date and ``14D`` expiry
  (``YYYYMMDD``);
* the mod-43 check character over the whole symbol, leading ``+`` included.

A wrong check character is a refusal, never a guess: the symbol may be mis-read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypedDict, TypeVar

from udipick.domain.barcodes import dates
from udipick.domain.barcodes.faults import Fault

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")


def check_character(data: str) -> str:
    """Mod 43 of the sum of the character values of ``data`` (everything before the check)."""
    return ALPHABET[sum(_VALUE[ch] for ch in data) % 43]


@dataclass(frozen=True, slots=True)
class Hibc:
    check: str
    lic: str | None = None
    pcn: str | None = None
    uom: int | None = None
    link: str | None = None
    lot: str | None = None
    serial: str | None = None
    quantity: int | None = None
    expiry: dt.date | None = None
    expiry_time: dt.datetime | None = None
    production_date: dt.date | None = None


class _Secondary(TypedDict, total=False):
    """What secondary data and its supplements carry: the optional fields of :class:`Hibc`."""

    lot: str
    serial: str
    quantity: int
    expiry: dt.date
    expiry_time: dt.datetime
    production_date: dt.date


_T = TypeVar("_T")


def looks_like_hibc(text: str) -> bool:
    return text.startswith("+")


def parse_hibc(text: str, today: dt.date) -> Hibc:
    """``text`` is the symbol data with the leading ``+`` and trailing check character."""
    for i, ch in enumerate(text):
        if ch not in _VALUE:
            raise Fault(f"character {ch!r} is not allowed in HIBC", i)
    if len(text) < 3:
        raise Fault("HIBC data is too short", len(text))
    data, check = text[:-1], text[-1]
    expected = check_character(data)
    if check != expected:
        raise Fault(f"HIBC check character is {check}, expected {expected}", len(text) - 1)
    body_at = 1
    body = data[1:]
    if body[0] in _DIGITS or body[0] == "$":
        # a secondary symbol of its own: the character before the check is the link character
        if len(body) < 2:
            raise Fault("HIBC secondary data is missing", body_at)
        fields = _secondary(body[:-1], body_at, today)
        return Hibc(check=check, link=body[-1], **fields)
    if body[0] not in _ALNUM:
        raise Fault(f"HIBC data cannot start with {body[0]!r}", body_at)
    slash = body.find("/")
    primary = body if slash == -1 else body[:slash]
    lic, pcn, uom = _primary(primary, body_at)
    fields = {}
    if slash != -1:
        fields = _secondary(body[slash + 1 :], body_at + slash + 1, today, concatenated=True)
    return Hibc(check=check, lic=lic, pcn=pcn, uom=uom, **fields)


def _primary(text: str, at: int) -> tuple[str, str, int]:
    if len(text) < 6:
        raise Fault("HIBC primary data is too short (labeler code, product number, unit of measure)", at + len(text))
    lic, pcn, uom = text[:4], text[4:-1], text[-1]
    if not ("A" <= lic[0] <= "Z"):
        raise Fault(f"HIBC labeler identification code must start with a letter, not {lic[0]!r}", at)
    for i, ch in enumerate(text[:-1]):
        if ch not in _ALNUM:
            raise Fault(f"character {ch!r} is not allowed in an HIBC labeler code or product number", at + i)
    if len(pcn) > 18:
        raise Fault(f"HIBC product number has {len(pcn)} characters, at most 18 allowed", at + 4 + 18)
    if uom not in _DIGITS:
        raise Fault(f"HIBC unit of measure must be a digit, not {uom!r}", at + len(text) - 1)
    return lic, pcn, int(uom)


def _secondary(text: str, at: int, today: dt.date, *, concatenated: bool = False) -> _Secondary:
    """Secondary data without link/check; ``at`` is its index in the whole symbol."""
    slash = text.find("/")
    main, supplements = (text, "") if slash == -1 else (text[:slash], text[slash + 1 :])
    fields: _Secondary = {}
    if main.startswith("$$"):
        serial = main.startswith("$$+")
        pos = 3 if serial else 2
        pos = _flags(main, pos, at, today, fields)
        if serial:
            fields["serial"] = main[pos:]
        else:
            fields["lot"] = main[pos:]
        _identifier_chars(main, pos, at)
    elif main.startswith("$+"):
        fields["serial"] = main[2:]
        _identifier_chars(main, 2, at)
    elif main.startswith("$"):
        fields["lot"] = main[1:]
        _identifier_chars(main, 1, at)
    elif main[:1] in _DIGITS:
        if len(main) < 5:
            raise Fault("HIBC Julian date YYJJJ is cut short", at + len(main))
        fields["expiry"] = _date(lambda: dates.yyjjj(main[:5], today), at)
        fields["lot"] = main[5:]
        _identifier_chars(main, 5, at)
    elif main or not concatenated:
        raise Fault("HIBC secondary data must start with $, $$ or a Julian date", at)
    if slash != -1:
        _supplements(supplements, at + slash + 1, fields)
    return fields


def _identifier_chars(text: str, start: int, at: int) -> None:
    for i in range(start, len(text)):
        if text[i] not in _ALNUM and text[i] not in "-.":
            raise Fault(f"character {text[i]!r} is not allowed in an HIBC lot or serial number", at + i)


def _date(build: Callable[[], _T], at: int) -> _T:
    try:
        return build()
    except dates.DateFault as exc:
        raise Fault(f"HIBC date: {exc.reason}", at + exc.offset) from None


def _flags(text: str, pos: int, at: int, today: dt.date, fields: _Secondary) -> int:
    """Quantity and expiry flags after ``$$``; returns where the lot/serial starts."""
    flag = text[pos : pos + 1]
    if flag in ("8", "9"):
        width = 2 if flag == "8" else 5
        qty = text[pos + 1 : pos + 1 + width]
        if len(qty) < width or not qty.isdigit():
            raise Fault(f"HIBC quantity after flag {flag} needs {width} digits", at + pos + 1)
        fields["quantity"] = int(qty)
        pos += 1 + width
        flag = text[pos : pos + 1]
        if not flag:
            return pos
    if flag in ("0", "1"):
        return _dated(text, pos, 4, at, fields, lambda s: _mmyy(s, today))
    if flag == "2":
        return _dated(
            text,
            pos + 1,
            6,
            at,
            fields,
            lambda s: dates.ymd(dates.full_year(int(s[4:6]), today), s[0:2], s[2:4], offset=0, day_zero=False),
        )
    if flag == "3":
        return _dated(text, pos + 1, 6, at, fields, lambda s: dates.yymmdd(s, today, day_zero=False))
    if flag == "4":
        return _dated(
            text, pos + 1, 8, at, fields, lambda s: _with_hour(dates.yymmdd(s[:6], today, day_zero=False), s[6:8], 6)
        )
    if flag == "5":
        return _dated(text, pos + 1, 5, at, fields, lambda s: dates.yyjjj(s, today))
    if flag == "6":
        return _dated(text, pos + 1, 7, at, fields, lambda s: _with_hour(dates.yyjjj(s[:5], today), s[5:7], 5))
    if flag == "7":
        return pos + 1
    if not flag:
        return pos
    raise Fault(f"HIBC date format flag {flag!r} is not one of 0-7 (or 8/9 for quantity)", at + pos)


def _mmyy(text: str, today: dt.date) -> dt.date:
    # MMYY carries no day: like GS1 day 00, the product is good to the end of that month
    if not text[2:4].isdigit():
        raise dates.DateFault(f"year {text[2:4]!r} is not a number", 2)
    year = dates.full_year(int(text[2:4]), today)
    return dates.ymd(year, text[0:2], "00", offset=0, day_zero=True)


def _with_hour(day: dt.date, hh: str, offset: int) -> dt.datetime:
    hour = dates.hour(hh, offset=offset)
    return dt.datetime(day.year, day.month, day.day, hour)


def _dated(text: str, pos: int, width: int, at: int, fields: _Secondary, build: Callable[[str], dt.date]) -> int:
    """``build`` reads the digits; a date with an hour comes back as a ``datetime``."""
    part = text[pos : pos + width]
    if len(part) < width:
        raise Fault(f"HIBC expiry date needs {width} digits", at + pos + len(part))
    for i, ch in enumerate(part):
        if ch not in _DIGITS:
            raise Fault(f"HIBC expiry date: {ch!r} is not a digit", at + pos + i)
    value = _date(lambda: build(part), at + pos)
    if isinstance(value, dt.datetime):
        fields["expiry_time"] = value
        fields["expiry"] = value.date()
    else:
        fields["expiry"] = value
    return pos + width


def _supplements(text: str, at: int, fields: _Secondary) -> None:
    pos = 0
    for part in text.split("/"):
        part_at = at + pos
        pos += len(part) + 1
        if part.startswith("S"):
            fields["serial"] = part[1:]
            _identifier_chars(part, 1, part_at)
        elif part.startswith(("16D", "14D")):
            value = part[3:]
            if len(value) != 8 or not value.isdigit():
                raise Fault(f"HIBC /{part[:3]} date must be YYYYMMDD", part_at + 3)
            day = _date(partial(dates.yyyymmdd, value), part_at + 3)
            if part.startswith("16D"):
                fields["production_date"] = day
            else:
                fields["expiry"] = day
        else:
            raise Fault(f"HIBC supplemental data field {part[:3]!r} is not supported", part_at)
