"""China GSP (issue 22): first-business approvals, held orders and QA's signed exceptions, ``/api/v1/regulatory/...``.

QA approves or revokes a supplier (首营企业) or an item (首营品种), and lets one blocked receipt or sales
order through, each with an electronic signature (the password re-entered, 21 CFR Part 11 §11.200) and a
reason; the rules are ``domain/regulatory.py``, their effect is in receiving and the wave release.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from litestar import Request, Router, get, post
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from udipick.api.deps import CurrentActor, Db, allow, client_address, password_checks
from udipick.services import regulatory as svc
from udipick.services.regulatory import FirstBusinessStatus, HeldOrder, RegulatoryExceptionOut

#: who signs approvals and exceptions: quality assurance (GSP puts the first-business review with QA)
QA = allow("qa")
READERS = allow("qa", "supervisor", "admin")

Text = Annotated[str, Meta(min_length=1, max_length=500)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Password = Annotated[str, Meta(min_length=1, max_length=200)]


class SignedDecisionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    reason: Text
    #: the signer's password, re-entered (electronic signature)
    password: Password


class ReceiptExceptionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    #: the refusal to let through, e.g. ``registration-expired`` (a supplier's block covers the whole receipt)
    code: Literal[
        "supplier-not-approved",
        "supplier-licence-missing",
        "supplier-licence-expired",
        "item-not-approved",
        "registration-missing",
        "registration-expired",
    ]
    #: the item's ERP id; needed for an item's block
    item: Code | None = None
    reason: Text
    password: Password


class OrderExceptionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    code: Literal["customer-licence-missing", "customer-licence-expired"]
    reason: Text
    password: Password


async def _decide(
    subject: svc.Subject,
    erp_id: str,
    data: SignedDecisionIn,
    request: Request,
    db: Db,
    actor: CurrentActor,
    decision: str,
) -> FirstBusinessStatus:
    return await svc.decide_first_business(
        db,
        password_checks(request),
        actor,
        subject,
        erp_id,
        "approved" if decision == "approve" else "revoked",
        reason=data.reason,
        password=data.password,
        address=client_address(request),
        on=dt.date.today(),
    )


@get("/suppliers/{erp_id:str}/first-business", **READERS)
async def supplier_first_business(erp_id: FromPath[str], db: Db) -> FirstBusinessStatus:
    """A supplier's first-business approval (首营企业; newest decision first), its business licence and what
    would block receiving from it today."""
    return await svc.first_business_status(db, "supplier", erp_id, on=dt.date.today())


@get("/items/{erp_id:str}/first-business", **READERS)
async def item_first_business(erp_id: FromPath[str], db: Db) -> FirstBusinessStatus:
    """An item's first-business approval (首营品种; newest decision first), its registration certificate and
    what would block receiving it today."""
    return await svc.first_business_status(db, "item", erp_id, on=dt.date.today())


@post("/suppliers/{erp_id:str}/first-business/approve", status_code=200, **QA)
async def approve_supplier(
    erp_id: FromPath[str], data: JSONBody[SignedDecisionIn], request: Request, db: Db, actor: CurrentActor
) -> FirstBusinessStatus:
    """Approve a supplier for business (首营企业审核), signed by re-entering the password; emits
    ``first-business.approved.v1``."""
    return await _decide("supplier", erp_id, data, request, db, actor, "approve")


@post("/suppliers/{erp_id:str}/first-business/revoke", status_code=200, **QA)
async def revoke_supplier(
    erp_id: FromPath[str], data: JSONBody[SignedDecisionIn], request: Request, db: Db, actor: CurrentActor
) -> FirstBusinessStatus:
    """Revoke a supplier's approval (its goods are refused from the next scan), signed; emits
    ``first-business.revoked.v1``."""
    return await _decide("supplier", erp_id, data, request, db, actor, "revoke")


@post("/items/{erp_id:str}/first-business/approve", status_code=200, **QA)
async def approve_item(
    erp_id: FromPath[str], data: JSONBody[SignedDecisionIn], request: Request, db: Db, actor: CurrentActor
) -> FirstBusinessStatus:
    """Approve a product for business (首营品种审核), signed by re-entering the password; emits
    ``first-business.approved.v1``."""
    return await _decide("item", erp_id, data, request, db, actor, "approve")


@post("/items/{erp_id:str}/first-business/revoke", status_code=200, **QA)
async def revoke_item(
    erp_id: FromPath[str], data: JSONBody[SignedDecisionIn], request: Request, db: Db, actor: CurrentActor
) -> FirstBusinessStatus:
    """Revoke a product's approval (refused at receiving from the next scan), signed; emits
    ``first-business.revoked.v1``."""
    return await _decide("item", erp_id, data, request, db, actor, "revoke")


@post("/receipts/{receipt_id:int}/exceptions", status_code=201, **QA)
async def except_receipt(
    receipt_id: FromPath[int], data: JSONBody[ReceiptExceptionIn], request: Request, db: Db, actor: CurrentActor
) -> RegulatoryExceptionOut:
    """Let one GSP block through on one open receipt (an item's block for that item, a supplier's for the whole
    receipt), signed with a reason; the receiver's next scan goes through. Emits ``regulatory.exception-approved.v1``."""
    return await svc.except_receipt(
        db,
        password_checks(request),
        actor,
        receipt_id,
        code=data.code,
        item=data.item,
        reason=data.reason,
        password=data.password,
        address=client_address(request),
        on=dt.date.today(),
    )


@post("/orders/{order:str}/exceptions", status_code=201, **QA)
async def except_order(
    order: FromPath[str], data: JSONBody[OrderExceptionIn], request: Request, db: Db, actor: CurrentActor
) -> RegulatoryExceptionOut:
    """Let one sales order held by its customer's licence be allocated, signed with a reason."""
    return await svc.except_order(
        db,
        password_checks(request),
        actor,
        order,
        code=data.code,
        reason=data.reason,
        password=data.password,
        address=client_address(request),
        on=dt.date.today(),
    )


@get("/held-orders", **READERS)
async def held_orders(db: Db) -> list[HeldOrder]:
    """Sales orders a wave release leaves unallocated because of a customer's licence, with the reason."""
    return await svc.held_orders(db, on=dt.date.today())


@get("/exceptions", **READERS)
async def list_exceptions(db: Db) -> list[RegulatoryExceptionOut]:
    """QA's signed exceptions to the GSP blocks, newest first."""
    return await svc.list_exceptions(db)


regulatory_router = Router(
    path="/api/v1/regulatory",
    route_handlers=[
        supplier_first_business,
        item_first_business,
        approve_supplier,
        revoke_supplier,
        approve_item,
        revoke_item,
        except_receipt,
        except_order,
        held_orders,
        list_exceptions,
    ],
    tags=["GSP (China)"],
)
