"""China GSP blocks (医疗器械经营质量管理规范, issue 22): who may be bought from, what may be received, who may be
sold to.

A distributor trades only with a supplier whose qualification it checked and approved before the first
business (首营企业审核: its business licence or filing), only in a product it approved the same way (首营品种审核:
its registration certificate or filing), and sells only to a customer that holds a valid business licence
or filing. The certificates run out: a supplier's licence or a product's registration that expired before
the goods arrive blocks the receipt, a customer's expired licence holds the order before it is allocated.

Each block is its own refusal (``domain.errors.RegulatoryBlock``), naming the certificate and the date, so
the receiver can say which paper is missing. QA may sign an exception for one receipt or order; the
exception names the refusal's ``code`` and lets only that one through (``waived``).

Dates: a certificate's ``valid_until`` is its last valid day (valid on that day, expired the day after).
A class I device is filed (备案), not registered, and a filing has no end: only a date the ERP gives is
checked. A class II or III registration certificate runs five years, so one without an end date is
incomplete master data, refused as ``registration-missing``. A licence without an end date is a filing
(经营备案), which does not expire either.

Standard library only; ``on`` (the arrival or allocation date) is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from udipick.domain import errors as e

#: the codes a receipt can be refused with, supplier's first: a supplier block stops every item
RECEIPT_CODES = (
    e.SupplierNotApproved.code,
    e.SupplierLicenceMissing.code,
    e.SupplierLicenceExpired.code,
    e.ItemNotApproved.code,
    e.RegistrationMissing.code,
    e.RegistrationExpired.code,
)
#: the codes that concern the supplier (an exception for them covers the whole receipt)
SUPPLIER_CODES = frozenset(RECEIPT_CODES[:3])
ORDER_CODES = (e.CustomerLicenceMissing.code, e.CustomerLicenceExpired.code)


@dataclass(frozen=True, slots=True)
class SupplierFacts:
    erp_id: str
    name: str
    #: first-business approval (首营企业) in force
    approved: bool
    licence_no: str | None
    licence_valid_until: dt.date | None


@dataclass(frozen=True, slots=True)
class ProductFacts:
    erp_id: str
    name: str
    #: first-business approval (首营品种) in force
    approved: bool
    registration_no: str | None
    device_class: str | None
    registration_valid_until: dt.date | None


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    erp_id: str
    name: str
    licence_no: str | None
    licence_valid_until: dt.date | None


def _iso(d: dt.date) -> str:
    return d.isoformat()


def supplier_blocks(supplier: SupplierFacts | None, *, on: dt.date) -> list[e.RegulatoryBlock]:
    """Why goods from ``supplier`` may not be received on ``on``; ``None``: a blind receipt naming no
    supplier, which cannot have been approved."""
    if supplier is None:
        return [
            e.SupplierNotApproved(
                "This receipt names no supplier: goods of unknown origin are not received. Name the supplier, or ask QA.",
                supplier=None,
                supplierName=None,
            )
        ]
    who = {"supplier": supplier.erp_id, "supplierName": supplier.name}
    blocks: list[e.RegulatoryBlock] = []
    if not supplier.approved:
        blocks.append(
            e.SupplierNotApproved(
                f"Supplier {supplier.name} ({supplier.erp_id}) has no first-business approval (首营企业): ask QA.",
                **who,
            )
        )
    if supplier.licence_no is None:
        blocks.append(
            e.SupplierLicenceMissing(
                f"Supplier {supplier.name} ({supplier.erp_id}) has no business licence or filing on record.", **who
            )
        )
    elif supplier.licence_valid_until is not None and on > supplier.licence_valid_until:
        blocks.append(
            e.SupplierLicenceExpired(
                f"Supplier {supplier.name}'s business licence {supplier.licence_no} expired on"
                f" {_iso(supplier.licence_valid_until)}.",
                **who,
                licenceNo=supplier.licence_no,
                validUntil=_iso(supplier.licence_valid_until),
                on=_iso(on),
            )
        )
    return blocks


def product_blocks(product: ProductFacts, *, on: dt.date) -> list[e.RegulatoryBlock]:
    """Why ``product`` may not be received on ``on``."""
    what = {"item": product.erp_id, "name": product.name}
    blocks: list[e.RegulatoryBlock] = []
    if not product.approved:
        blocks.append(
            e.ItemNotApproved(
                f"{product.name} ({product.erp_id}) has no first-business approval (首营品种): ask QA.", **what
            )
        )
    if product.registration_no is None:
        blocks.append(
            e.RegistrationMissing(
                f"{product.name} ({product.erp_id}) has no registration certificate or filing number on record.",
                **what,
                deviceClass=product.device_class,
                missing="registrationNo",
                registrationNo=None,
            )
        )
    elif product.registration_valid_until is None:
        if product.device_class in ("II", "III"):
            blocks.append(
                e.RegistrationMissing(
                    f"Registration certificate {product.registration_no} of {product.name} (class"
                    f" {product.device_class}) has no valid-until date on record.",
                    **what,
                    deviceClass=product.device_class,
                    missing="validUntil",
                    registrationNo=product.registration_no,
                )
            )
    elif on > product.registration_valid_until:
        blocks.append(
            e.RegistrationExpired(
                f"Registration certificate {product.registration_no} of {product.name} expired on"
                f" {_iso(product.registration_valid_until)}.",
                **what,
                registrationNo=product.registration_no,
                validUntil=_iso(product.registration_valid_until),
                on=_iso(on),
            )
        )
    return blocks


def receipt_blocks(supplier: SupplierFacts | None, product: ProductFacts, *, on: dt.date) -> list[e.RegulatoryBlock]:
    """Every reason the goods may not be received, supplier's first (in ``RECEIPT_CODES`` order)."""
    return [*supplier_blocks(supplier, on=on), *product_blocks(product, on=on)]


def order_blocks(customer: CustomerFacts, *, order: str, on: dt.date) -> list[e.RegulatoryBlock]:
    """Why a sales order for ``customer`` is held before allocation on ``on``."""
    who = {"order": order, "customer": customer.erp_id, "customerName": customer.name}
    if customer.licence_no is None:
        return [
            e.CustomerLicenceMissing(
                f"Order {order} is held: customer {customer.name} ({customer.erp_id}) has no business licence or"
                " filing on record.",
                **who,
            )
        ]
    if customer.licence_valid_until is not None and on > customer.licence_valid_until:
        return [
            e.CustomerLicenceExpired(
                f"Order {order} is held: customer {customer.name}'s business licence {customer.licence_no} expired"
                f" on {_iso(customer.licence_valid_until)}.",
                **who,
                licenceNo=customer.licence_no,
                validUntil=_iso(customer.licence_valid_until),
                on=_iso(on),
            )
        ]
    return []


def first_unwaived(blocks: Sequence[e.RegulatoryBlock], waived: Collection[str]) -> e.RegulatoryBlock | None:
    """The first block no QA exception lets through: a signed exception names the one refusal it covers."""
    return next((b for b in blocks if b.code not in waived), None)


def exception_scope(code: str, *, item: str | None) -> str | None:
    """What a receipt's exception for ``code`` covers: ``None`` (the whole receipt) for a supplier's block,
    else the item; raises for a code that is no receipt block or an item block named without its item."""
    if code not in RECEIPT_CODES:
        raise e.InvalidRecord(f"{code!r} is not a receiving block: one of {', '.join(RECEIPT_CODES)}", pointer="/code")
    if code in SUPPLIER_CODES:
        return None
    if item is None:
        raise e.InvalidRecord(f"an exception for {code} names the item it lets through", pointer="/item")
    return item
