"""udipick's own labels: locations, licence plates (LPN), totes and user badges.

They are told apart by a configurable prefix; the rest of the data is the code.
"""

from __future__ import annotations

from typing import Literal

from udipick.domain.barcodes.faults import Fault
from udipick.domain.barcodes.scan import ScanConfig

#: the :data:`~udipick.domain.barcodes.scan.ScanKind` of each of udipick's own labels
InternalKind = Literal["location", "lpn", "tote", "badge"]

_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._/")


def match_internal(text: str, config: ScanConfig) -> tuple[InternalKind, str] | None:
    """(kind, code) when ``text`` starts with one of the configured prefixes, else None."""
    prefixes: tuple[tuple[InternalKind, str], ...] = (
        ("location", config.location_prefix),
        ("lpn", config.lpn_prefix),
        ("tote", config.tote_prefix),
        ("badge", config.badge_prefix),
    )
    matching = [(kind, prefix) for kind, prefix in prefixes if prefix and text.startswith(prefix)]
    if not matching:
        return None
    # the longest prefix wins, so "LPN" and e.g. "LPNX-" could coexist
    kind, prefix = max(matching, key=lambda item: len(item[1]))
    code = text[len(prefix) :]
    if not code:
        raise Fault(f"{kind} label has no code after {prefix!r}", len(prefix))
    for i, ch in enumerate(code):
        if ch not in _ALLOWED:
            raise Fault(f"character {ch!r} is not allowed in a {kind} code", len(prefix) + i)
    return kind, code
