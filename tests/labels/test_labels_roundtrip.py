"""Every template at every size and dpi, rendered from its real ZPL by zplkit and decoded by
zxing-cpp, scans back to exactly the data it was made from."""

import datetime as dt

import pytest

from udipick.domain.barcodes import interpret
from udipick.domain.errors import InvalidLabelData
from udipick.domain.gs1_numbers import make_sscc
from udipick.integrations.labels.render import available_labels, render_label

LABELS = available_labels()

ITEMS = {
    "letters-dashes-20-char-serial": (
        dict(
            gtin="09501101530003",
            lot="Ab-12x/3",
            expiry=dt.date(2026, 12, 31),
            serial="SN12345678901234567X",
            item_name="Sterile syringe 5 ml",
        ),
        "(01)09501101530003(17)261231(10)Ab-12x/3(21)SN12345678901234567X",
        "0109501101530003172612311" + "0Ab-12x/3\x1d21SN12345678901234567X",
    ),
    "odd-length-numeric-lot-and-serial": (
        dict(gtin="9501101530003", lot="12345", serial="1234567", expiry="270600"),
        "(01)09501101530003(17)270600(10)12345(21)1234567",
        "010950110153000317270600" + "1012345\x1d211234567",
    ),
    "set-82-specials-20-char-lot": (
        dict(gtin="09501101530003", lot="A_B>C%1&<=?'*+,.:;\"", item_name="一次性使用无菌注射器"),
        "(01)09501101530003(10)A_B>C%1&<=?'*+,.:;\"",
        "0109501101530003" + "10A_B>C%1&<=?'*+,.:;\"",
    ),
    "gtin-only": (dict(gtin="09501101530003"), "(01)09501101530003", "0109501101530003"),
}


@pytest.mark.parametrize(("size", "dpi"), [(s, d) for k, s, d in LABELS if k == "item"])
@pytest.mark.parametrize("case", ITEMS)
def test_item_label_datamatrix_scans_back_to_the_source_data(case, size, dpi, decode):
    data, hri, element_string = ITEMS[case]
    zpl = render_label("item", data, size=size, dpi=dpi)
    assert decode(zpl, size=size, dpi=dpi) == [("]d2", hri, element_string)]


MA_ITEMS = {
    "lot-expiry-serial": (
        dict(
            ma_di="MA.156.M0.100001.10000012",
            lot="LOT20261",
            expiry=dt.date(2029, 1, 31),
            serial="SN0001",
            item_name="一次性使用无菌注射器",
        ),
        "MA.156.M0.100001.10000012.LLOT20261.SSN0001.E20290131",
        dict(di="MA.156.M0.100001.10000012", lot="LOT20261", serial="SN0001", expiry=dt.date(2029, 1, 31)),
    ),
    "di-only": (
        dict(ma_di="MA.156.M0.100001.20000013", gtin="09501101530003"),  # the MA DI wins: the item is MA's
        "MA.156.M0.100001.20000013",
        dict(di="MA.156.M0.100001.20000013", lot=None, serial=None, expiry=None),
    ),
}


@pytest.mark.parametrize(("size", "dpi"), [(s, d) for k, s, d in LABELS if k == "item"])
@pytest.mark.parametrize("case", MA_ITEMS)
def test_ma_item_label_scans_back_to_its_ma_code_and_reads_as_the_data(case, size, dpi, decode):
    data, code, fields = MA_ITEMS[case]
    zpl = render_label("item", data, size=size, dpi=dpi)
    [(symbology, hri, plain)] = decode(zpl, size=size, dpi=dpi)
    assert (symbology, hri, plain) == ("]d1", code, code)  # Data Matrix, not GS1 (no FNC1)
    scan = interpret(symbology + plain, today=dt.date(2026, 12, 6))
    assert scan.kind == "ma"
    assert dict(di=scan.di, lot=scan.lot, serial=scan.serial, expiry=scan.expiry) == fields


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (dict(ma_di="MA.156.M0.100001.1000001"), "ma_di"),  # product code of 7
        (dict(ma_di="MA.156.M0.100001.10000012", lot="A-1"), "lot"),  # "-" is not in an MA text field
        (dict(ma_di="MA.156.M0.100001.10000012", expiry="290100"), "expiry"),  # day 00
    ],
)
def test_an_ma_label_that_could_not_read_back_is_refused(data, field):
    with pytest.raises(InvalidLabelData) as err:
        render_label("item", data, size="4x6", dpi=203)
    assert err.value.context["field"] == field


AHM_ITEMS = {
    "lot-expiry-serial-20-char": (
        dict(
            ahm_di="AHM.1000001.2000001",
            lot="BN20240101A",
            expiry=dt.date(2029, 1, 1),
            serial="SN345678901234567890",
            item_name="医用纱布 (AHM)",
        ),
        "AHM.1000001.2000001.BNBN20240101A.SNSN345678901234567890.ED20290101",
        dict(di="AHM.1000001.2000001", lot="BN20240101A", serial="SN345678901234567890", expiry=dt.date(2029, 1, 1)),
    ),
    "expiry-only": (
        dict(ahm_di="AHM.A7.P99", expiry="2030-02-28"),
        "AHM.A7.P99.ED20300228",
        dict(di="AHM.A7.P99", lot=None, serial=None, expiry=dt.date(2030, 2, 28)),
    ),
    "di-only": (
        dict(ahm_di="AHM.1000001.2000002", gtin="09501101530003"),  # the AHM DI wins: the item is AHM's
        "AHM.1000001.2000002",
        dict(di="AHM.1000001.2000002", lot=None, serial=None, expiry=None),
    ),
}


