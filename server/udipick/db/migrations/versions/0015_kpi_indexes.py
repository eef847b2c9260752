"""Indexes for the KPIs of a period (``GET /api/v1/kpis``, issue 17).

Revision ID: 0015
Revises: 0014

- ``ix_stock_ledger_one_sided``: the ledger rows that change what a warehouse holds (receipts, shipments,
  count and adjustment gains and losses: one side of the row is empty), by time, with what the KPIs add up.
  Partial, so the pick scan's ledger row (two-sided) pays nothing for it.
- ``ix_stock_ledger_ship_document``: an order's shipments, to compare them with its lines.
- ``ix_outbox_events_kpi``: the two event types the KPIs read (waves released, short picks) by time; partial,
  so the other events (a pick scan's) pay nothing for it.
- BRIN on the times of ``stock_ledger`` and ``scan_replies`` (``picks`` has one from migration 0014): rows are
  written in time order, so a block range summary finds a period's rows for a few kilobytes of index and
  almost no cost per insert on the hot pick path.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BRIN = (
    ("ix_stock_ledger_occurred_at_brin", "stock_ledger", "occurred_at"),
    ("ix_scan_replies_created_at_brin", "scan_replies", "created_at"),
)


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_stock_ledger_one_sided ON stock_ledger (occurred_at)"
        " INCLUDE (movement, quantity, from_location_id, to_location_id)"
        " WHERE from_location_id IS NULL OR to_location_id IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_stock_ledger_ship_document ON stock_ledger (document_id) INCLUDE (item_id, quantity, occurred_at)"
        " WHERE movement = 'ship'"
    )
    op.execute(
        "CREATE INDEX ix_outbox_events_kpi ON outbox_events (type, occurred_at)"
        " WHERE type IN ('wave.released.v1', 'pick.shorted.v1')"
    )
    for name, table, column in _BRIN:
        op.execute(f"CREATE INDEX {name} ON {table} USING brin ({column})")


def downgrade() -> None:
    for name, _, _ in reversed(_BRIN):
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP INDEX ix_outbox_events_kpi")
    op.execute("DROP INDEX ix_stock_ledger_ship_document")
    op.execute("DROP INDEX ix_stock_ledger_one_sided")
