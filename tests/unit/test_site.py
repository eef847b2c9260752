"""The site's GS1 identity: GLN checks and the EPC URIs a trading partner resolves (TDS 2.0 section 6.3.3)."""

from __future__ import annotations

import pytest

from udipick.domain.errors import InvalidGln
from udipick.domain.site import SiteIds, gln_extension, location_uri, party_uri, validate_gln


@pytest.mark.parametrize(
    ("gln", "reason", "message"),
    [
        ("0614141000006", "check-digit", "Invalid GLN check digit for '0614141000006': Expected 5, got 6."),
        ("061414100000", "length", "A GLN has 13 digits, got '061414100000'."),
        ("06141410000050", "length", "A GLN has 13 digits, got '06141410000050'."),
        ("061414100000٥", "length", "A GLN has 13 digits, got '061414100000٥'."),  # ARABIC-INDIC DIGIT FIVE
        ("0614141 00005", "length", "A GLN has 13 digits, got '0614141 00005'."),
    ],
)
def test_a_gln_is_13_digits_with_its_check_digit(gln, reason, message):
    with pytest.raises(InvalidGln) as refused:
        validate_gln(gln)
    assert str(refused.value) == message and refused.value.context["reason"] == reason


@pytest.mark.parametrize("gln", ["0614141000005", "6901234000016", "4012345000009"])
def test_valid_glns_pass_unchanged(gln):
    assert validate_gln(gln) == gln


@pytest.mark.parametrize(
    ("gln", "prefix", "field"),
    [
        ("0614141000005", "0614142", "gln"),  # not under this prefix
        ("0614141000005", "061", "gs1CompanyPrefix"),  # too short
        ("0614141000005", "0614141000005", "gs1CompanyPrefix"),  # longer than 12
        ("0614141000005", "06141a1", "gs1CompanyPrefix"),
        ("0614141000006", "0614141", "gln"),
    ],
)
def test_the_company_prefix_must_be_the_glns_own(gln, prefix, field):
    with pytest.raises(InvalidGln) as refused:
        SiteIds.parse(gln, prefix)
    assert refused.value.context["field"] == field


@pytest.mark.parametrize(
    ("gln", "prefix", "code", "sgln", "site", "pgln"),
    [
        # TDS 2.0 section 6.3.3's own example: GLN 0614141123452, prefix 0614141, extension 5678
        (
            "0614141123452",
            "0614141",
            "5678",
            "urn:epc:id:sgln:0614141.12345.5678",
            "urn:epc:id:sgln:0614141.12345.0",
            "urn:epc:id:pgln:0614141.12345",
        ),
        (
            "0614141000005",
            "0614141",
            "A-01-01",
            "urn:epc:id:sgln:0614141.00000.A-01-01",
            "urn:epc:id:sgln:0614141.00000.0",
            "urn:epc:id:pgln:0614141.00000",
        ),
        # a 12-digit prefix leaves an empty location reference
        (
            "6901234567892",
            "690123456789",
            "R1/2",
            "urn:epc:id:sgln:690123456789..R1%2F2",
            "urn:epc:id:sgln:690123456789..0",
            "urn:epc:id:pgln:690123456789.",
        ),
    ],
)
def test_sgln_and_pgln_split_the_gln_at_the_company_prefix(gln, prefix, code, sgln, site, pgln):
    ids = SiteIds.parse(gln, prefix)
    assert (ids.location_sgln(code), ids.sgln(), ids.pgln()) == (sgln, site, pgln)


@pytest.mark.parametrize(
    ("code", "extension"),
    [
        ("A-01-01", "A-01-01"),
        ("rack_7:b+1", "rack_7:b+1"),
        ('a"b%c&d/e<f>g?h', "a%22b%25c%26d%2Fe%3Cf%3Eg%3Fh"),
        ("12345678901234567890", "12345678901234567890"),
        ("123456789012345678901", None),  # 21 characters: AI 254 holds 20
        ("0", None),  # reserved for "no extension"
        ("冷库 1", None),
        ("A 01", None),
        ("", None),
        ("A#1", None),
    ],
)
def test_a_location_code_is_a_gln_extension_only_within_gs1_character_set_82(code, extension):
    assert gln_extension(code) == extension


def test_partners_glns_are_digital_link_uris():
    assert party_uri("6901234000016") == "https://id.gs1.org/417/6901234000016"
    assert location_uri("6901234000016") == "https://id.gs1.org/414/6901234000016"
