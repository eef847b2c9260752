"""Stream positions an ERP sends back (``after=`` on the WebSocket stream, the NDJSON and EPCIS pulls).

A position is only ever one udipick gave out: a whole number from 0 (nothing yet) to the newest
position, the head. Anything else is refused rather than read generously:

- ASCII digits only. Python's ``int()`` also reads other scripts' digits (``int("٣") == 3``) and
  surrounding blanks, so a cursor a client mangled would silently point somewhere else.
- At most PostgreSQL's bigint (2^63 - 1); a longer number used to reach the driver and end the
  connection with an out-of-range error instead of an answer.
- Not beyond the head: the subscriber would skip every event up to it, without an error, forever.
"""

from __future__ import annotations

from udipick.domain.errors import InvalidCursor

#: the largest value of PostgreSQL's ``bigint``, the type of ``outbox_events.position``
MAX_POSITION = 2**63 - 1

_ASCII_DIGITS = frozenset("0123456789")


def parse_cursor(raw: str, *, head: int, name: str = "after") -> int:
    """The position ``raw`` names, if udipick can have given it out with the stream at ``head``."""
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    if not raw or not set(raw) <= _ASCII_DIGITS:
        raise InvalidCursor(
            f"{name} must be a stream position from 0 to {head} in ASCII digits, got {shown!r}", after=shown, head=head
        )
    # leading zeros are harmless; more than 19 significant digits cannot be a bigint (and spare int() a huge string)
    significant = raw.lstrip("0")
    if len(significant) > 19 or int(significant or "0") > MAX_POSITION:
        raise InvalidCursor(
            f"{name} must be a stream position from 0 to {head}; {shown} is beyond any position PostgreSQL can hold",
            after=shown,
            head=head,
        )
    position = int(significant or "0")
    if position > head:
        raise InvalidCursor(
            f"{name} {position} is beyond the newest position {head}: send the position of the last event you"
            " received (0 for everything)",
            after=shown,
            head=head,
        )
    return position
