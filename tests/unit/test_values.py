"""``immutable`` values behave exactly as frozen, slotted dataclasses; only construction is cheaper."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from udipick.domain.values import immutable


@immutable
class Row:
    stock_id: int
    lot: str | None
    available: int = 0
    tags: tuple[str, ...] = dataclasses.field(default=())


@dataclasses.dataclass(frozen=True, slots=True)
class Plain:
    stock_id: int
    lot: str | None
    available: int = 0
    tags: tuple[str, ...] = dataclasses.field(default=())


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1, "L1"), {}), ((1, "L1", 5), {}), ((1,), {"lot": None, "tags": ("a",)}), ((), {"stock_id": 2, "lot": "L", "available": 3})],
)
def test_a_value_is_made_from_the_same_arguments_as_its_dataclass(args, kwargs):
    row, plain = Row(*args, **kwargs), Plain(*args, **kwargs)
    assert dataclasses.astuple(row) == dataclasses.astuple(plain)
    assert repr(row) == repr(plain).replace("Plain(", "Row(")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "L1", 5, (), 9), {}), ((1, "L1"), {"colour": "red"}), ((1, "L1"), {"stock_id": 2})],
)
def test_wrong_arguments_are_refused_as_the_dataclass_refuses_them(args, kwargs):
    with pytest.raises(TypeError) as row_error:
        Row(*args, **kwargs)
    with pytest.raises(TypeError) as plain_error:
        Plain(*args, **kwargs)
    assert str(row_error.value).replace("Row.", "") == str(plain_error.value).replace("Plain.", "")


def test_a_value_cannot_be_changed_and_compares_and_hashes_by_its_fields():
    row = Row(1, "L1", 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.available = 4  # type: ignore[misc]
    assert row == Row(1, "L1", 5) and row != Row(1, "L1", 4) and hash(row) == hash(Row(1, "L1", 5))
    assert dataclasses.replace(row, available=4) == Row(1, "L1", 4)
    assert [f.name for f in dataclasses.fields(Row)] == ["stock_id", "lot", "available", "tags"]
    assert not hasattr(row, "__dict__")
    assert pickle.loads(pickle.dumps(row)) == row
