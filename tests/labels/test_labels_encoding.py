import pytest

from udipick.domain.errors import InvalidLabelData
from udipick.integrations.labels.encoding import (
    Gs1Element,
    code128_data,
    escape_text,
    gs1_128_data,
    gs1_datamatrix_data,
    gs1_element_string,
)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("ABC 123-x", "ABC 123-x"),
        ("^XZ~JA", "_5EXZ_7EJA"),
        ("a_b\\c", "a_5Fb_5Cc"),
        ("上海", "_E4_B8_8A_E6_B5_B7"),
        ("line1\nline2\t\x00", "line1 line2  "),
        ("2-8°C", "2-8_C2_B0C"),
    ],
)
def test_text_is_escaped_for_fh_underscore(text, escaped):
    assert escape_text(text) == escaped


def test_escaped_text_holds_no_zpl_command_characters():
    hostile = "^XA^FO0,0^GB800,800,800^FS^XZ~JA~DGR:A.GRF_5E\\&{}#>é中"
    out = escape_text(hostile)
    assert "^" not in out and "~" not in out and "\\" not in out
    assert out.isascii()


def test_fnc1_goes_first_and_after_variable_fields_only():
    elements = [
        Gs1Element("21", "S1"),
        Gs1Element("10", "L1"),
        Gs1Element("01", "09501101530003"),
        Gs1Element("17", "261231"),
    ]
    assert gs1_datamatrix_data(elements) == "#10109501101530003172612312" + "1S1#110L1"
    assert gs1_element_string(elements) == "010950110153000317261231" + "21S1\x1d10L1"


@pytest.mark.parametrize(
    ("elements", "zpl"),
    [
        ([("00", "095011010000000018")], ">;>800095011010000000018"),
        # odd count of digits: the last one goes in subset B, never dropped in C
        ([("01", "09501101530003"), ("10", "12345")], ">;>80109501101530003101234>65"),
        # short digit run then letters: start in B; a literal '>' is written >0
        ([("10", "AB>1")], ">:>810AB>01"),
        # long digit runs inside B switch to C (an odd run leaves its first digit in B)
        ([("10", "A123456")], ">:>810A>5123456"),
        ([("10", "A12345")], ">:>810A1>52345"),
        # FNC1 between a variable field and the next one
        ([("10", "X"), ("21", "12")], ">:>810X>8>52112"),
    ],
)
def test_gs1_128_subsets_keep_every_character(elements, zpl):
    assert gs1_128_data([Gs1Element(ai, v) for ai, v in elements]).zpl == zpl


def test_gs1_128_symbol_count_matches_the_encoding():
    data = gs1_128_data([Gs1Element("00", "095011010000000018")])
    assert data.symbols == 1 + 1 + 10 + 1  # start C, FNC1, ten pairs, check
    assert data.modules() == 11 * 13 + 13


def test_plain_code128_starts_in_c_for_even_digits_and_b_otherwise():
    assert code128_data("123456", field="code").zpl == ">;123456"
    assert code128_data("12345", field="code").zpl == ">;1234>65"
    assert code128_data("A-01", field="code").zpl == ">:A-01"


@pytest.mark.parametrize("value", ["", "A^B", "A~B", "A#B", "A B", "中", "X" * 21])
def test_internal_codes_refuse_what_a_scanner_would_not_type_back(value):
    with pytest.raises(InvalidLabelData):
        code128_data(value, field="code")


@pytest.mark.parametrize("value", ["A^B", "A~B", "A#B", "A B", "é", ""])
def test_gs1_data_must_be_in_character_set_82(value):
    with pytest.raises(InvalidLabelData):
        gs1_datamatrix_data([Gs1Element("10", value)])
