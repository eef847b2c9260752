"""Gap-free stream positions although transactions commit out of order."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import text

from tests.outbox.conftest import ACTOR, write_events
from udipick.db.outbox import add_events
from udipick.services import outbox


async def _positions(db) -> dict[str, int | None]:
    async with db() as s:
        rows = (await s.execute(text("SELECT data->>'tag' AS tag, position FROM outbox_events"))).all()
    return {r.tag: r.position for r in rows}


async def test_an_event_committed_after_a_later_transaction_still_gets_the_earlier_position(db):
    first = db()  # starts first, commits last
    second = db()
    await add_events(first, ACTOR, [("test.happened.v1", {"tag": "first"})])
    await add_events(second, ACTOR, [("test.happened.v1", {"tag": "second"})])
    await second.commit()

    async with db() as s:
        assigned, head, waiting = await outbox.sequence(s)
    # "second" is committed, but "first" (older transaction) is still running: nobody gets a position yet,
    # otherwise a reader at position 1 would later miss "first"
    assert (assigned, head, waiting) == (0, 0, 1)
    async with db() as s:
        assert await outbox.read_after(s, 0, 10) == []

    await first.commit()
    await first.close()
    await second.close()
    # sequenced until nothing waits: a transaction of another database on the same server (a parallel
    # test run) holds the cluster-wide horizon back for a moment
    assert await outbox.sequence_now(db) == 2
    assert await _positions(db) == {"first": 1, "second": 2}


async def test_a_rolled_back_transaction_leaves_no_gap(db):
    doomed = db()
    await add_events(doomed, ACTOR, [("test.happened.v1", {"tag": "doomed"})])
    await write_events(db, 2)
    await doomed.rollback()
    await doomed.close()
    assert await outbox.sequence_now(db) == 2
    async with db() as s:
        assert [e.position for e in await outbox.read_after(s, 0, 10)] == [1, 2]


async def test_concurrent_writers_committing_out_of_order_never_show_a_reader_a_gap(db):
    """Writers hold their transactions open for random times; two sequencers and a reader run meanwhile.

    The reader checks, on every read, that the first new position follows its cursor directly and
    that positions are contiguous: once it has seen N it can never later find an event below N.
    """
    writers, per_writer = 24, 5
    stop = asyncio.Event()
    seen: list[tuple[int, str]] = []

    async def writer(w: int) -> None:
        rng = random.Random(w)
        for k in range(per_writer):
            async with db() as s:
                await add_events(
                    s, ACTOR, [("test.happened.v1", {"tag": f"{w}-{k}-{j}"}) for j in range(rng.randint(1, 3))]
                )
                await asyncio.sleep(rng.random() * 0.03)  # hold the transaction open: commit order ≠ xid order
                await s.commit()

    async def sequencer() -> None:
        while not stop.is_set():
            async with db() as s:
                await outbox.sequence(s)
            await asyncio.sleep(0.001)  # pacing: sequence over and over while the writers commit, yielding to them

    async def reader() -> None:
        cursor = 0
        while True:
            async with db() as s:
                batch = await outbox.read_after(s, cursor, 50)
            if batch:
                assert [e.position for e in batch] == list(range(cursor + 1, cursor + 1 + len(batch)))
                seen.extend((e.position, str(e.event_id)) for e in batch)
                cursor = batch[-1].position
            elif stop.is_set() and cursor >= final_head[0]:
                return  # read up to the head it was given, not to the first empty page after stop
            await asyncio.sleep(0.001)  # pacing: read over and over while the writers commit, yielding to them

    final_head = [0]
    background = [asyncio.create_task(sequencer()), asyncio.create_task(sequencer()), asyncio.create_task(reader())]
    await asyncio.gather(*(writer(w) for w in range(writers)))
    head = await outbox.sequence_now(db)
    final_head[0] = head
    stop.set()
    await asyncio.wait_for(asyncio.gather(*background), timeout=30)

    async with db() as s:
        total = await s.scalar(text("SELECT count(*) FROM outbox_events"))
        unsequenced = await s.scalar(text("SELECT count(*) FROM outbox_events WHERE position IS NULL"))
    assert unsequenced == 0
    assert head == total == len(seen)
    assert [p for p, _ in seen] == list(range(1, total + 1))
    assert len({e for _, e in seen}) == total
    # positions follow transaction order: within the stream, tx ids never go backwards
    async with db() as s:
        txs = (await s.execute(text("SELECT tx_id FROM outbox_events ORDER BY position"))).scalars().all()
    assert txs == sorted(txs)


async def test_the_sequencer_reads_one_index_entry_for_the_head_however_empty_the_outbox_was_when_it_planned(
    database_url,
):
    """Its statements keep one plan per session. Planned on an empty outbox, ``max(position)`` was an
    aggregate over the whole position index, read again on every call as the outbox grew."""
    import asyncpg

    from tests.conftest import _dsn

    conn = await asyncpg.connect(_dsn(database_url))
    add = (
        "INSERT INTO outbox_events (event_id, type, occurred_at, data)"
        " SELECT gen_random_uuid(), 'test.happened.v1', now(), '{}' FROM generate_series(1, $1)"
    )

    async def sequence_all() -> tuple[int, int]:
        """(head, calls): a transaction of another database (xids are cluster-wide) may hold rows back a while."""
        for calls in range(1, 51):
            assigned, head, waiting = await conn.fetchrow("SELECT * FROM udipick_sequence_outbox()")
            if not waiting:
                return head, calls
            await asyncio.sleep(0.02)
        raise AssertionError(f"{waiting} events still held back")

    async def head_index_reads() -> int:
        await conn.execute("SELECT pg_stat_force_next_flush()")  # this session's counts, visible to the next statement
        return await conn.fetchval(
            "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'uq_outbox_events_position'"
        )

    try:
        # an outbox vacuumed while empty (a new installation, a restored one, the bench's fresh warehouse):
        # the planner then knows it has no rows, and the plans are made now
        await conn.execute("VACUUM (ANALYZE) outbox_events")
        assert await sequence_all() == (0, 1)
        await conn.execute(add, 5000)
        assert (await sequence_all())[0] == 5000
        before = await head_index_reads()
        await conn.execute(add, 1)
        head, calls = await sequence_all()
        assert head == 5001
        assert await head_index_reads() - before <= 2 * calls  # the head on each call, not all 5,000 positions
    finally:
        await conn.close()


async def test_the_head_and_backlog_are_read_from_indexes_in_plans_cached_on_an_empty_outbox(database_url):
    """The relay, the hub, exports and /metrics keep their statements prepared per connection, where
    sequential scans are allowed: a plain query planned on an empty outbox became a scan and a sort."""
    import asyncpg

    from tests.conftest import _dsn
    from udipick.services.outbox import BACKLOG, HEAD

    conn = await asyncpg.connect(_dsn(database_url))

    async def reads() -> tuple[int, int]:
        """(rows the outbox gave sequential scans, entries the position index gave index scans) so far."""
        await conn.execute("SELECT pg_stat_force_next_flush()")
        return tuple(
            await conn.fetchrow(
                "SELECT t.seq_tup_read, i.idx_tup_read FROM pg_stat_user_tables t JOIN pg_stat_user_indexes i ON i.relid = t.relid"
                " WHERE t.relname = 'outbox_events' AND i.indexrelname = 'uq_outbox_events_position'"
            )
        )

    try:
        await conn.execute("VACUUM (ANALYZE) outbox_events")
        for _ in range(7):  # past the custom plans: this connection keeps its plans from now on
            assert await conn.fetchval(HEAD) == 0
            assert tuple(await conn.fetchrow(BACKLOG)) == (0, None)
        await conn.execute(
            "INSERT INTO outbox_events (event_id, type, occurred_at, data)"
            " SELECT gen_random_uuid(), 'test.happened.v1', now(), '{}' FROM generate_series(1, 5000)"
        )
        await conn.execute("UPDATE outbox_events SET position = id")  # numbered, as the sequencer would
        last = await conn.fetchval("SELECT max(id) FROM outbox_events")
        seq_before, index_before = await reads()
        assert await conn.fetchval(HEAD) == last
        seq_after, index_after = await reads()
        assert seq_after == seq_before and index_after - index_before == 1
        await conn.execute(
            "INSERT INTO outbox_events (event_id, type, occurred_at, data)"
            " VALUES (gen_random_uuid(), 'test.happened.v1', now(), '{}')"
        )
        assert (await conn.fetchrow(BACKLOG))["unsequenced"] == 1
        assert (await reads())[0] == seq_before  # counted from the partial index, not by reading the 5,001 rows
    finally:
        await conn.close()
