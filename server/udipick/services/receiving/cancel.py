"""The ERP cancels a purchase order or ASN (``POST /api/v1/erp/purchase-orders/{erpId}/cancel``).

Nothing more is received against it: it ends ``cancelled``, or ``closed`` when units were received
(they stay on the books, their receipt events went out). A receipt open at the dock refuses it (the
goods may be on the dock being counted); a repeat changes nothing. Load (the document ``FOR UPDATE``,
which opening and closing a receipt on it take too) → decide (``domain.receiving.status_after_erp_cancel``)
→ write the status, ``purchase-order.cancelled.v1`` and the audit record in one transaction.
"""

from __future__ import annotations

from msgspec import Struct
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.db.models import InboundDocument, InboundLine, Item
from udipick.db.models_receiving import Receipt
from udipick.domain import receiving as rules
from udipick.domain.access import Actor
from udipick.domain.errors import MissingReason, PurchaseOrderNotFound
from udipick.services.events import PurchaseOrderCancelled, emit
from udipick.services.identity import audit
from udipick.services.receiving.common import receipt_number


class PurchaseOrderCancel(Struct, rename="camel"):
    """What the ERP's cancel of a purchase order did: its ``status`` now (``cancelled``, or ``closed`` when
    units had been received), the one it had, and whether this call changed it (``false``: a repeat)."""

    erp_id: str
    status: str
    prior_status: str
    changed: bool
    ordered: int
    received: int


async def cancel_purchase_order(db: async_sessionmaker, actor: Actor, erp_id: str, reason: str) -> PurchaseOrderCancel:
    """The ERP cancelled the purchase order (or ASN); a repeat writes nothing. The document's lock keeps a
    receipt from opening on it while this decides."""
    reason = reason.strip()
    if not reason:
        raise MissingReason("a cancel needs a reason", needs=["reason"])
    async with db.begin() as session:
        doc = (
            await session.execute(
                select(InboundDocument.id, InboundDocument.kind, InboundDocument.number, InboundDocument.status)
                .where(InboundDocument.erp_id == erp_id)
                .with_for_update()
            )
        ).first()
        if doc is None:
            raise PurchaseOrderNotFound(f"no purchase order or ASN {erp_id!r}", document=erp_id)
        lines = (
            await session.execute(
                select(InboundLine.line_no, Item.erp_id, InboundLine.quantity_ordered, InboundLine.quantity_received)
                .join(Item, Item.id == InboundLine.item_id)
                .where(InboundLine.document_id == doc.id)
                .order_by(InboundLine.line_no)
            )
        ).all()
        open_receipts = (
            await session.scalars(
                select(Receipt.id).where(Receipt.document_id == doc.id, Receipt.status == "open").order_by(Receipt.id)
            )
        ).all()
        ordered = sum(ln.quantity_ordered for ln in lines)
        received = sum(ln.quantity_received for ln in lines)
        status = rules.status_after_erp_cancel(
            erp_id, doc.status, received=received, open_receipts=[receipt_number(r) for r in open_receipts]
        )
        answer = PurchaseOrderCancel(erp_id, status, doc.status, status != doc.status, ordered, received)
        if not answer.changed:
            return answer
        await session.execute(
            InboundDocument.__table__.update()
            .where(InboundDocument.id == doc.id)
            .values(status=status, updated_at=func.now())
        )
        await emit(
            session,
            actor,
            PurchaseOrderCancelled(
                document=erp_id,
                kind=doc.kind,
                number=doc.number,
                status=status,
                prior_status=doc.status,
                reason=reason,
                lines=[
                    {
                        "lineNo": ln.line_no,
                        "item": ln.erp_id,
                        "ordered": ln.quantity_ordered,
                        "received": ln.quantity_received,
                    }
                    for ln in lines
                ],
            ),
        )
        await audit(
            session,
            actor,
            "erp.purchase-order.cancelled",
            "ok",
            target=f"purchase-order:{erp_id}",
            reason=reason,
            before={"status": doc.status},
            after={"status": status},
            detail={"ordered": ordered, "received": received},
        )
    return answer
