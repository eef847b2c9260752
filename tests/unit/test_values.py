"""Domain values (``domain.values.Value``) are immutable, compare and hash by their fields, and are made like dataclasses."""

from __future__ import annotations

import gc
import pickle

import msgspec
import pytest

from udipick.domain.values import Value


class Row(Value):
    stock_id: int
    lot: str | None
    available: int = 0
    tags: tuple[str, ...] = ()


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((1, "L1"), {}, (1, "L1", 0, ())),
        ((1, "L1", 5), {}, (1, "L1", 5, ())),
        ((1,), {"lot": None, "tags": ("a",)}, (1, None, 0, ("a",))),
        ((), {"stock_id": 2, "lot": "L", "available": 3}, (2, "L", 3, ())),
    ],
)
def test_a_value_is_made_from_positional_and_keyword_arguments_with_defaults(args, kwargs, expected):
    assert msgspec.structs.astuple(Row(*args, **kwargs)) == expected


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "L1", 5, (), 9), {}), ((1, "L1"), {"colour": "red"}), ((1, "L1"), {"stock_id": 2})],
)
def test_wrong_arguments_are_refused(args, kwargs):
    with pytest.raises(TypeError):
        Row(*args, **kwargs)


def test_a_value_cannot_be_changed_and_compares_and_hashes_by_its_fields():
    row = Row(1, "L1", 5)
    with pytest.raises(AttributeError):
        row.available = 4  # type: ignore[misc]
    assert row == Row(1, "L1", 5) and row != Row(1, "L1", 4) and hash(row) == hash(Row(1, "L1", 5))
    assert msgspec.structs.replace(row, available=4) == Row(1, "L1", 4)
    assert Row.__struct_fields__ == ("stock_id", "lot", "available", "tags")
    assert not hasattr(row, "__dict__")
    assert pickle.loads(pickle.dumps(row)) == row
    assert repr(row) == "Row(stock_id=1, lot='L1', available=5, tags=())"


def test_values_are_not_tracked_by_the_cyclic_garbage_collector():
    assert not gc.is_tracked(Row(1, "L1"))
