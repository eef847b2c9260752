"""``create_app``: the Litestar application, its plugins, one error model and one access guard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from udipick.api import admin, auth, health, scans
from udipick.api.count_tasks import count_tasks_router
from udipick.api.counts import counts_router
from udipick.api.deps import (
    access_guard,
    allow,
    provide_actor,
    provide_db,
    provide_labels,
    provide_settings,
    watch_auth_changes,
)
from udipick.api.epcis import epcis_events
from udipick.api.erp import erp_inbound_router
from udipick.api.events import events_router
from udipick.api.exceptions import exceptions_router
from udipick.api.gsp import gsp_router
from udipick.api.kpis import kpis_router
from udipick.api.labels import ROUTES as label_routes
from udipick.api.live import live_floor
from udipick.api.metrics import metrics, time_gc_pauses, timing_middleware
from udipick.api.moves import moves_router
from udipick.api.openapi import PLUGINS as OPENAPI_PLUGINS
from udipick.api.opening import opening_router
from udipick.api.packing import packing_router
from udipick.api.picking import picking_router
from udipick.api.problems import EXCEPTION_HANDLERS
from udipick.api.pwa import pwa_router
from udipick.api.recalls import recalls_router
from udipick.api.receiving import ROUTES as receiving_routes
from udipick.api.regulatory import regulatory_router
from udipick.api.replenishment import replenishment_router
from udipick.api.request import UdipickRequest
from udipick.api.returns import returns_router
from udipick.api.stock_view import stock_view_router
from udipick.api.stream import erp_stream, hub_for, stop_hub
from udipick.api.waves import waves_router
from udipick.config import Settings
from udipick.db.engine import make_engine, make_sessionmaker
from udipick.db.pg import close_hot_pool, open_hot_pool
from udipick.integrations.labels.render import ZplTemplates
from udipick.services import audit, expiry, identity, kpis, picking
from udipick.services.password_checks import PasswordChecks
from udipick.services.replenishment import planner_in_background

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("udipick")


@contextlib.asynccontextmanager
async def _print_worker(db) -> AsyncIterator[None]:
    """Send queued label jobs (receiving LPNs, packing SSCCs) to their printers, with retries."""
    from udipick.integrations.print_worker import PrintWorker

    stop = asyncio.Event()
    task = asyncio.create_task(PrintWorker(db).run(stop), name="udipick-print-worker")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=15)


async def prepare_hot_statements(conn: asyncpg.Connection) -> None:
    """What every new hot-pool connection prepares before its first scan."""
    await picking.prepare_statements(conn)
    await identity.prepare_statements(conn)


def create_app(settings: Settings, *, database_url: str) -> Litestar:
    """Build the app for one database URL (the CLI resolves embedded vs. configured PostgreSQL)."""
    time_gc_pauses()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(database_url, pool_size=settings.db_pool_size)
        app.state.engine = engine
        app.state.db = make_sessionmaker(engine)
        app.state.password_checks = PasswordChecks.from_settings(settings)
        await open_hot_pool(
            engine, settings.db_pool_size, warm_up=prepare_hot_statements if settings.db_pool_warm else None
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                # the outbox hub numbers this process's events as they commit and wakes stream readers;
                # its connection also hears of sign-outs, revoked keys and deactivated users (token cache)
                await watch_auth_changes(app.state, await hub_for(app.state))
                # the audit chain is extended in the background, so no writer waits for it (docs/audit.md)
                await stack.enter_async_context(audit.sealer_in_background(app.state.db))
                if settings.run_relay:
                    from udipick.integrations.relay import RelayOptions, relay_in_background

                    relay_options = RelayOptions(allow_loopback_targets=settings.webhook_allow_loopback)
                    await stack.enter_async_context(relay_in_background(database_url, relay_options))
                    await stack.enter_async_context(_print_worker(app.state.db))
                    if settings.replenish_every_seconds > 0:
                        await stack.enter_async_context(
                            planner_in_background(app.state.db, settings.replenish_every_seconds)
                        )
                    if settings.count_schedule_every_seconds > 0:
                        from udipick.services.count_tasks import schedule_in_background

                        await stack.enter_async_context(schedule_in_background(app.state.db, settings))
                    # stock past its expiry moves to ``expired`` at start and after each local midnight
                    await stack.enter_async_context(expiry.sweeper_in_background(app.state.db))
                    if settings.stock_summary_every_seconds > 0:
                        from udipick.services.stock_view import fold_in_background

                        await stack.enter_async_context(
                            fold_in_background(app.state.db, settings.stock_summary_every_seconds)
                        )
                    if settings.reorder_every_seconds > 0:
                        from udipick.services.stock_view import reorder_in_background

                        await stack.enter_async_context(
                            reorder_in_background(app.state.db, settings.reorder_every_seconds)
                        )
                    if settings.kpi_days_back > 0:
                        await stack.enter_async_context(
                            kpis.day_keeper_in_background(
                                app.state.db,
                                every_seconds=settings.kpi_days_every_seconds,
                                days_back=settings.kpi_days_back,
                            )
                        )
                yield
        finally:
            await stop_hub(app.state)
            await close_hot_pool(engine)
            await engine.dispose()
            app.state.password_checks.close()

    routes: list = [
        health.healthz,
        health.readyz,
        auth.login,
        auth.logout,
        auth.me,
        auth.unlock_user,
        scans.interpret_scan,
        erp_inbound_router(settings),
        opening_router,
    ]
    routes += [admin.admin_router]
    routes += label_routes
    routes += [events_router, erp_stream, epcis_events, metrics]
    routes += receiving_routes
    routes += [picking_router, packing_router, counts_router, replenishment_router, recalls_router, waves_router]
    routes += [moves_router]
    routes += [count_tasks_router]
    routes += [exceptions_router, live_floor]
    routes += [kpis_router]
    routes += [returns_router]
    routes += [regulatory_router]
    routes += [stock_view_router]
    routes += [gsp_router]
    if settings.pwa_dir and Path(settings.pwa_dir, "index.html").exists():
        routes.append(pwa_router(settings.pwa_dir, opt=allow(public=True)["opt"]))
    app = Litestar(
        route_handlers=routes,
        middleware=[timing_middleware],
        plugins=OPENAPI_PLUGINS,  # every operation's problem responses, stated once
        lifespan=[lifespan],
        guards=[access_guard],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "labels": Provide(provide_labels, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]  # mypy joins the handlers' differing signatures to `function`
        # every JSON body is measured for depth before it is decoded; bulk loads set their own body limit
        request_class=UdipickRequest,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="udipick",
            version="1",
            path="/schema",
            openapi_router=Router(
                path="/schema",
                route_handlers=[],
                include_in_schema=False,
                **{k: v for k, v in allow(public=True).items() if k == "opt"},
            ),
            description="Warehouse execution for medical-device distributors. Errors are RFC 9457 problem details.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            security=[{"bearer": []}],
        ),
        cors_config=CORSConfig(allow_origins=["*"], allow_headers=["authorization", "content-type", "x-device-id"]),
    )
    app.state.settings = settings
    # the services render labels through this adapter (services/printing.py's LabelRenderer); they never
    # import the integration themselves, which builds on them (integrations/print_worker.py)
    app.state.labels = ZplTemplates()
    return app


def create_app_from_env() -> Litestar:
    """Factory for multi-worker servers: every worker reads the same environment."""
    from udipick.config import load_settings

    settings = load_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL must be set for a multi-worker server")
    return create_app(settings, database_url=settings.database_url)
