"""The GSP records' period (services/gsp.py ``period``): a bad ``tz`` is a problem, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain.errors import InvalidRecord
from udipick.services.gsp import period

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


# "America" names a folder of the tz database, not a zone: ZoneInfo raises IsADirectoryError for it
@pytest.mark.parametrize("tz", ["America", "Asia", "Nowhere/Else", "", "../x", "a\x00b"])
def test_a_name_that_is_no_time_zone_is_refused(tz):
    with pytest.raises(InvalidRecord) as refused:
        period(None, None, tz, now=NOW)
    assert refused.value.context["pointer"] == "/tz"


def test_a_time_zone_gives_whole_local_days():
    p = period(dt.date(2026, 2, 1), dt.date(2026, 2, 2), "Asia/Shanghai", now=NOW)
    assert p.start.isoformat() == "2026-02-01T00:00:00+08:00"
    assert p.end.isoformat() == "2026-02-03T00:00:00+08:00"


# the first and last days Python's dates hold: a period reaching past them was an OverflowError (a 500)
@pytest.mark.parametrize(
    ("first", "last", "pointer"),
    [
        (None, dt.date.min, "/to"),
        (dt.date.min, dt.date.min, "/from"),
        (dt.date.max, dt.date.max, "/to"),
        (None, dt.date.max, "/to"),
    ],
)
def test_a_period_past_the_calendar_is_refused(first, last, pointer):
    with pytest.raises(InvalidRecord) as refused:
        period(first, last, "Asia/Shanghai", now=NOW)
    assert refused.value.context["pointer"] == pointer
