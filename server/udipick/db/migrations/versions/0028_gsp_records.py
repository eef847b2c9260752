"""GSP records (issue 22): the transport record on receipts, cold-chain temperature readings, and the
sources of the receiving and outbound-review records made undeletable.

Revision ID: 0028
Revises: 0027

- ``receipts`` gains the transport record a cold-chain acceptance checks (GSP 运输记录): carrier,
  transport mode, departure time and temperature, arrival temperature and what the transport's
  temperature log showed. All optional.
- ``cold_chain_readings``: what sensors post, unique per (sensor, time), append-only
  (``udipick_append_only`` refuses UPDATE, DELETE and TRUNCATE, as on ``stock_ledger``).
- ``receipt_scans`` (each accepted scan: the receiving record's lines) becomes append-only too; nothing
  in udipick ever rewrote one.
- Receipts, warehouses, suppliers, customers, inbound and outbound documents refuse DELETE
  (``udipick_retain_master``, as items and lots since 0005), and so do packages once closed: an open,
  empty carton is still discarded at ship-confirm.

Only triggers here: their functions already have their files (``db/sql``), so no SQL file changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

#: tables whose rows the GSP records name: kept (deactivated or closed, never deleted)
RETAINED = ("receipts", "warehouses", "suppliers", "customers", "inbound_documents", "outbound_documents")
#: tables written once and never changed
APPEND_ONLY = ("receipt_scans", "cold_chain_readings")


def upgrade() -> None:
    op.add_column("receipts", sa.Column("carrier", sa.String(length=200), nullable=True))
    op.add_column("receipts", sa.Column("transport_mode", sa.String(length=40), nullable=True))
    op.add_column("receipts", sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("receipts", sa.Column("departure_temperature_c", sa.Numeric(5, 2), nullable=True))
    op.add_column("receipts", sa.Column("arrival_temperature_c", sa.Numeric(5, 2), nullable=True))
    op.add_column("receipts", sa.Column("transport_temperatures", sa.Text(), nullable=True))
    op.create_table(
        "cold_chain_readings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Numeric(5, 2), nullable=False),
        sa.Column("min_c", sa.Numeric(5, 2), nullable=True),
        sa.Column("max_c", sa.Numeric(5, 2), nullable=True),
        sa.Column("out_of_range", sa.Boolean(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_cold_chain_readings_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_cold_chain_readings_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_cold_chain_readings_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cold_chain_readings")),
        sa.UniqueConstraint("sensor", "measured_at", name=op.f("uq_cold_chain_readings_sensor_measured_at")),
    )
    op.create_index(
        "ix_cold_chain_readings_location_time", "cold_chain_readings", ["location_id", "measured_at"], unique=False
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION udipick_append_only()"
        )
    for table in RETAINED:
        op.execute(
            f"CREATE TRIGGER {table}_retained BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION udipick_retain_master()"
        )
    op.execute(
        "CREATE TRIGGER packages_retained BEFORE DELETE ON packages FOR EACH ROW WHEN (OLD.status <> 'open') "
        "EXECUTE FUNCTION udipick_retain_master()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER packages_retained ON packages")
    for table in RETAINED:
        op.execute(f"DROP TRIGGER {table}_retained ON {table}")
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.drop_index("ix_cold_chain_readings_location_time", table_name="cold_chain_readings")
    op.drop_table("cold_chain_readings")
    for column in (
        "transport_temperatures",
        "arrival_temperature_c",
        "departure_temperature_c",
        "departed_at",
        "transport_mode",
        "carrier",
    ):
        op.drop_column("receipts", column)
