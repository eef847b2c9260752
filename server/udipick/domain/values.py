"""``Value``: the base of udipick's immutable domain values (a scan, a stock row, a verdict).

A frozen msgspec Struct: equality, hashing, ``repr``, refusal to change, ``msgspec.structs.replace``, and
construction several times cheaper than a frozen dataclass's (a pick scan makes about a dozen values, hundreds of
times a second). ``gc=False``: values hold scalars, dates and tuples of other values, never a reference back, so
the cyclic garbage collector need not track them (a collection stops every request the process serves).
"""

from __future__ import annotations

import msgspec


class Value(msgspec.Struct, frozen=True, gc=False):
    """Subclass with annotated fields, as a dataclass: ``class Candidate(Value): stock_id: int ...``."""
