"""The audit trail: sealing records into the hash chain, verifying it, exporting it (docs/audit.md).

Records are written by their workflows (``identity.audit``) and ledger movements by the ledger; this
module only chains and reads them. Sealing runs in the background (``sealer_in_background``) so no
writer waits for the single chain; ``verify`` seals first, then recomputes every link in PostgreSQL
(``sha256()`` over ``udipick_audit_record``/``udipick_ledger_record``), chunk by chunk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.domain.audit import GENESIS, link_hash
from udipick.services import periodic

log = logging.getLogger("udipick.audit")

#: links sealed per transaction: the sealer's lock and transaction stay short
SEAL_BATCH = 20_000
#: links recomputed per query when verifying, and queries run side by side (one per core here)
VERIFY_CHUNK = 250_000
VERIFY_PARALLEL = 2
SOURCES = {0: "audit_log", 1: "stock_ledger"}

_AUDIT_COLUMNS = (
    "id", "occurred_at", "user_id", "username", "api_key_id", "device_id", "action", "target", "outcome", "reason",
    "detail", "before", "after", "signer_name", "signature_meaning",
)  # fmt: skip
_LEDGER_COLUMNS = (
    "id", "occurred_at", "movement", "item_id", "lot_id", "serial_id", "quantity", "from_location_id",
    "from_container_id", "from_status", "to_location_id", "to_container_id", "to_status", "user_id", "api_key_id",
    "device_id", "reason", "document_type", "document_id", "event_id",
)  # fmt: skip


def _named(function: str, alias: str, columns: tuple[str, ...]) -> str:
    return f"{function}(" + ", ".join(f"p_{c} => {alias}.{c}" for c in columns) + ")"


#: the canonical text of the row ``a`` of audit_log / ``l`` of stock_ledger (``db/sql/udipick_*_record.sql``)
AUDIT_RECORD = _named("udipick_audit_record", "a", _AUDIT_COLUMNS)
LEDGER_RECORD = _named("udipick_ledger_record", "l", _LEDGER_COLUMNS)


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
    #: the chain's head hash (hex) when it verified: keep it where udipick cannot write (docs/audit.md)
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


def sealer_in_background(db: async_sessionmaker, every_seconds: float = 1.0) -> AbstractAsyncContextManager[None]:
    """Seal at once, then once a second. With several server processes each runs one; the sealer's advisory
    lock lets one at a time extend the chain, the others find nothing left to seal."""
    return periodic.every("audit-sealer", every_seconds, lambda: seal(db), first_after=0)


#: The first link of ``(after, upto]`` that does not follow, or null. A link fails when the record it
#: names is gone, sha256(prev_hash || utf8(seq || LF || canonical record)) is not its hash, or its
#: prev_hash is not the hash of link seq - 1 (missing included). No window, no order: each link is
#: checked on its own (hash joins per source, a merge join for the link before), so chunks are
#: independent and run side by side on separate connections.
_FIRST_BAD = f"""
SELECT min(seq) FROM (
  SELECT c.seq FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.source_id
   WHERE c.source = 0 AND c.seq > :after AND c.seq <= :upto
     AND (a.id IS NULL
          OR sha256(c.prev_hash || convert_to(c.seq::text || E'\\n' || {AUDIT_RECORD}, 'UTF8')) <> c.hash)
  UNION ALL
  SELECT c.seq FROM audit_chain c LEFT JOIN stock_ledger l ON l.id = c.source_id
   WHERE c.source = 1 AND c.seq > :after AND c.seq <= :upto
     AND (l.id IS NULL
          OR sha256(c.prev_hash || convert_to(c.seq::text || E'\\n' || {LEDGER_RECORD}, 'UTF8')) <> c.hash)
  UNION ALL
  SELECT c.seq FROM audit_chain c LEFT JOIN audit_chain p ON p.seq = c.seq - 1
   WHERE c.seq > :after AND c.seq <= :upto
     AND c.prev_hash IS DISTINCT FROM coalesce(p.hash, CASE WHEN c.seq = 1 THEN CAST(:genesis AS bytea) END)
) AS bad
"""

#: One link, to say what is wrong with it.
_LINK = f"""
SELECT c.seq, c.source, c.source_id, c.prev_hash, c.hash, p.hash AS before_hash,
       CASE c.source WHEN 0 THEN (SELECT {AUDIT_RECORD} FROM audit_log a WHERE a.id = c.source_id)
                     ELSE (SELECT {LEDGER_RECORD} FROM stock_ledger l WHERE l.id = c.source_id) END AS body
  FROM audit_chain c LEFT JOIN audit_chain p ON p.seq = c.seq - 1
 WHERE c.seq = :seq
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


