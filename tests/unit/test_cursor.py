"""A stream position an ERP sends back is one udipick gave out, or it is refused with ``invalid-cursor``."""

from __future__ import annotations

import pytest

from udipick.domain.cursor import MAX_POSITION, parse_cursor
from udipick.domain.errors import InvalidCursor

HEAD = 42


@pytest.mark.parametrize(
    ("raw", "head", "expected"),
    [
        ("0", 0, 0),  # an empty stream: only "from the start"
        ("0", HEAD, 0),
        ("7", HEAD, 7),
        ("42", HEAD, 42),  # the head itself: nothing new yet, not an error
        ("007", HEAD, 7),  # leading zeros name the same position
        ("0000000000000000000000000", HEAD, 0),  # however many
        (str(MAX_POSITION), MAX_POSITION, MAX_POSITION),  # the last bigint, on a stream that got there
    ],
)
def test_a_position_udipick_gave_out_is_read(raw, head, expected):
    assert parse_cursor(raw, head=head) == expected


@pytest.mark.parametrize(
    ("raw", "head", "says"),
    [
        ("", HEAD, "ASCII digits"),
        ("-1", HEAD, "ASCII digits"),
        ("+3", HEAD, "ASCII digits"),
        (" 3", HEAD, "ASCII digits"),  # int() would strip the blank
        ("3 ", HEAD, "ASCII digits"),
        ("1_000", HEAD, "ASCII digits"),  # int() reads underscores between digits
        ("3.0", HEAD, "ASCII digits"),
        ("0x10", HEAD, "ASCII digits"),
        ("yesterday", HEAD, "ASCII digits"),
        ("٣", HEAD, "ASCII digits"),  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
        ("３", HEAD, "ASCII digits"),  # FULLWIDTH DIGIT THREE
        ("१२", HEAD, "ASCII digits"),  # DEVANAGARI
        ("²", HEAD, "ASCII digits"),  # SUPERSCRIPT TWO (str.isdigit() says yes)
        ("43", HEAD, "beyond the newest position 42"),
        ("1", 0, "beyond the newest position 0"),
        (str(MAX_POSITION), HEAD, "beyond the newest position"),
        (str(MAX_POSITION + 1), MAX_POSITION, "beyond any position PostgreSQL can hold"),
        ("1" * 40, HEAD, "beyond any position PostgreSQL can hold"),  # used to end a WebSocket with DataError
        ("9" * 5000, HEAD, "beyond any position PostgreSQL can hold"),  # past int()'s 4300-digit limit
    ],
)
def test_anything_else_is_refused_saying_what_a_position_is(raw, head, says):
    with pytest.raises(InvalidCursor) as refused:
        parse_cursor(raw, head=head)
    assert says in refused.value.message
    assert refused.value.code == "invalid-cursor"
    assert refused.value.context["head"] == head
    assert len(refused.value.context["after"]) <= 40


def test_the_refusal_names_the_parameter_and_the_range():
    with pytest.raises(InvalidCursor, match=r"^from must be a stream position from 0 to 5 in ASCII digits, got 'x'$"):
        parse_cursor("x", head=5, name="from")
