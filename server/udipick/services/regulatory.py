"""China GSP in udipick (issue 22): first-business approvals, the receiving and order blocks, QA's exceptions.

The rules are ``domain/regulatory.py``; this module loads their facts, writes the approvals and
exceptions, and answers what is held. The checks apply only where the site record turns them on
(``site_record.gsp_checks``, ``PUT /api/v1/admin/site`` with ``gspChecks``): a site outside China, or one
whose ERP does not send the certificates yet, is not blocked by master data it never had.

Approvals come two ways, both kept in ``first_business_decisions`` (newest row wins): QA signs one in udipick
(``decide_first_business``), or the ERP's master record says it approved (``firstBusinessApproved``, written
by ``erp_inbound`` when the ERP's word changes). A QA exception (``except_receipt``, ``except_order``) is an
e-signature (21 CFR Part 11 §11.200: the password re-entered) for one block on one receipt or order,
kept in ``regulatory_exceptions`` and the audit trail; the blocked scan or release then goes through.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models import Item, OutboundDocument, Supplier
from udipick.db.models_receiving import Receipt
from udipick.db.models_regulatory import FirstBusinessDecision, RegulatoryException
from udipick.domain import errors as e
from udipick.domain import regulatory as rules
from udipick.domain.access import Actor
from udipick.services.events import (
    FirstBusinessApproved,
    FirstBusinessRevoked,
    RegulatoryExceptionApproved,
    emit,
)
from udipick.services.identity import signed, verify_signature
from udipick.services.password_checks import PasswordChecks

Subject = Literal["supplier", "item"]
_MODEL: dict[str, Any] = {"supplier": Supplier, "item": Item}
_COLUMN = {"supplier": "supplier_id", "item": "item_id"}


def _receipt_number(receipt_id: int) -> str:
    return f"RCV-{receipt_id:06d}"  # as services.receiving.common.receipt_number (which imports the receiving package)


# ---- answers -----------------------------------------------------------------------------------------------


class FirstBusinessDecisionOut(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    decision: Literal["approved", "revoked"]
    #: ``qa``: signed in udipick; ``erp``: the ERP's master record said so
    source: Literal["qa", "erp"]
    decided_at: dt.datetime
    decided_by: str
    reason: str | None


class FirstBusinessStatus(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A supplier's or item's first-business approval, its certificate, and what would block it today."""

    subject: Subject
    erp_id: str
    name: str
    approved: bool
    #: the supplier's business licence or the item's registration certificate / filing number
    certificate_no: str | None
    valid_until: dt.date | None
    device_class: str | None
    #: problem codes receiving would meet today (when the site's GSP checks are on)
    blocks: list[str]
    #: newest first
    history: list[FirstBusinessDecisionOut]


