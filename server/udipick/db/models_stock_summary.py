"""Stock summed per item, lot, warehouse, location type and status (issue 19): what ``GET /api/v1/stock``
reads instead of a million stock rows.

``stock_summary`` + ``stock_summary_delta`` = ``stock`` summed per that key, in every snapshot: the statement
triggers on ``stock`` append each change's difference to the delta in the changing transaction (appending
locks nothing another pick waits on), and ``udipick_fold_stock_summary`` folds committed delta rows into the
summary in the background. Plain tables (no primary key): only those SQL functions write them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, UniqueConstraint, text

from udipick.db.models import Base


def _key_and_sums() -> list[Column]:
    return [
        Column("item_id", Integer, nullable=False),
        Column("lot_id", Integer),
        Column("warehouse_id", Integer, nullable=False),
        Column("location_type", String(16), nullable=False),
        Column("status", String(12), nullable=False),
        Column("quantity", BigInteger, nullable=False),
        Column("reserved", BigInteger, nullable=False),
    ]


stock_summary = Table(
    "stock_summary",
    Base.metadata,
    *_key_and_sums(),
    Index(
        "uq_stock_summary_key",
        "item_id",
        "lot_id",
        "warehouse_id",
        "location_type",
        "status",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    # the fold removes keys summed to nothing: found here, not by reading the whole summary
    Index("ix_stock_summary_empty", "item_id", postgresql_where=text("quantity = 0 AND reserved = 0")),
)

#: units per item, lot and warehouse: what a view by lot or item sums (one row a lot and warehouse)
stock_summary_lots = Table(
    "stock_summary_lots",
    Base.metadata,
    Column("item_id", Integer, nullable=False),
    Column("lot_id", Integer),
    Column("warehouse_id", Integer, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Index(
        "uq_stock_summary_lots_key",
        "item_id",
        "lot_id",
        "warehouse_id",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    Index("ix_stock_summary_lots_empty", "item_id", postgresql_where=text("quantity = 0 AND reserved = 0")),
)

stock_summary_delta = Table(
    "stock_summary_delta",
    Base.metadata,
    *_key_and_sums(),
)

#: a lot's facts (its status and expiry, a hold on it or its item, a bonded item) as the fold last recorded
#: them, per item and lot (``lot_key`` 0: stock without a lot); ``stock_summary_facts`` sums units by these
stock_summary_recorded = Table(
    "stock_summary_recorded",
    Base.metadata,
    Column("item_id", Integer, nullable=False),
    Column("lot_key", Integer, nullable=False),
    Column("lot_status", String(12), nullable=False),
    Column("expiry", Date),
    Column("held", Boolean, nullable=False),
    Column("bonded", Boolean, nullable=False),
    UniqueConstraint("item_id", "lot_key"),
)

#: units per warehouse, location type, stock status and recorded lot facts: the view's totals and its
#: groupings by status, expiry bucket, location type and warehouse read these few thousand rows
stock_summary_facts = Table(
    "stock_summary_facts",
    Base.metadata,
    Column("warehouse_id", Integer, nullable=False),
    Column("location_type", String(16), nullable=False),
    Column("status", String(12), nullable=False),
    Column("lot_status", String(12), nullable=False),
    Column("expiry", Date),
    Column("held", Boolean, nullable=False),
    Column("bonded", Boolean, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Index(
        "uq_stock_summary_facts_key",
        "warehouse_id",
        "location_type",
        "status",
        "lot_status",
        "expiry",
        "held",
        "bonded",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    Index("ix_stock_summary_facts_empty", "warehouse_id", postgresql_where=text("quantity = 0 AND reserved = 0")),
)

#: lots whose facts changed since the last fold (``lot_key`` NULL: every lot of the item), marked by triggers
#: on ``lots``, ``items`` and ``holds``; the fold processes and removes them
stock_summary_dirty = Table(
    "stock_summary_dirty",
    Base.metadata,
    Column("item_id", Integer, nullable=False),
    Column("lot_key", Integer),
)
