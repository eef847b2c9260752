"""The sequencer finds the stream's head through the index, whatever the table held when it planned.

Revision ID: 0007
Revises: 0006

``udipick_sequence_outbox`` keeps one plan per session (0005). Its ``SELECT max(position)`` had two
plans to choose from: the min/max rewrite (walk the position index backwards to its first entry)
or an aggregate over the whole index. Planned while the outbox was nearly empty (a new installation,
a test database, the bench's fresh warehouse), the whole-index aggregate was as cheap, so the
session kept a plan that read every position on every call: 4.1 ms per call at 16,000 events
(``pg_stat_statements`` during ``bench/bench_picking.py``: 0.58 ms of PostgreSQL per pick confirm,
about a third of its share), growing with the outbox until the connection is replaced. The head is
now ``udipick_outbox_head()``, ``ORDER BY position DESC LIMIT 1`` in a function whose settings leave
one plan only, the backward walk, at any size; the sequencer and every other reader of the head call it.
``udipick_outbox_backlog()`` counts the unnumbered events the same way, from their partial index.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _revision(name: str):
    spec = importlib.util.spec_from_file_location(f"udipick_migration_{name}", Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the head as a function of its own: its settings leave one plan, the backward walk, for any caller's
#: cached plan (a plain ``ORDER BY position DESC LIMIT 1`` prepared on an empty, vacuumed outbox becomes
#: a sequential scan and a sort elsewhere, where sequential scans are allowed)
HEAD_FUNCTION = """
CREATE FUNCTION udipick_outbox_head() RETURNS bigint LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
  SELECT coalesce((SELECT position FROM outbox_events WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1), 0)
$$
"""

#: the events not numbered yet, from the partial index of unsequenced rows, likewise for any caller (``/metrics``)
BACKLOG_FUNCTION = """
CREATE FUNCTION udipick_outbox_backlog(OUT unsequenced bigint, OUT oldest timestamptz) LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off
AS $$
  SELECT count(*), min(occurred_at) FROM outbox_events WHERE position IS NULL
$$
"""

_BEFORE = "SELECT coalesce(max(position), 0) INTO base FROM outbox_events;"
_AFTER = "base := udipick_outbox_head();"


def upgrade() -> None:
    sequencer = _revision("0005_lean_pick_write.py").SEQUENCER
    assert sequencer.count(_BEFORE) == 1, "0005's sequencer is not the one this revision edits"
    op.execute(HEAD_FUNCTION)
    op.execute(BACKLOG_FUNCTION)
    op.execute(sequencer.replace(_BEFORE, _AFTER))


def downgrade() -> None:
    op.execute(_revision("0005_lean_pick_write.py").SEQUENCER)
    op.execute("DROP FUNCTION udipick_outbox_backlog()")
    op.execute("DROP FUNCTION udipick_outbox_head()")
