"""Whether a replayed ERP version carries the content udipick already holds.

An ERP record's ``version`` names one content. The same version again is a replay (at-least-once delivery,
a retried bulk load) and changes nothing; the same version with other content is the ERP's mistake (it
changed the record without raising the version), refused as ``version-reused`` with the first field that
differs, so the change is not dropped silently.

Both sides are plain JSON values (dicts, lists, strings, numbers, booleans, ``None``), the stored one read
back from PostgreSQL and the incoming one as udipick would store it (normalised: GTIN-14, ids resolved).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def first_difference(stored: Any, incoming: Any, pointer: str = "") -> str | None:
    """The JSON pointer of the first place ``incoming`` differs from ``stored``; ``None`` when equal.

    Mappings are compared key by key in ``incoming``'s order (the record's field order), then keys only
    ``stored`` has; lists item by item, then by length (pointer: the first extra or missing index).
    Numbers compare by value (``2`` equals ``2.0``: PostgreSQL's numeric reads back without the ``.0``).
    """
    if isinstance(stored, Mapping) and isinstance(incoming, Mapping):
        for key in [*incoming, *(k for k in stored if k not in incoming)]:
            found = first_difference(stored.get(key), incoming.get(key), f"{pointer}/{_escape(str(key))}")
            if found is not None:
                return found
        return None
    if _is_list(stored) and _is_list(incoming):
        for i, (a, b) in enumerate(zip(stored, incoming, strict=False)):
            found = first_difference(a, b, f"{pointer}/{i}")
            if found is not None:
                return found
        if len(stored) != len(incoming):
            return f"{pointer}/{min(len(stored), len(incoming))}"
        return None
    if isinstance(stored, bool) or isinstance(incoming, bool):
        return None if stored is incoming else pointer
    if isinstance(stored, int | float) and isinstance(incoming, int | float):
        return None if stored == incoming else pointer
    return None if stored == incoming and type(stored) is type(incoming) else pointer


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _escape(key: str) -> str:
    """RFC 6901: ``~`` and ``/`` in a key."""
    return key.replace("~", "~0").replace("/", "~1")
