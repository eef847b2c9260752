"""China GSP blocks as tables (domain/regulatory.py): which certificate blocks what, on which day."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain import errors as e
from udipick.domain.regulatory import (
    CustomerFacts,
    ProductFacts,
    SupplierFacts,
    exception_scope,
    first_unwaived,
    order_blocks,
    product_blocks,
    receipt_blocks,
    supplier_blocks,
)

ON = dt.date(2026, 12, 6)
DAY = dt.timedelta(days=1)
SUP = SupplierFacts("SUP-1", "MedTec", True, "沪食药监械经营许20190001号", ON + 100 * DAY)
PROD = ProductFacts("ITEM-1", "Stent", True, "国械注准20153460123", "III", ON + 100 * DAY)
CUST = CustomerFacts("CUST-1", "上海市第一人民医院", "沪食药监械经营许20200002号", ON + 10 * DAY)


def _codes(blocks: list[e.RegulatoryBlock]) -> list[str]:
    return [b.code for b in blocks]


@pytest.mark.parametrize(
    ("approved", "licence_no", "valid_until", "codes"),
    [
        (True, "L-1", ON + DAY, []),
        (True, "L-1", ON, []),  # the last valid day is still valid
        (True, "L-1", None, []),  # a filing (备案) has no end
        (True, "L-1", ON - DAY, ["supplier-licence-expired"]),
        (False, "L-1", ON + DAY, ["supplier-not-approved"]),
        (True, None, None, ["supplier-licence-missing"]),
        (True, None, ON - DAY, ["supplier-licence-missing"]),  # a date without a number is no licence
        (False, None, None, ["supplier-not-approved", "supplier-licence-missing"]),
        (False, "L-1", ON - DAY, ["supplier-not-approved", "supplier-licence-expired"]),
    ],
)
def test_supplier_blocks(approved: bool, licence_no: str | None, valid_until: dt.date | None, codes: list[str]) -> None:
    supplier = SupplierFacts("SUP-1", "MedTec", approved, licence_no, valid_until)
    assert _codes(supplier_blocks(supplier, on=ON)) == codes


def test_an_expired_supplier_licence_names_the_licence_and_its_dates() -> None:
    supplier = SupplierFacts("SUP-1", "MedTec", True, "沪械经营许1号", dt.date(2026, 12, 5))
    [block] = supplier_blocks(supplier, on=ON)
    assert block.context == {
        "supplier": "SUP-1",
        "supplierName": "MedTec",
        "licenceNo": "沪械经营许1号",
        "validUntil": "2026-12-05",
        "on": "2026-12-06",
    }
    assert "沪械经营许1号" in block.message and "2026-12-05" in block.message


def test_a_receipt_naming_no_supplier_is_blocked_as_unapproved() -> None:
    [block] = supplier_blocks(None, on=ON)
    assert block.code == "supplier-not-approved" and block.context["supplier"] is None


@pytest.mark.parametrize(
    ("approved", "registration_no", "device_class", "valid_until", "codes"),
    [
        (True, "国械注准1", "III", ON + DAY, []),
        (True, "国械注准1", "III", ON, []),
        (True, "国械注准1", "II", ON - DAY, ["registration-expired"]),
        (True, "国械注准1", "III", None, ["registration-missing"]),  # a certificate runs five years
        (True, "国械注准1", "II", None, ["registration-missing"]),
        (True, "沪械备1", "I", None, []),  # a class I filing has no end
        (True, "沪械备1", "I", ON - DAY, ["registration-expired"]),  # an end the ERP gives is checked
        (True, "X-1", None, None, []),  # class unknown and no end date: nothing to check against
        (True, None, "I", None, ["registration-missing"]),
        (True, None, "III", ON + DAY, ["registration-missing"]),
        (False, "国械注准1", "III", ON + DAY, ["item-not-approved"]),
        (False, None, "III", None, ["item-not-approved", "registration-missing"]),
        (False, "国械注准1", "III", ON - DAY, ["item-not-approved", "registration-expired"]),
    ],
)
def test_product_blocks(
    approved: bool, registration_no: str | None, device_class: str | None, valid_until: dt.date | None, codes: list[str]
) -> None:
    product = ProductFacts("ITEM-1", "Stent", approved, registration_no, device_class, valid_until)
    assert _codes(product_blocks(product, on=ON)) == codes


def test_a_registration_block_says_what_is_missing_or_when_it_expired() -> None:
    missing_date = ProductFacts("ITEM-1", "Stent", True, "国械注准1", "III", None)
    assert product_blocks(missing_date, on=ON)[0].context == {
        "item": "ITEM-1",
        "name": "Stent",
        "deviceClass": "III",
        "missing": "validUntil",
        "registrationNo": "国械注准1",
    }
    expired = ProductFacts("ITEM-1", "Stent", True, "国械注准1", "III", dt.date(2026, 1, 31))
    assert product_blocks(expired, on=ON)[0].context == {
        "item": "ITEM-1",
        "name": "Stent",
        "registrationNo": "国械注准1",
        "validUntil": "2026-01-31",
        "on": "2026-12-06",
    }


def test_receipt_blocks_list_the_suppliers_first() -> None:
    supplier = SupplierFacts("SUP-1", "MedTec", False, "L", None)
    product = ProductFacts("ITEM-1", "Stent", False, "R", "I", None)
    assert _codes(receipt_blocks(supplier, product, on=ON)) == ["supplier-not-approved", "item-not-approved"]
    assert receipt_blocks(SUP, PROD, on=ON) == []


@pytest.mark.parametrize(
    ("licence_no", "valid_until", "on", "codes"),
    [
        ("L", ON + DAY, ON, []),
        ("L", ON, ON, []),
        ("L", None, ON, []),
        ("L", ON - DAY, ON, ["customer-licence-expired"]),
        (None, None, ON, ["customer-licence-missing"]),
        (None, ON + DAY, ON, ["customer-licence-missing"]),
    ],
)
def test_order_blocks(licence_no: str | None, valid_until: dt.date | None, on: dt.date, codes: list[str]) -> None:
    customer = CustomerFacts("CUST-1", "Clinic", licence_no, valid_until)
    blocks = order_blocks(customer, order="SO-1", on=on)
    assert _codes(blocks) == codes
    assert all(b.context["order"] == "SO-1" and b.context["customer"] == "CUST-1" for b in blocks)


@pytest.mark.parametrize(
    ("codes", "waived", "first"),
    [
        ([], set(), None),
        (["supplier-not-approved", "item-not-approved"], set(), "supplier-not-approved"),
        (["supplier-not-approved", "item-not-approved"], {"supplier-not-approved"}, "item-not-approved"),
        (["supplier-not-approved", "item-not-approved"], {"supplier-not-approved", "item-not-approved"}, None),
        (
            ["registration-expired"],
            {"registration-missing"},
            "registration-expired",
        ),  # an exception covers its code only
    ],
)
def test_an_exception_lets_through_only_the_block_it_names(
    codes: list[str], waived: set[str], first: str | None
) -> None:
    by_code = {cls.code: cls for cls in e.RegulatoryBlock.__subclasses__()}
    blocks = [by_code[c]("x") for c in codes]
    found = first_unwaived(blocks, waived)
    assert (found.code if found else None) == first


@pytest.mark.parametrize(
    ("code", "item", "scope"),
    [
        ("supplier-not-approved", None, None),
        ("supplier-licence-expired", "ITEM-1", None),  # a supplier's block covers the receipt, not one item
        ("item-not-approved", "ITEM-1", "ITEM-1"),
        ("registration-expired", "ITEM-1", "ITEM-1"),
    ],
)
def test_exception_scope(code: str, item: str | None, scope: str | None) -> None:
    assert exception_scope(code, item=item) == scope


@pytest.mark.parametrize(
    ("code", "item"), [("registration-missing", None), ("customer-licence-expired", None), ("x", "I")]
)
def test_exception_scope_refuses(code: str, item: str | None) -> None:
    with pytest.raises(e.InvalidRecord):
        exception_scope(code, item=item)
