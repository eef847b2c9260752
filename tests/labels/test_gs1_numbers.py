import pytest

from udipick.domain.errors import InvalidGtin, InvalidSscc
from udipick.domain.gs1_numbers import gs1_check_digit, make_sscc, sscc_check_digit, validate_gtin14, validate_sscc


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("0950110153000", 3),  # GTIN-14 09501101530003 without its leading zero
        ("629104150021", 3),  # GTIN-13 6291041500213
        ("00950110100000001", 8),
        ("37610425002123456", 9),  # GS1 General Specifications SSCC example 376104250021234569
    ],
)
def test_check_digit_is_gs1_mod_10(digits, check):
    assert gs1_check_digit(digits) == check


def test_check_digit_agrees_with_biip_for_every_length():
    import random

    from biip.checksums import gs1_standard_check_digit

    rng = random.Random(7)
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        assert gs1_check_digit(digits) == gs1_standard_check_digit(digits), digits


@pytest.mark.parametrize("digits", ["", "12a4", "１２３", "٣٤"])
def test_check_digit_needs_ascii_digits(digits):
    with pytest.raises(ValueError):
        gs1_check_digit(digits)


def test_sscc_check_digit_needs_17_digits():
    with pytest.raises(InvalidSscc):
        sscc_check_digit("1234")


def test_make_sscc_pads_the_serial_reference_and_appends_the_check_digit():
    assert make_sscc(3, "7610425", 2123456) == "376104250021234569"
    assert make_sscc("0", "0950110", "1") == "009501100000000011"


@pytest.mark.parametrize(
    ("extension", "prefix", "serial"),
    [(10, "0950110", 1), ("0", "123", 1), ("0", "0950110", "1234567890")],
)
def test_make_sscc_refuses_what_does_not_fit(extension, prefix, serial):
    with pytest.raises(InvalidSscc):
        make_sscc(extension, prefix, serial)


def test_validate_sscc_names_the_expected_check_digit():
    assert validate_sscc("376104250021234569") == "376104250021234569"
    with pytest.raises(InvalidSscc, match="Expected 9, got 8") as info:
        validate_sscc("376104250021234568")
    assert info.value.context["expected"] == 9


@pytest.mark.parametrize("bad", ["37610425002123456", "3761042500212345690", "37610425002123456A", ""])
def test_validate_sscc_wants_18_digits(bad):
    with pytest.raises(InvalidSscc):
        validate_sscc(bad)


def test_validate_gtin14_pads_and_checks():
    assert validate_gtin14("6291041500213") == "06291041500213"
    with pytest.raises(InvalidGtin, match="Expected 3, got 4"):
        validate_gtin14("6291041500214")
