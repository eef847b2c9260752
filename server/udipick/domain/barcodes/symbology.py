"""AIM symbology identifiers (ISO/IEC 15424): the ``]`` + code + modifier a scanner may prefix.

The identifier says whether the data is GS1 (FNC1 in first position) or plain; a scanner in
keyboard-wedge mode often sends none at all.
"""

from __future__ import annotations

#: code characters udipick knows: Code 39, Code 128, DataMatrix, QR, DataBar, EAN/UPC, ITF,
#: DotCode, PDF417, Aztec, Codabar, Code 93, Code 11
_KNOWN_CODES = frozenset("ACdQeEIJLzFGH")

#: GS1 element strings follow (FNC1 in first position)
GS1_MODES = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1", "]z1", "]L2"})

#: EAN/UPC: the data is a GTIN of exactly this many digits
GTIN_MODES = {"]E0": 13, "]E4": 8, "]I1": 14}


class SymbologyFault(ValueError):
    pass


def split_symbology(text: str) -> tuple[str | None, str]:
    """Return (AIM identifier or None, the data after it)."""
    if not text.startswith("]"):
        return None, text
    if len(text) < 3:
        raise SymbologyFault("symbology identifier is cut short")
    aim = text[:3]
    if aim[1] not in _KNOWN_CODES or not ("0" <= aim[2] <= "9"):
        raise SymbologyFault(f"unknown symbology identifier {aim!r}")
    return aim, text[3:]
