"""China GSP first-business approvals (首营企业 / 首营品种) and QA's signed exceptions to the regulatory blocks.

Both are regulated records (医疗器械经营质量管理规范: the distributor checks a new supplier's licence and a
new product's registration before it trades in them, and keeps the record): rows are only ever added. An
approval is revoked by a newer row, not by an update, so who approved, who revoked and why all stay. The
signatures themselves are the audit log's (``services.identity.signed``); these rows say what they signed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from udipick.db.models import TS, Base, _in

FIRST_BUSINESS_DECISIONS = ("approved", "revoked")
#: ``qa``: signed in udipick; ``erp``: the ERP's master record said so (its own approval workflow)
DECISION_SOURCES = ("qa", "erp")


class FirstBusinessDecision(Base):
    """One approval or revocation of a supplier (首营企业) or an item (首营品种); the newest row per
    supplier or item is its state."""

    __tablename__ = "first_business_decisions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    decision: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(3))
    decided_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    #: the signer (``qa``); ``None`` for the ERP
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the signer's name or the ERP key's name, as shown in the record
    decided_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("(supplier_id IS NULL) <> (item_id IS NULL)", name="one_subject"),
        CheckConstraint(_in("decision", FIRST_BUSINESS_DECISIONS), name="decision_known"),
        CheckConstraint(_in("source", DECISION_SOURCES), name="source_known"),
        CheckConstraint("source = 'erp' OR user_id IS NOT NULL", name="qa_signer"),
        Index("ix_first_business_decisions_supplier", "supplier_id", "id", postgresql_where="supplier_id IS NOT NULL"),
        Index("ix_first_business_decisions_item", "item_id", "id", postgresql_where="item_id IS NOT NULL"),
    )


class RegulatoryException(Base):
    """QA's signed exception to one regulatory block: receiving one item (or, for a supplier's block, anything)
    on one receipt, or allocating one sales order. ``code`` is the refusal it lets through."""

    __tablename__ = "regulatory_exceptions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    #: the item received under the exception; ``None``: the whole receipt (a supplier's block)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    outbound_document_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_documents.id"))
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_by: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint("(receipt_id IS NULL) <> (outbound_document_id IS NULL)", name="one_subject"),
        CheckConstraint("outbound_document_id IS NULL OR item_id IS NULL", name="order_whole"),
        Index("ix_regulatory_exceptions_receipt", "receipt_id", postgresql_where="receipt_id IS NOT NULL"),
        Index(
            "ix_regulatory_exceptions_order",
            "outbound_document_id",
            postgresql_where="outbound_document_id IS NOT NULL",
        ),
    )