class RegulatoryExceptionOut(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: int
    code: str
    receipt: str | None
    item: str | None
    order: str | None
    reason: str
    signed_by: str
    signed_at: dt.datetime


class HeldOrder(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A sales order held before allocation, and why (the problem a release of it meets)."""

    order: str
    customer: str
    customer_name: str
    code: str
    detail: str
    licence_no: str | None
    valid_until: dt.date | None


# ---- facts ----------------------------------------------------------------------------------------------


async def gsp_checks_on(session: AsyncSession) -> bool:
    """Whether this site enforces the GSP blocks; no site record: not."""
    return bool(await session.scalar(text("SELECT gsp_checks FROM site_record WHERE id = 1")))


def _approved_sql(column: str, id_expr: str) -> str:
    return (
        f"coalesce((SELECT fb.decision = 'approved' FROM first_business_decisions fb WHERE fb.{column} = {id_expr}"
        " ORDER BY fb.id DESC LIMIT 1), false)"
    )


async def supplier_facts(session: AsyncSession, supplier_id: int | None) -> rules.SupplierFacts | None:
    if supplier_id is None:
        return None
    r = (
        await session.execute(
            text(
                "SELECT s.erp_id, s.name, s.licence_no, s.licence_valid_until, "
                + _approved_sql("supplier_id", "s.id")
                + " AS approved FROM suppliers s WHERE s.id = :id"
            ),
            {"id": supplier_id},
        )
    ).one()
    return rules.SupplierFacts(r.erp_id, r.name, r.approved, r.licence_no, r.licence_valid_until)


async def product_facts(session: AsyncSession, item_id: int) -> rules.ProductFacts:
    r = (
        await session.execute(
            text(
                "SELECT i.erp_id, i.name, i.registration_no, i.device_class, i.registration_valid_until, "
                + _approved_sql("item_id", "i.id")
                + " AS approved FROM items i WHERE i.id = :id"
            ),
            {"id": item_id},
        )
    ).one()
    return rules.ProductFacts(
        r.erp_id, r.name, r.approved, r.registration_no, r.device_class, r.registration_valid_until
    )


async def _receipt_waivers(session: AsyncSession, receipt_id: int, item_id: int) -> set[str]:
    """Codes QA let through on this receipt for this item (an item's block) or for all of it (a supplier's)."""
    return set(
        (
            await session.scalars(
                select(RegulatoryException.code).where(
                    RegulatoryException.receipt_id == receipt_id,
                    (RegulatoryException.item_id.is_(None)) | (RegulatoryException.item_id == item_id),
                )
            )
        ).all()
    )


async def receipt_blocks(
    session: AsyncSession, *, supplier_id: int | None, item_id: int, on: dt.date
) -> list[e.RegulatoryBlock]:
    """Every GSP block receiving the item from the supplier meets on ``on``; none where the checks are off."""
    if not await gsp_checks_on(session):
        return []
    return rules.receipt_blocks(
        await supplier_facts(session, supplier_id), await product_facts(session, item_id), on=on
    )


async def check_receipt(
    session: AsyncSession, *, receipt_id: int, supplier_id: int | None, item_id: int, on: dt.date
) -> None:
    """Raise the first GSP block of receiving the item on this receipt that no QA exception lets through.
    Called at every goods scan, before anything is booked: an approval revoked mid-receipt stops the next scan."""
    blocks = await receipt_blocks(session, supplier_id=supplier_id, item_id=item_id, on=on)
    if not blocks:
        return
    refusal = rules.first_unwaived(blocks, await _receipt_waivers(session, receipt_id, item_id))
    if refusal is not None:
        raise refusal


_ORDER_FACTS = """
SELECT d.id, d.erp_id, c.erp_id AS customer, c.name, c.licence_no, c.licence_valid_until,
       coalesce((SELECT array_agg(x.code) FROM regulatory_exceptions x WHERE x.outbound_document_id = d.id), '{}')
         AS waived
  FROM outbound_documents d JOIN customers c ON c.id = d.customer_id
 WHERE d.id = ANY(CAST(:ids AS int[]))
"""


async def order_holds(session: AsyncSession, doc_ids: list[int], *, on: dt.date) -> dict[int, e.RegulatoryBlock]:
    """The sales orders (by id) held before allocation, each with the block that holds it."""
    if not doc_ids or not await gsp_checks_on(session):
        return {}
    held: dict[int, e.RegulatoryBlock] = {}
    for r in (await session.execute(text(_ORDER_FACTS), {"ids": doc_ids})).all():
        customer = rules.CustomerFacts(r.customer, r.name, r.licence_no, r.licence_valid_until)
        block = rules.first_unwaived(rules.order_blocks(customer, order=r.erp_id, on=on), r.waived)
        if block is not None:
            held[r.id] = block
    return held


def held_order_of(block: e.RegulatoryBlock) -> HeldOrder:
    c = block.context
    return HeldOrder(
        order=c["order"],
        customer=c["customer"],
        customer_name=c["customerName"],
        code=block.code,
        detail=block.message,
        licence_no=c.get("licenceNo"),
        valid_until=dt.date.fromisoformat(c["validUntil"]) if c.get("validUntil") else None,
    )


async def held_orders(db: async_sessionmaker, *, on: dt.date) -> list[HeldOrder]:
    """Sales orders with something left to allocate that a customer's licence holds (the supervisor's list)."""
    async with db() as session:
        ids = list(
            (
                await session.scalars(
                    text(
                        "SELECT d.id FROM outbound_documents d WHERE d.status IN ('open', 'released') AND EXISTS"
                        " (SELECT 1 FROM outbound_lines ol WHERE ol.document_id = d.id"
                        " AND ol.quantity > ol.quantity_allocated AND ol.cancelled_at IS NULL)"
                        " ORDER BY d.priority, d.requested_date NULLS LAST, d.id"
                    )
                )
            ).all()
        )
        holds = await order_holds(session, ids, on=on)
    return [held_order_of(holds[i]) for i in ids if i in holds]


# ---- first-business approvals ------------------------------------------------------------------------------


async def _subject_row(session: AsyncSession, subject: Subject, erp_id: str, *, lock: bool = False) -> Any:
    model = _MODEL[subject]
    query = select(model).where(model.erp_id == erp_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise e.NotFound(f"no {subject} {erp_id!r}", **{subject: erp_id})
    return row


async def _status(session: AsyncSession, subject: Subject, erp_id: str, on: dt.date) -> FirstBusinessStatus:
    row = await _subject_row(session, subject, erp_id)
    column = getattr(FirstBusinessDecision, _COLUMN[subject])
    history = [
        FirstBusinessDecisionOut(
            decision=d.decision, source=d.source, decided_at=d.decided_at, decided_by=d.decided_by, reason=d.reason
        )
        for d in (
            await session.scalars(
                select(FirstBusinessDecision).where(column == row.id).order_by(FirstBusinessDecision.id.desc())
            )
        ).all()
    ]
    approved = bool(history) and history[0].decision == "approved"
    on_site = await gsp_checks_on(session)
    if subject == "supplier":
        facts = rules.SupplierFacts(row.erp_id, row.name, approved, row.licence_no, row.licence_valid_until)
        blocks = rules.supplier_blocks(facts, on=on)
        number, until, device_class = row.licence_no, row.licence_valid_until, None
    else:
        product = rules.ProductFacts(
            row.erp_id, row.name, approved, row.registration_no, row.device_class, row.registration_valid_until
        )
        blocks = rules.product_blocks(product, on=on)
        number, until, device_class = row.registration_no, row.registration_valid_until, row.device_class
    return FirstBusinessStatus(
        subject=subject,
        erp_id=row.erp_id,
        name=row.name,
        approved=approved,
        certificate_no=number,
        valid_until=until,
        device_class=device_class,
        blocks=[b.code for b in blocks] if on_site else [],
        history=history,
    )


async def first_business_status(
    db: async_sessionmaker, subject: Subject, erp_id: str, *, on: dt.date
) -> FirstBusinessStatus:
    async with db() as session:
        return await _status(session, subject, erp_id, on)


async def decide_first_business(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    subject: Subject,
    erp_id: str,
    decision: Literal["approved", "revoked"],
    *,
    reason: str,
    password: str,
    address: str,
    on: dt.date,
) -> FirstBusinessStatus:
    """QA approves (首营审核) or revokes a supplier or an item, signed by re-entering the password. The
    supplier's or item's row is locked so two decisions on it are written one after the other."""
    reason = reason.strip()
    if not reason:
        raise e.MissingReason("a first-business decision needs a reason", needs=["reason"])
    meaning = f"first-business.{'approve' if decision == 'approved' else 'revoke'}"
    target = f"{subject}:{erp_id}"
    async with db() as session:
        await _subject_row(session, subject, erp_id)
    await verify_signature(db, checks, actor, password, meaning, target, address=address)
    async with db.begin() as session:
        row = await _subject_row(session, subject, erp_id, lock=True)
        before = await _status(session, subject, erp_id, on)
        if before.approved == (decision == "approved"):
            raise e.Conflict(
                f"{subject} {erp_id} is already {'approved' if before.approved else 'not approved'}",
                **{subject: erp_id},
                approved=before.approved,
            )
        await session.execute(
            insert(FirstBusinessDecision).values(
                **{_COLUMN[subject]: row.id},
                decision=decision,
                source="qa",
                user_id=actor.user_id,
                decided_by=actor.label,
                reason=reason,
            )
        )
        await signed(
            session,
            actor,
            meaning,
            target,
            signature_meaning="approval" if decision == "approved" else "rejection",
            reason=reason,
            before={"approved": before.approved},
            after={"approved": decision == "approved"},
        )
        event_cls = FirstBusinessApproved if decision == "approved" else FirstBusinessRevoked
        await emit(session, actor, event_cls(subject=subject, erp_id=erp_id, reason=reason, signed_by=actor.label))
        return await _status(session, subject, erp_id, on)


async def erp_last_words(session: AsyncSession, subject: Subject, ids: list[int]) -> dict[int, bool]:
    """What the ERP last said on the first-business approval of each of ``ids`` (approved or not), from its
    newest decision; an id it never spoke on is absent. Not the master record's column: a version that says
    nothing sets that to NULL, and silence must not make the ERP's unchanged word a new decision."""
    if not ids:
        return {}
    column = _COLUMN[subject]
    rows = await session.execute(
        text(
            f"SELECT DISTINCT ON ({column}) {column} AS id, decision = 'approved' AS approved"
            f"  FROM first_business_decisions WHERE source = 'erp' AND {column} = ANY(CAST(:ids AS int[]))"
            f" ORDER BY {column}, id DESC"
        ),
        {"ids": ids},
    )
    return {r.id: r.approved for r in rows}


async def record_erp_decisions(
    session: AsyncSession, subject: Subject, changes: list[tuple[int, bool]], *, by: str
) -> None:
    """The ERP's own first-business approvals that changed (``(id, approved)``), as decisions from the ERP."""
    if not changes:
        return
    await session.execute(
        insert(FirstBusinessDecision),
        [
            {
                _COLUMN[subject]: id_,
                "decision": "approved" if approved else "revoked",
                "source": "erp",
                "user_id": None,
                "decided_by": by,
                "reason": "ERP master data",
            }
            for id_, approved in changes
        ],
    )


# ---- QA exceptions -------------------------------------------------------------------------------------------


def _exception_out(
    x: RegulatoryException, *, receipt: str | None, item: str | None, order: str | None
) -> RegulatoryExceptionOut:
    return RegulatoryExceptionOut(
        id=x.id,
        code=x.code,
        receipt=receipt,
        item=item,
        order=order,
        reason=x.reason,
        signed_by=x.signed_by,
        signed_at=x.signed_at,
    )


async def _sign_exception(
    session: AsyncSession,
    actor: Actor,
    *,
    code: str,
    reason: str,
    target: str,
    values: dict[str, Any],
    receipt: str | None,
    item: str | None,
    order: str | None,
) -> RegulatoryExceptionOut:
    x = (
        await session.execute(
            insert(RegulatoryException)
            .values(code=code, reason=reason, user_id=actor.user_id, signed_by=actor.label, **values)
            .returning(RegulatoryException)
        )
    ).scalar_one()
    await signed(
        session,
        actor,
        "regulatory.exception",
        target,
        signature_meaning="approval",
        reason=reason,
        after={"code": code, "receipt": receipt, "item": item, "order": order},
    )
    await emit(
        session,
        actor,
        RegulatoryExceptionApproved(
            code=code, receipt=receipt, item=item, order=order, reason=reason, signed_by=actor.label
        ),
    )
    return _exception_out(x, receipt=receipt, item=item, order=order)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise e.MissingReason("an exception needs a reason", needs=["reason"])
    return reason


async def except_receipt(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    receipt_id: int,
    *,
    code: str,
    item: str | None,
    reason: str,
    password: str,
    address: str,
    on: dt.date,
) -> RegulatoryExceptionOut:
    """QA lets one block through on one receipt: a supplier's block for the whole receipt, an item's for
    that item. Only a block that stands today can be excepted (``nothing-to-except`` otherwise)."""
    reason = _reason(reason)
    scope = rules.exception_scope(code, item=item)
    item_erp = item
    number = _receipt_number(receipt_id)
    target = f"receipt:{number}" + (f"/{scope}" if scope else "")
    meaning = "regulatory.exception"

    async def standing(session: AsyncSession) -> tuple[Receipt, int | None, list[str]]:
        receipt = await session.get(Receipt, receipt_id)
        if receipt is None:
            raise e.NotFound(f"no receipt {receipt_id}", receipt=receipt_id)
        if receipt.status != "open":
            raise e.ReceiptNotOpen(
                f"{number} is {receipt.status}: nothing more is received on it",
                receipt=number,
                receiptStatus=receipt.status,
            )
        item_id = None
        if item_erp is not None:
            item_id = await session.scalar(select(Item.id).where(Item.erp_id == item_erp))
            if item_id is None:
                raise e.NotFound(f"no item {item_erp!r}", item=item_erp)
        if item_id is not None:
            blocks = [
                b.code for b in await receipt_blocks(session, supplier_id=receipt.supplier_id, item_id=item_id, on=on)
            ]
        elif await gsp_checks_on(session):
            blocks = [b.code for b in rules.supplier_blocks(await supplier_facts(session, receipt.supplier_id), on=on)]
        else:
            blocks = []
        # a block QA already let through stands no more: a second signature for it is refused, not kept twice
        waived = set(
            (
                await session.scalars(
                    select(RegulatoryException.code).where(
                        RegulatoryException.receipt_id == receipt_id,
                        RegulatoryException.item_id.is_(None)
                        | (RegulatoryException.item_id == (item_id if item_id is not None else -1)),
                    )
                )
            ).all()
        )
        blocks = [b for b in blocks if b not in waived]
        if code not in blocks:
            raise e.NothingToExcept(
                f"{code} does not block {number}" + (f" for {item_erp}" if item_erp else "") + ": nothing to except",
                asked=code,
                blocks=blocks,
                receipt=number,
            )
        return receipt, item_id, blocks

    async with db() as session:
        await standing(session)
    await verify_signature(db, checks, actor, password, meaning, target, address=address)
    async with db.begin() as session:
        await session.execute(select(Receipt.id).where(Receipt.id == receipt_id).with_for_update())
        _, item_id, _ = await standing(session)
        return await _sign_exception(
            session,
            actor,
            code=code,
            reason=reason,
            target=target,
            values={"receipt_id": receipt_id, "item_id": item_id if scope else None},
            receipt=number,
            item=scope,
            order=None,
        )


async def except_order(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    order: str,
    *,
    code: str,
    reason: str,
    password: str,
    address: str,
    on: dt.date,
) -> RegulatoryExceptionOut:
    """QA lets one sales order held by its customer's licence be allocated."""
    reason = _reason(reason)
    if code not in rules.ORDER_CODES:
        raise e.InvalidRecord(f"{code!r} is not an order block: one of {', '.join(rules.ORDER_CODES)}", pointer="/code")
    target = f"order:{order}"

    async def standing(session: AsyncSession) -> int:
        doc_id = await session.scalar(
            select(OutboundDocument.id).where(OutboundDocument.erp_id == order).order_by(OutboundDocument.id)
        )
        if doc_id is None:
            raise e.NotFound(f"no sales order {order!r}", order=order)
        holds = await order_holds(session, [doc_id], on=on)
        held = holds.get(doc_id)
        if held is None or held.code != code:
            raise e.NothingToExcept(
                f"{code} does not hold order {order}: nothing to except",
                asked=code,
                blocks=[held.code] if held else [],
                order=order,
            )
        return doc_id

    async with db() as session:
        await standing(session)
    await verify_signature(db, checks, actor, password, "regulatory.exception", target, address=address)
    async with db.begin() as session:
        await session.execute(select(OutboundDocument.id).where(OutboundDocument.erp_id == order).with_for_update())
        doc_id = await standing(session)
        return await _sign_exception(
            session,
            actor,
            code=code,
            reason=reason,
            target=target,
            values={"outbound_document_id": doc_id},
            receipt=None,
            item=None,
            order=order,
        )


async def list_exceptions(db: async_sessionmaker, *, limit: int = 200) -> list[RegulatoryExceptionOut]:
    """QA's exceptions, newest first."""
    async with db() as session:
        rows = (
            await session.execute(
                select(RegulatoryException, Item.erp_id, OutboundDocument.erp_id)
                .outerjoin(Item, Item.id == RegulatoryException.item_id)
                .outerjoin(OutboundDocument, OutboundDocument.id == RegulatoryException.outbound_document_id)
                .order_by(RegulatoryException.id.desc())
                .limit(limit)
            )
        ).all()
    return [
        _exception_out(
            x,
            receipt=_receipt_number(x.receipt_id) if x.receipt_id is not None else None,
            item=item,
            order=order,
        )
        for x, item, order in rows
    ]
