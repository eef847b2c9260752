"""Shared helpers for the label tests: render real ZPL with zplkit, decode with zxing-cpp."""

from __future__ import annotations

import pytest
import zxingcpp

from udipick.integrations.labels.preview import render_gray


def _decode(zpl: bytes, *, size: str, dpi: int) -> list[tuple[str, str, str]]:
    """(symbology identifier, HRI text, plain element string) of every barcode on the label, sorted.

    Also checks that each barcode lies wholly inside the label.
    """
    image = render_gray(zpl, size=size, dpi=dpi)
    found = []
    for hri, plain in zip(
        zxingcpp.read_barcodes(image), zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain), strict=True
    ):
        for point in (
            hri.position.top_left,
            hri.position.top_right,
            hri.position.bottom_left,
            hri.position.bottom_right,
        ):
            assert 0 <= point.x < image.width and 0 <= point.y < image.height, (hri.text, point)
        found.append((hri.symbology_identifier, hri.text, plain.text))
    return sorted(found)


@pytest.fixture
def decode():
    return _decode
