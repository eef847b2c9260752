"""GTINs are stored and compared as GTIN-14 (GS1 General Specifications 3.3.2)."""

from __future__ import annotations

from biip import ParseError
from biip.gtin import Gtin

from udipick.domain.errors import InvalidGtin


def gtin14(value: str) -> str:
    """Validate the check digit and left-pad GTIN-8/12/13 to 14 digits."""
    try:
        return Gtin.parse(value.strip()).as_gtin_14()
    except ParseError as exc:
        raise InvalidGtin(str(exc), gtin=value) from None
