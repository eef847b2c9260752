"""The schema is what the migrations build, and the models describe exactly that schema."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from udipick.db.engine import make_engine
from udipick.db.migrate import alembic_config, current_heads
from udipick.db.schema import Base


def _in_thread(fn):
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0] if out else None


async def test_models_match_the_migrations(database_url):
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert diffs == [], diffs
    assert (version,) == current_heads()


def test_there_is_one_linear_chain_of_revisions():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://x/y"))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


async def test_downgrade_to_empty_and_upgrade_again(database_url):
    from alembic import command

    cfg = alembic_config(database_url)
    _in_thread(lambda: command.downgrade(cfg, "base"))
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        assert tables == 0
        _in_thread(lambda: command.upgrade(cfg, "head"))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT to_regclass('stock_ledger') IS NOT NULL"))
    finally:
        await engine.dispose()
