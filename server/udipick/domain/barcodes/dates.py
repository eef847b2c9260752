"""Dates as barcodes write them: two-digit years, day ``00``, Julian days, hours.

The century comes from ``today`` (passed in, never read from the clock) using the sliding window
of the GS1 General Specifications section 7.12, which HIBC dates follow as well.
"""

from __future__ import annotations

import calendar
import datetime as dt

from udipick.domain.barcodes.faults import Fault


class DateFault(ValueError):
    """A date field that is not a date; ``offset`` is the index of the bad part in the field."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def full_year(yy: int, today: dt.date) -> int:
    """GS1 GenSpecs 7.12: YY minus this year's YY in 51..99 → last century; -50..-99 → next."""
    this_yy = today.year % 100
    century = today.year - this_yy
    diff = yy - this_yy
    if 51 <= diff <= 99:
        return century - 100 + yy
    if -99 <= diff <= -50:
        return century + 100 + yy
    return century + yy


def last_day_of_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _digits(text: str, offset: int, what: str) -> int:
    if not (text.isascii() and text.isdigit()):
        bad = next(i for i, ch in enumerate(text) if not ("0" <= ch <= "9"))
        raise DateFault(f"{what} {text!r} is not a number", offset + bad)
    return int(text)


def ymd(year: int, mm: str, dd: str, *, offset: int, day_zero: bool) -> dt.date:
    """Build a date from month/day text; ``offset`` is where ``mm`` starts in the field."""
    month = _digits(mm, offset, "month")
    if not 1 <= month <= 12:
        raise DateFault(f"month {mm} is not a month", offset)
    day = _digits(dd, offset + 2, "day")
    if day == 0:
        if not day_zero:
            raise DateFault("day 00 is not allowed in this date", offset + 2)
        day = last_day_of_month(year, month)
    elif day > last_day_of_month(year, month):
        raise DateFault(f"day {dd} does not exist in {calendar.month_name[month]} {year}", offset + 2)
    return dt.date(year, month, day)


def yymmdd(text: str, today: dt.date, *, offset: int = 0, day_zero: bool = True) -> dt.date:
    """``YYMMDD``; day ``00`` means the last day of the month where the AI allows it."""
    year = full_year(_digits(text[0:2], offset, "year"), today)
    return ymd(year, text[2:4], text[4:6], offset=offset + 2, day_zero=day_zero)


def yyyymmdd(text: str, *, offset: int = 0, day_zero: bool = False) -> dt.date:
    year = _digits(text[0:4], offset, "year")
    if year < 1:
        raise DateFault(f"year {text[0:4]} is not a year", offset)
    return ymd(year, text[4:6], text[6:8], offset=offset + 4, day_zero=day_zero)


def yyjjj(text: str, today: dt.date, *, offset: int = 0) -> dt.date:
    """``YYJJJ``: year and day of the year (HIBC Julian date)."""
    year = full_year(_digits(text[0:2], offset, "year"), today)
    day = _digits(text[2:5], offset + 2, "day of year")
    days_in_year = 366 if calendar.isleap(year) else 365
    if not 1 <= day <= days_in_year:
        raise DateFault(f"day of year {text[2:5]} does not exist in {year}", offset + 2)
    return dt.date(year, 1, 1) + dt.timedelta(days=day - 1)


def hour(text: str, *, offset: int) -> int:
    value = _digits(text, offset, "hour")
    if value > 23:
        raise DateFault(f"hour {text} is not an hour", offset)
    return value


def minute(text: str, *, offset: int) -> int:
    value = _digits(text, offset, "minute")
    if value > 59:
        raise DateFault(f"minute {text} is not a minute", offset)
    return value


def second(text: str, *, offset: int) -> int:
    value = _digits(text, offset, "second")
    if value > 59:
        raise DateFault(f"second {text} is not a second", offset)
    return value


def unit_date(field: str, today: dt.date, *, label: str, at: int, hint: str = "") -> dt.date:
    """A date data unit of an MA or AHM code: 6 digits (YYMMDD) or 8 (YYYYMMDD), no day 00. ``label`` names
    the unit in a refusal (``MA expiry date .E``), ``at`` is where the field starts, ``hint`` is added to a
    not-a-digit refusal (an AHM unit run into the date)."""
    if not (field.isascii() and field.isdigit()):
        bad = next(i for i, ch in enumerate(field) if not ("0" <= ch <= "9"))
        raise Fault(f"{label} must be digits, got {field!r}{hint}", at + bad)
    try:
        if len(field) == 6:
            return yymmdd(field, today, day_zero=False)
        if len(field) == 8:
            return yyyymmdd(field, day_zero=False)
    except DateFault as exc:
        raise Fault(f"{label}{field}: {exc.reason}", at + exc.offset) from None
    raise Fault(f"{label} must be 6 or 8 digits (YYMMDD or YYYYMMDD), got {len(field)}", at)


def join_units(
    di: str, units: tuple[tuple[str, str | dt.date | None], ...], *, eight_digit_dates: bool, separator: str = "."
) -> str:
    """An MA or AHM code's text: the DI, then each present data unit as ``.<unit><field>`` (dates 8 or 6 digits)."""
    fmt = "%Y%m%d" if eight_digit_dates else "%y%m%d"
    parts = [di]
    for unit, value in units:
        if value is not None:
            parts.append(unit + (value.strftime(fmt) if isinstance(value, dt.date) else value))
    return separator.join(parts)
