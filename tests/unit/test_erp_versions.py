"""The first difference between the stored and the incoming content of one ERP version."""

from __future__ import annotations

import pytest

from udipick.domain.erp_versions import first_difference

ITEM = {"gtin": "04006381333931", "name": "Catheter", "lotTracked": True, "minTempC": 2, "packLevels": []}


@pytest.mark.parametrize(
    ("stored", "incoming", "pointer"),
    [
        (ITEM, dict(ITEM), None),
        (ITEM, {**ITEM, "minTempC": 2.0}, None),  # numeric reads back as 2
        (ITEM, {**ITEM, "name": "Catheter 2"}, "/name"),
        (ITEM, {**ITEM, "lotTracked": False}, "/lotTracked"),
        (ITEM, {**ITEM, "name": "x", "gtin": "1"}, "/gtin"),  # the record's field order decides which is first
        ({**ITEM, "minTempC": 1}, {**ITEM, "minTempC": True}, "/minTempC"),  # a boolean is not the number 1
        ({**ITEM, "minTempC": None}, ITEM, "/minTempC"),
        ({"a": 1, "b": 2}, {"a": 1}, "/b"),  # a field the incoming record no longer has
        ({"lines": [{"q": 1}, {"q": 2}]}, {"lines": [{"q": 1}, {"q": 3}]}, "/lines/1/q"),
        ({"lines": [{"q": 1}]}, {"lines": [{"q": 1}, {"q": 2}]}, "/lines/1"),
        ({"lines": [{"q": 1}, {"q": 2}]}, {"lines": [{"q": 1}]}, "/lines/1"),
        ({"a/b": 1}, {"a/b": 2}, "/a~1b"),
        ({"d": "2026-01-01"}, {"d": "2026-01-01"}, None),
        ({"d": "1"}, {"d": 1}, "/d"),
        (None, None, None),
    ],
)
def test_first_difference_names_the_first_field_that_differs(stored, incoming, pointer):
    assert first_difference(stored, incoming) == pointer