async def _first_bad(db: async_sessionmaker, after: int, upto: int) -> int | None:
    async with db.begin() as session:
        # JIT compiling this plan costs more than it saves at these sizes
        await session.execute(text("SET LOCAL jit = off"))
        bad = await session.scalar(text(_FIRST_BAD), {"after": after, "upto": upto, "genesis": GENESIS})
    return None if bad is None else int(bad)


async def _what_is_wrong(db: async_sessionmaker, seq: int) -> BrokenLink:
    async with db() as session:
        r = (await session.execute(text(_LINK), {"seq": seq})).one()
    source = SOURCES[r.source]
    if r.before_hash is None and seq > 1:
        return BrokenLink(seq, source, int(r.source_id), f"link {seq - 1} before it is missing")
    if bytes(r.prev_hash) != (bytes(r.before_hash) if r.before_hash is not None else GENESIS):
        return BrokenLink(seq, source, int(r.source_id), "its previous hash is not the hash of the link before")
    if r.body is None:
        return BrokenLink(seq, source, int(r.source_id), "the record it seals is gone")
    # recomputed in Python as docs/audit.md spells it, not only in SQL
    if link_hash(bytes(r.prev_hash), seq, r.body) != bytes(r.hash):
        return BrokenLink(seq, source, int(r.source_id), "the record does not match its hash (changed after sealing)")
    return BrokenLink(seq, source, int(r.source_id), "the link does not follow")


async def verify(db: async_sessionmaker, *, seal_first: bool = True, parallel: int = VERIFY_PARALLEL) -> AuditVerified:
    """Recompute the whole chain and name the first link that does not follow (21 CFR Part 11 §11.10(e))."""
    started = time.perf_counter()
    if seal_first:
        await seal(db)
    async with db() as session:
        head = int(await session.scalar(text("SELECT coalesce(max(seq), 0) FROM audit_chain")) or 0)
    chunks = [(after, min(after + VERIFY_CHUNK, head)) for after in range(0, head, VERIFY_CHUNK)]
    broken: BrokenLink | None = None
    # chunks side by side, in order: the first chunk (in chain order) with a bad link names it
    for i in range(0, len(chunks), parallel):
        found = await asyncio.gather(*(_first_bad(db, a, u) for a, u in chunks[i : i + parallel]))
        bad = next((b for b in found if b is not None), None)
        if bad is not None:
            broken = await _what_is_wrong(db, bad)
            break
    async with db() as session:
        counts = (await session.execute(text(_UNSEALED))).one()
        head_hash = await session.scalar(text("SELECT hash FROM audit_chain WHERE seq = :s"), {"s": head})
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
    checked = head if broken is None else broken.seq - 1
    return AuditVerified(
        ok=broken is None,
        records=checked,
        head_hash=bytes(head_hash).hex() if broken is None and head_hash is not None else None,
        broken=broken,
        unsealed=max(int(counts.unsealed or 0), 0),
        seconds=round(time.perf_counter() - started, 3),
    )


_EXPORT = f"""
SELECT c.seq, c.prev_hash, c.hash, c.source,
       CASE c.source WHEN 0 THEN {AUDIT_RECORD} ELSE {LEDGER_RECORD} END AS body
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
