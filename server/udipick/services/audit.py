"""The audit trail: sealing records into the hash chain, verifying it, exporting it (docs/audit.md).

Records are written by their workflows (``identity.audit``) and ledger movements by the ledger; this
module only chains and reads them. Sealing runs in the background (``sealer_in_background``) so no
writer waits for the single chain; ``verify`` seals first, then recomputes every link in PostgreSQL
(``sha256()`` over ``udipick_audit_record``/``udipick_ledger_record``), chunk by chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.domain.audit import GENESIS

log = logging.getLogger("udipick.audit")

#: links sealed per transaction: the sealer's lock and transaction stay short
SEAL_BATCH = 20_000
#: links recomputed per query when verifying
VERIFY_CHUNK = 500_000
SOURCES = {0: "audit_log", 1: "stock_ledger"}


class BrokenLink(msgspec.Struct, rename="camel"):
    """The first link that does not follow: its place in the chain, the record it seals, and why."""

    seq: int
    source: str
    record_id: int | None
    problem: str


class AuditVerified(msgspec.Struct, rename="camel"):
    ok: bool
    #: links recomputed
    records: int
    #: the last good link's hash (hex): an auditor may keep it to check that later exports extend it
    head_hash: str | None
    broken: BrokenLink | None
    #: records written but not yet final (a transaction older than them still runs), so not yet sealed
    unsealed: int
    seconds: float


async def seal(db: async_sessionmaker) -> int:
    """Seal every record that is final now, in batches; returns how many links were added."""
    total = 0
    while True:
        async with db.begin() as session:
            row = (
                await session.execute(
                    text("SELECT sealed, head FROM udipick_seal_audit(batch => :b)"), {"b": SEAL_BATCH}
                )
            ).one()
        total += row.sealed
        if row.sealed < SEAL_BATCH:
            return total


@contextlib.asynccontextmanager
async def sealer_in_background(db: async_sessionmaker, every_seconds: float = 1.0) -> AsyncIterator[None]:
    """Seal once a second. With several server processes each runs one; the sealer's advisory lock
    lets one at a time extend the chain, the others find nothing left to seal."""
    stop = asyncio.Event()

    async def run() -> None:
        while not stop.is_set():
            try:
                await seal(db)
            except Exception:  # noqa: BLE001 - a failed round (database restart) is retried next second
                log.exception("audit sealing failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_seconds)

    task = asyncio.create_task(run(), name="udipick-audit-sealer")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=15)


#: One chunk of links recomputed: the first that fails (seq order) and the chunk's last link. A link
#: fails when its seq is not the next, its prev_hash is not the hash before it, the record it names is
#: gone, or sha256(prev_hash || utf8(seq || LF || canonical record)) is not its hash.
_VERIFY_CHUNK = """
WITH links AS (
  SELECT c.seq, c.source, c.source_id, c.prev_hash, c.hash,
         coalesce(lag(c.hash) OVER w, CAST(:prev AS bytea)) AS expected_prev,
         CAST(:after AS bigint) + row_number() OVER w AS expected_seq,
         CASE WHEN c.source = 0 AND a.id IS NOT NULL THEN udipick_audit_record(a)
              WHEN c.source = 1 AND l.id IS NOT NULL THEN udipick_ledger_record(l) END AS body
    FROM audit_chain c
    LEFT JOIN audit_log a ON c.source = 0 AND a.id = c.source_id
    LEFT JOIN stock_ledger l ON c.source = 1 AND l.id = c.source_id
   WHERE c.seq > :after AND c.seq <= :upto
  WINDOW w AS (ORDER BY c.seq)
), judged AS (
  SELECT seq, source, source_id, hash,
         CASE WHEN seq <> expected_seq THEN 'link ' || expected_seq || ' is missing'
              WHEN prev_hash <> expected_prev THEN 'its previous hash is not the hash of the link before'
              WHEN body IS NULL THEN 'the record it seals is gone'
              WHEN sha256(prev_hash || convert_to(seq::text || E'\\n' || body, 'UTF8')) <> hash
                THEN 'the record does not match its hash (changed after sealing)'
         END AS problem
    FROM links
)
SELECT (SELECT seq FROM judged WHERE problem IS NOT NULL ORDER BY seq LIMIT 1) AS bad_seq,
       (SELECT source FROM judged WHERE problem IS NOT NULL ORDER BY seq LIMIT 1) AS bad_source,
       (SELECT source_id FROM judged WHERE problem IS NOT NULL ORDER BY seq LIMIT 1) AS bad_id,
       (SELECT problem FROM judged WHERE problem IS NOT NULL ORDER BY seq LIMIT 1) AS bad_problem,
       (SELECT count(*) FROM judged) AS n,
       (SELECT hash FROM judged ORDER BY seq DESC LIMIT 1) AS last_hash
"""

#: Records the chain should hold (final at the last link's cursor) against the links it holds: a record
#: slipped in afterwards with an old tx_id, or a link whose record vanished, shows as a difference.
_UNSEALED = """
WITH cur AS (
  SELECT coalesce(c.tx_id, -1) AS tx_id, coalesce(c.source, 1) AS source, coalesce(c.source_id, 0) AS source_id
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (SELECT * FROM audit_chain ORDER BY seq DESC LIMIT 1) AS c ON true
)
SELECT
  (SELECT count(*) FROM audit_log a, cur WHERE (a.tx_id, a.id) <= (cur.tx_id, CASE WHEN cur.source = 0 THEN cur.source_id ELSE 9223372036854775807 END)) +
  (SELECT count(*) FROM stock_ledger l, cur WHERE (l.tx_id, l.id) <= (cur.tx_id, CASE WHEN cur.source = 1 THEN cur.source_id ELSE 0 END))
    AS should_hold,
  (SELECT count(*) FROM audit_log a, cur WHERE (a.tx_id, a.id) > (cur.tx_id, CASE WHEN cur.source = 0 THEN cur.source_id ELSE 9223372036854775807 END)) +
  (SELECT count(*) FROM stock_ledger l, cur WHERE (l.tx_id, l.id) > (cur.tx_id, CASE WHEN cur.source = 1 THEN cur.source_id ELSE 0 END))
    AS unsealed
