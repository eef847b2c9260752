"""Ledger rules in the database: stock changes only through the append-only ledger.

Revision ID: 0002
Revises: 0001

A movement row moves ``quantity`` from one stock bucket (item, lot, serial, location, container,
status) to another; this trigger applies it to ``stock`` in the same statement, so stock always
equals the sum of the ledger. Stock quantities written any other way, and any UPDATE or DELETE of
ledger or audit rows, are refused: an ISO 13485 / 21 CFR Part 11 record is never rewritten.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _run(sql: str) -> None:
    # asyncpg prepares each statement: send them one by one (blank-line separated)
    for statement in sql.split("\n\n"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _run(
        """
CREATE FUNCTION udipick_apply_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.from_location_id IS NOT NULL THEN
    UPDATE stock SET quantity = quantity - NEW.quantity
     WHERE location_id = NEW.from_location_id AND item_id = NEW.item_id
       AND lot_id IS NOT DISTINCT FROM NEW.lot_id
       AND serial_id IS NOT DISTINCT FROM NEW.serial_id
       AND container_id IS NOT DISTINCT FROM NEW.from_container_id
       AND status = NEW.from_status;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no stock of item % lot % serial % at location % container % status %',
        NEW.item_id, NEW.lot_id, NEW.serial_id, NEW.from_location_id, NEW.from_container_id, NEW.from_status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_stock_quantity_nonneg';
    END IF;
  END IF;
  IF NEW.to_location_id IS NOT NULL THEN
    INSERT INTO stock (item_id, lot_id, serial_id, location_id, container_id, status, quantity)
    VALUES (NEW.item_id, NEW.lot_id, NEW.serial_id, NEW.to_location_id, NEW.to_container_id, NEW.to_status,
            NEW.quantity)
    ON CONFLICT (item_id, lot_id, serial_id, location_id, container_id, status)
    DO UPDATE SET quantity = stock.quantity + EXCLUDED.quantity;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER stock_ledger_apply AFTER INSERT ON stock_ledger
  FOR EACH ROW EXECUTE FUNCTION udipick_apply_ledger();

CREATE FUNCTION udipick_guard_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    IF TG_OP = 'INSERT' AND NEW.quantity <> 0 THEN
      RAISE EXCEPTION 'stock quantity changes only through stock_ledger' USING ERRCODE = 'insufficient_privilege';
    ELSIF TG_OP = 'UPDATE' AND NEW.quantity IS DISTINCT FROM OLD.quantity THEN
      RAISE EXCEPTION 'stock quantity changes only through stock_ledger' USING ERRCODE = 'insufficient_privilege';
    ELSIF TG_OP = 'DELETE' AND OLD.quantity <> 0 THEN
      RAISE EXCEPTION 'stock with quantity cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER stock_guard BEFORE INSERT OR UPDATE OR DELETE ON stock
  FOR EACH ROW EXECUTE FUNCTION udipick_guard_stock();

CREATE FUNCTION udipick_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER stock_ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON stock_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION udipick_append_only();

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION udipick_append_only();

CREATE FUNCTION udipick_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('udipick_outbox', '');
  RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox_events
  FOR EACH STATEMENT EXECUTE FUNCTION udipick_outbox_notify();

CREATE SEQUENCE sscc_serial_reference;
"""
    )


def downgrade() -> None:
    _run(
        """
DROP SEQUENCE sscc_serial_reference;

DROP TRIGGER outbox_notify ON outbox_events;

DROP FUNCTION udipick_outbox_notify();

DROP TRIGGER audit_log_append_only ON audit_log;

DROP TRIGGER stock_ledger_append_only ON stock_ledger;

DROP FUNCTION udipick_append_only();

DROP TRIGGER stock_guard ON stock;

DROP FUNCTION udipick_guard_stock();

DROP TRIGGER stock_ledger_apply ON stock_ledger;

DROP FUNCTION udipick_apply_ledger();
"""
    )
