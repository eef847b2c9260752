"""``Value``: the base of udipick's immutable domain values (a scan, a stock row, a verdict).

A frozen msgspec Struct: equality, hashing, ``repr``, refusal to change, ``msgspec.structs.replace``, and
construction several times cheaper than a frozen dataclass's (a pick scan makes about a dozen values, hundreds of
times a second). ``gc=False``: values hold scalars, dates and tuples of other values, never a reference back, so
the cyclic garbage collector need not track them (a collection stops every request the process serves).
"""

from __future__ import annotations

from typing import dataclass_transform

import msgspec


# msgspec subclasses inherit ``frozen`` from their base at run time, but the ``dataclass_transform`` on
# ``msgspec.Struct`` tells a type checker that every subclass is mutable unless it says ``frozen=True`` itself.
# Declaring ``Value`` as a transform of its own, frozen by default, states the run-time truth once (PEP 681: the
# nearest decorated base wins), so subclasses stay ``class Candidate(Value):``.
@dataclass_transform(frozen_default=True, field_specifiers=(msgspec.field,))
class Value(msgspec.Struct, frozen=True, gc=False):
    """Subclass with annotated fields, as a dataclass: ``class Candidate(Value): stock_id: int ...``."""
