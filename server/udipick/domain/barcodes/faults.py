"""The one internal failure the barcode parsers raise; ``interpret`` turns it into
:class:`~udipick.domain.errors.UnreadableBarcode` with the position in the raw input."""

from __future__ import annotations


class Fault(Exception):
    """``index`` is relative to the text the raising parser was given (``None``: not known)."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index

    def shifted(self, by: int) -> Fault:
        return Fault(self.reason, None if self.index is None else self.index + by)
