"""JSON from outside: the nesting-depth scan and the NDJSON line splitter, as tables and properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from udipick.domain import json_input
from udipick.domain.json_input import MAX_JSON_DEPTH, Line, NdjsonLines, json_depth, split_lines, too_deep


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"1", 0),
        (b'"[[["', 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["]", "[", "{{"]', 1),  # brackets inside strings do not nest
        (b'["a\\"[[", 1]', 1),  # nor after an escaped quote
        (b'["\\\\", [2]]', 2),  # an escaped backslash ends before the closing quote
        (b'[[["unterminated [[[[', 3),  # a decoder stops at the open string; so does the count
        (b"]]][[", 0),  # not JSON: the count never goes below what a decoder would reach
        ("[[\u00e9]]", 2),
        (b"[" * 1000 + b"]" * 1000, 1000),
    ],
)
def test_depth_counts_arrays_and_objects_outside_strings(raw, depth):
    assert json_depth(raw) == depth


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n'),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\k'), children, max_size=4)
    ),
    max_leaves=40,
)


@given(json_values, st.sampled_from([1, 2, 3, 5, 1 << 16]))
def test_depth_of_any_json_equals_the_depth_of_its_value_whatever_the_scan_block(value, block):
    original = json_input._BLOCK
    json_input._BLOCK = block
    try:
        assert json_depth(json.dumps(value).encode()) == _depth(value)
    finally:
        json_input._BLOCK = original


def test_too_deep_is_one_past_the_limit():
    def nested(depth: int) -> bytes:
        return b"[" * depth + b"]" * depth

    assert not too_deep(nested(MAX_JSON_DEPTH))
    assert too_deep(nested(MAX_JSON_DEPTH + 1))
    assert not too_deep(b'["' + b"[" * 1000 + b'"]')  # many brackets, all inside a string


BODY = b'{"a":1}\n\n{"b":[2]}\r\nTOO-LONG-LINE\n{"c":3}'
EXPECTED = [
    Line(1, b'{"a":1}', 7),
    Line(2, b"", 0),
    Line(3, b'{"b":[2]}\r', 10),
    Line(4, None, 13),
    Line(5, b'{"c":3}', 7),
]


def test_lines_are_numbered_from_one_and_a_long_line_keeps_only_its_length():
    assert split_lines([BODY], max_line_bytes=10) == EXPECTED
    assert split_lines([BODY + b"\n"], max_line_bytes=10) == EXPECTED  # a final newline adds no line
    assert split_lines([], max_line_bytes=10) == []


@pytest.mark.parametrize("cut", range(len(BODY) + 1))
def test_a_chunk_boundary_at_any_position_gives_the_same_lines(cut):
    assert split_lines([BODY[:cut], BODY[cut:]], max_line_bytes=10) == EXPECTED


def test_chunk_boundaries_at_any_two_positions_and_one_byte_chunks_give_the_same_lines():
    for i in range(len(BODY) + 1):
        for j in range(i, len(BODY) + 1):
            assert split_lines([BODY[:i], BODY[i:j], BODY[j:]], max_line_bytes=10) == EXPECTED, (i, j)
    assert split_lines([BODY[k : k + 1] for k in range(len(BODY))], max_line_bytes=10) == EXPECTED


def test_a_line_exactly_at_the_limit_is_kept():
    assert split_lines([b"12345\n123456\n"], max_line_bytes=5) == [Line(1, b"12345", 5), Line(2, None, 6)]


def test_a_long_line_is_not_kept_in_memory_while_it_arrives():
    lines = NdjsonLines(max_line_bytes=100)
    for _ in range(1000):
        assert lines.feed(b"x" * 1000) == []
    assert lines._parts == []  # only its length was counted
    assert lines.feed(b"\nok\n") == [Line(1, None, 1_000_000), Line(2, b"ok", 2)]
