"""Labels: ZPL rendering from editable templates, previews, and raw TCP printing.

Pure functions, no database: the print-job table, printer registry and HTTP endpoints build
on ``render_label``, ``render_png`` and ``send_zpl_with_retry``.
"""

from udipick.integrations.labels.printer import backoff_delay, send_zpl, send_zpl_with_retry
from udipick.integrations.labels.render import (
    DEFAULT_UNICODE_FONT,
    available_labels,
    font_download_zpl,
    label_dots,
    render_label,
)

__all__ = [
    "DEFAULT_UNICODE_FONT",
    "available_labels",
    "backoff_delay",
    "font_download_zpl",
    "label_dots",
    "render_label",
    "send_zpl",
    "send_zpl_with_retry",
]