"""

_FIRST_UNCHAINED = """
WITH cur AS (
  SELECT coalesce(c.tx_id, -1) AS tx_id, coalesce(c.source, 1) AS source, coalesce(c.source_id, 0) AS source_id
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (SELECT * FROM audit_chain ORDER BY seq DESC LIMIT 1) AS c ON true
)
SELECT 0 AS source, a.id FROM audit_log a, cur
 WHERE (a.tx_id, a.id) <= (cur.tx_id, CASE WHEN cur.source = 0 THEN cur.source_id ELSE 9223372036854775807 END)
   AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 0 AND c.source_id = a.id)
UNION ALL
SELECT 1, l.id FROM stock_ledger l, cur
 WHERE (l.tx_id, l.id) <= (cur.tx_id, CASE WHEN cur.source = 1 THEN cur.source_id ELSE 0 END)
   AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 1 AND c.source_id = l.id)
ORDER BY 1, 2 LIMIT 1
"""


async def verify(db: async_sessionmaker, *, seal_first: bool = True) -> AuditVerified:
    """Recompute the whole chain and name the first link that does not follow (21 CFR Part 11 §11.10(e))."""
    started = time.perf_counter()
    if seal_first:
        await seal(db)
    async with db() as session:
        head = int(await session.scalar(text("SELECT coalesce(max(seq), 0) FROM audit_chain")) or 0)
        prev, after, checked = GENESIS, 0, 0
        broken: BrokenLink | None = None
        while after < head and broken is None:
            upto = min(after + VERIFY_CHUNK, head)
            row = (await session.execute(text(_VERIFY_CHUNK), {"prev": prev, "after": after, "upto": upto})).one()
            if row.bad_seq is not None:
                checked += int(row.bad_seq) - after - 1
                broken = BrokenLink(int(row.bad_seq), SOURCES[row.bad_source], int(row.bad_id), row.bad_problem)
                break
            if row.n != upto - after:  # links missing at the chunk's end
                checked += int(row.n)
                broken = BrokenLink(after + int(row.n) + 1, "audit_chain", None, "the link is missing")
                break
            checked += int(row.n)
            prev, after = bytes(row.last_hash), upto
        counts = (await session.execute(text(_UNSEALED))).one()
        if broken is None and head and counts.should_hold != head:
            missing = (await session.execute(text(_FIRST_UNCHAINED))).first()
            if missing is not None:
                broken = BrokenLink(
                    head,
                    SOURCES[missing.source],
                    int(missing.id),
                    "the record is older than the chain's head but not in it",
                )
            else:
                broken = BrokenLink(
                    head, "audit_chain", None, f"the chain holds {head} links for {counts.should_hold} records"
                )
    return AuditVerified(
        ok=broken is None,
        records=checked,
        head_hash=prev.hex() if checked else None,
        broken=broken,
        unsealed=max(int(counts.unsealed or 0), 0),
        seconds=round(time.perf_counter() - started, 3),
    )


_EXPORT = """
SELECT c.seq, c.prev_hash, c.hash, c.source,
       CASE c.source WHEN 0 THEN udipick_audit_record(a) ELSE udipick_ledger_record(l) END AS body
  FROM audit_chain c
  LEFT JOIN audit_log a ON c.source = 0 AND a.id = c.source_id
  LEFT JOIN stock_ledger l ON c.source = 1 AND l.id = c.source_id
 WHERE coalesce(a.occurred_at, l.occurred_at) >= :since AND coalesce(a.occurred_at, l.occurred_at) < :until
   AND c.seq > :after
 ORDER BY c.seq
 LIMIT :n
"""
EXPORT_PAGE = 5_000


async def export(db: async_sessionmaker, since: dt.datetime, until: dt.datetime) -> AsyncIterator[bytes]:
    """The sealed records of a period as NDJSON, in chain order, one object per line:
    ``{"seq", "prevHash", "hash", "record"}`` where ``record`` is the canonical array the hash covers
    (docs/audit.md: an auditor recomputes each hash from the line alone, and each prevHash from the line
    before when the period's records are consecutive in the chain)."""
    await seal(db)
    after = 0
    while True:
        async with db() as session:
            rows = (
                await session.execute(text(_EXPORT), {"since": since, "until": until, "after": after, "n": EXPORT_PAGE})
            ).all()
        out = []
        for r in rows:
            out.append(
                b'{"seq": %d, "prevHash": "%s", "hash": "%s", "record": %s}\n'
                % (r.seq, bytes(r.prev_hash).hex().encode(), bytes(r.hash).hex().encode(), r.body.encode())
            )
        if out:
            yield b"".join(out)
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1].seq


def record_of(line: dict[str, Any]) -> dict[str, Any]:
    """An exported line's record as named fields (for reading, not for hashing)."""
    from udipick.domain.audit import FIELDS

    source, *values = line["record"]
    return {"source": source, **dict(zip(FIELDS[source], values, strict=True))}