@pytest.mark.parametrize(("size", "dpi"), [(s, d) for k, s, d in LABELS if k == "item"])
@pytest.mark.parametrize("case", AHM_ITEMS)
def test_ahm_item_label_scans_back_to_its_ahm_code_and_reads_as_the_data(case, size, dpi, decode):
    data, code, fields = AHM_ITEMS[case]
    zpl = render_label("item", data, size=size, dpi=dpi)
    [(symbology, hri, plain)] = decode(zpl, size=size, dpi=dpi)
    assert (symbology, hri, plain) == ("]d1", code, code)  # Data Matrix, not GS1 (no FNC1)
    scan = interpret(symbology + plain, today=dt.date(2026, 12, 6))
    assert scan.kind == "ahm"
    assert dict(di=scan.di, lot=scan.lot, serial=scan.serial, expiry=scan.expiry) == fields


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (dict(ahm_di="AHM.1000001"), "ahm_di"),  # no product code
        (dict(ahm_di="AHM.1000001.BN2"), "ahm_di"),  # a product code read as data unit .BN
        (dict(ahm_di="AHM.1000-1.2000001"), "ahm_di"),  # "-" is not in an AHM DI
        (dict(ahm_di="MA.156.M0.100001.10000012"), "ahm_di"),  # an MA DI is not AHM's
        (dict(ahm_di="AHM.1000001.2000001", lot="A-1"), "lot"),  # "-" is not in an AHM text field
        (dict(ahm_di="AHM.1000001.2000001", serial="S" * 21), "serial"),  # longer than 20
        (dict(ahm_di="AHM.1000001.2000001", expiry="290100"), "expiry"),  # day 00
    ],
)
def test_an_ahm_label_that_could_not_read_back_is_refused(data, field):
    with pytest.raises(InvalidLabelData) as err:
        render_label("item", data, size="4x6", dpi=203)
    assert err.value.context["field"] == field


SSCC = make_sscc(3, "0950110", 153)  # 30950110000000153 + check digit 8
SSCC_CASES = {
    "full-20-char-alphanumeric-lot-8-digit-count": (
        dict(
            sscc=SSCC,
            content_gtin="09501101530003",
            count="12345678",
            lot="ABCDEFGHIJ0123456789",
            expiry=dt.date(2027, 1, 31),
            from_name="上海医疗器械有限公司",
            to_name="北京协和医院",
            to_address="东城区帅府园1号\n北京 100730",
            carrier_name="SF",
        ),
        [
            ("]C1", "(02)09501101530003(37)12345678", "020950110153000337" + "12345678"),
            ("]C1", "(17)270131(10)ABCDEFGHIJ0123456789", "1727013110ABCDEFGHIJ0123456789"),
        ],
    ),
    "odd-count-odd-numeric-lot": (
        dict(sscc=SSCC, content_gtin="09501101530003", count="7", lot="12345"),
        [("]C1", "(02)09501101530003(37)7", "0209501101530003377"), ("]C1", "(10)12345", "1012345")],
    ),
    "sscc-only": (dict(sscc=SSCC), []),
}


@pytest.mark.parametrize(("size", "dpi"), [(s, d) for k, s, d in LABELS if k == "sscc"])
@pytest.mark.parametrize("case", SSCC_CASES)
def test_sscc_label_gs1_128_scans_back_to_the_source_data(case, size, dpi, decode):
    data, others = SSCC_CASES[case]
    assert SSCC == "309501100000001538"
    zpl = render_label("sscc", data, size=size, dpi=dpi)
    expected = [("]C1", f"(00){SSCC}", f"00{SSCC}")]
    if size == "4x6":  # 4x2 has no room for the (02)(37) and (17)(10) symbols: text only
        expected += others
    assert decode(zpl, size=size, dpi=dpi) == sorted(expected)


CODES = {"location": ["A-01-02-03", "12345", "rack_7:b+1"], "lpn": ["LPN0000012345", "0012345678"]}


@pytest.mark.parametrize(
    ("kind", "code", "size", "dpi"),
    [(k, c, s, d) for k, s, d in LABELS if k in CODES for c in CODES[k]],
)
def test_location_and_lpn_labels_scan_back_to_the_code(kind, code, size, dpi, decode):
    key = "code" if kind == "location" else "lpn"
    zpl = render_label(kind, {key: code, "description": "冷藏区 2-8°C"}, size=size, dpi=dpi)
    assert decode(zpl, size=size, dpi=dpi) == sorted([("]C0", code, code), ("]d1", code, code)])


def test_every_kind_size_and_dpi_combination_is_offered():
    assert LABELS == [
        (kind, size, dpi)
        for kind, sizes in {
            "item": ("4x6", "4x2", "2x1"),
            "sscc": ("4x6", "4x2"),
            "location": ("4x6", "4x2", "2x1"),
            "lpn": ("4x6", "4x2", "2x1"),
        }.items()
        for size in sizes
        for dpi in (203, 300)
    ]
