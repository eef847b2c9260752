"""The relay: sends outbox events to webhook subscribers, in order, at least once.

Run it as ``udipick relay`` (one or several processes, on one or several hosts) or inside
``udipick serve`` (``UDIPICK_RUN_RELAY``). Each relay:

- keeps an ``OutboxHub`` (LISTEN + sequencer), so new positions wake it within milliseconds;
- fans new positions out into per-subscription deliveries;
- runs ``concurrency`` workers that each lease one due subscription (``FOR UPDATE SKIP LOCKED``)
  and POST its pending deliveries one by one in position order, stopping at the first failure
  (retried after exponential backoff with jitter) and moving a delivery to ``dead`` after the
  subscription's ``max_attempts``.

``kill -9`` at any point loses nothing: a delivery is marked delivered only after the 2xx, so
one in flight is sent again (same ``webhook-id``) when the lease expires.

With ``--sink amqp://...`` (repeatable) the relay also publishes every event to a message broker, one
``SinkPump`` per sink (``integrations/sinks``), woken by the same hub.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass

import httpx

from udipick.db.engine import make_engine, make_sessionmaker
from udipick.domain.errors import WebhookTargetRefused
from udipick.domain.retry import backoff
from udipick.integrations.sinks import SinkOptions, SinkPump, open_sink
from udipick.services import webhooks
from udipick.services.outbox import ENCODER, OutboxHub, asyncpg_dsn

log = logging.getLogger("udipick.relay")


@dataclass(frozen=True)
class RelayOptions:
    concurrency: int = 4
    #: a leased subscription is free again this long after its relay stops renewing (crash, kill -9)
    lease_seconds: float = 30.0
    #: first retry after about this many seconds, doubling up to ``backoff_cap``
    backoff_base: float = 2.0
    backoff_cap: float = 3600.0
    #: per POST
    timeout: float = 10.0
    #: fallback wake-up when no NOTIFY arrives
    poll_interval: float = 1.0
    #: deliveries fetched per round for one subscription
    batch: int = 100
    #: subscriptions may point at this host's loopback addresses (``UDIPICK_WEBHOOK_ALLOW_LOOPBACK``)
    allow_loopback_targets: bool = False
    #: broker addresses to publish every event to (``--sink``), e.g. ``amqp://guest:guest@127.0.0.1:5672/``
    sinks: tuple[str, ...] = ()
    #: events per published and confirmed page (``--sink-page``)
    sink_page: int = 500


@dataclass
class RelayStats:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


class Relay:
    def __init__(self, database_url: str, options: RelayOptions | None = None, *, name: str | None = None) -> None:
        self.database_url = database_url
        self.options = options or RelayOptions()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) % 10000}"
        self.stats = RelayStats()
        self._work = asyncio.Event()
        self._positions = asyncio.Event()
        self._stop = asyncio.Event()
        #: one per ``options.sinks``, built at once so a bad address is refused before anything starts
        self.sinks = [open_sink(url) for url in self.options.sinks]
        self.pumps: list[SinkPump] = []

    def stop(self) -> None:
        self._stop.set()
        for pump in self.pumps:
            pump.stop()
        self._work.set()
        self._positions.set()

    def _wake(self, _head: int = 0) -> None:
        self._positions.set()

    async def run(self) -> None:
        engine = make_engine(self.database_url, pool_size=self.options.concurrency + 2)
        db = make_sessionmaker(engine)
        hub = OutboxHub(asyncpg_dsn(self.database_url), poll_interval=self.options.poll_interval)
        hub.listeners.append(self._wake)
        http = httpx.AsyncClient(
            timeout=self.options.timeout, follow_redirects=False, headers={"user-agent": "udipick-relay"}
        )
        log.info("relay %s started (concurrency %d)", self.name, self.options.concurrency)
        tasks: list[asyncio.Task] = []
        try:
            await hub.start()
            tasks = [asyncio.create_task(self._fan_out_loop(db))]
            tasks += [asyncio.create_task(self._worker(db, http, i)) for i in range(self.options.concurrency)]
            sink_options = SinkOptions(page=self.options.sink_page, poll_interval=self.options.poll_interval)
            dsn = asyncpg_dsn(self.database_url)
            self.pumps = [SinkPump(sink, dsn, hub, sink_options) for sink in self.sinks]
            tasks += [asyncio.create_task(pump.run()) for pump in self.pumps]
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            await http.aclose()
            await hub.stop()
            await engine.dispose()
            log.info("relay %s stopped", self.name)

    async def _fan_out_loop(self, db) -> None:
        while not self._stop.is_set():
            self._positions.clear()
            try:
                async with db() as session:
                    created = await webhooks.fan_out(session)
                if created:
                    self._work.set()
            except Exception as exc:  # noqa: BLE001 - database restarting: try again on the next wake-up
                log.warning("relay fan-out: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(1)
            # wake on new positions (the hub calls _wake) or poll
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._positions.wait(), self.options.poll_interval)

    async def _worker(self, db, http: httpx.AsyncClient, n: int) -> None:
        while not self._stop.is_set():
            try:
                self._work.clear()
                async with db() as session:
                    sub = await webhooks.claim(session, self.name, self.options.lease_seconds)
                if sub is None:
                    await self._idle(db)
                    continue
                try:
                    await self._deliver(db, http, sub)
                finally:
                    async with db() as session:
                        await webhooks.release(session, sub.id, self.name)
                self._work.set()  # other subscriptions may be due: let idle workers look
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker must survive any one failure
                log.warning("relay worker %d: %s: %s", n, type(exc).__name__, exc)
                await asyncio.sleep(0.5)

    async def _idle(self, db) -> None:
        timeout = self.options.poll_interval
        async with db() as session:
            due = await webhooks.next_due(session)
        if due is not None:
            timeout = max(0.01, min(timeout, (due - dt.datetime.now(dt.UTC)).total_seconds()))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._work.wait(), timeout)

    async def _deliver(self, db, http: httpx.AsyncClient, sub: webhooks.Subscription) -> None:
        opts = self.options
        lease_started = time.monotonic()
        while not self._stop.is_set():
            async with db() as session:
                batch = await webhooks.pending(session, sub.id, opts.batch)
            if not batch or batch[0].next_attempt_at > dt.datetime.now(dt.UTC):
                return
            for due in batch:
                # keep the lease comfortably ahead of the POST we are about to make
                if time.monotonic() - lease_started > opts.lease_seconds - opts.timeout - 1:
                    async with db() as session:
                        if not await webhooks.renew(session, sub.id, self.name, opts.lease_seconds):
                            log.warning("relay %s lost the lease on subscription %s", self.name, sub.name)
                            return
                    lease_started = time.monotonic()
                outcome = await self._post(db, http, sub, due)
                if outcome == "pending":
                    return  # later deliveries wait behind this one: order per subscriber
                if self._stop.is_set():
                    return

    async def _post(self, db, http: httpx.AsyncClient, sub: webhooks.Subscription, due: webhooks.Due) -> str:
        body = ENCODER.encode(due.event)
        msg_id = str(due.event.event_id)
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": webhooks.sign(sub.secret, msg_id, ts, body),
        }
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._send(http, sub.url, body, headers)
            status_code = response.status_code
            ok = 200 <= status_code < 300
            if not ok:
                error = f"HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            ok = False
            error = f"{type(exc).__name__}: {exc}"[:500]
        except WebhookTargetRefused as exc:  # the name resolves somewhere it may not go (now): retried, then dead
            ok = False
            error = f"refused: {exc.message}"[:500]
        duration_ms = int((time.perf_counter() - started) * 1000)
        retry_in = backoff(due.attempts + 1, base=self.options.backoff_base, cap=self.options.backoff_cap, jitter=True)
        async with db() as session:
            status = await webhooks.record_attempt(
                session,
                due.delivery_id,
                ok=ok,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                relay=self.name,
                retry_in=retry_in,
                max_attempts=sub.max_attempts,
            )
        if status == "delivered":
            self.stats.delivered += 1
        elif status == "dead":
            self.stats.dead += 1
            log.warning(
                "webhook %s: delivery of position %s is dead after %s attempts: %s",
                sub.name,
                due.event.position,
                due.attempts + 1,
                error,
            )
        else:
            self.stats.failed += 1
        return status

    async def _send(self, http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to an address checked just now, not to whatever the name resolves to a moment later.

        The host is resolved and every address checked (``webhooks.resolve_target``); the request then
        goes to a checked address, with the URL's host in ``Host`` and, for https, in SNI and the
        certificate check, so the ERP sees the same request as if httpx had resolved the name itself.
        """
        target = await webhooks.resolve_target(url, allow_loopback=self.options.allow_loopback_targets)
        original = httpx.URL(url)
        extensions = {}
        if original.scheme == "https" and target.host not in target.addresses:
            extensions["sni_hostname"] = target.host
        headers = {**headers, "host": original.netloc.decode("ascii")}
        failure: httpx.ConnectError | None = None
        for (
            address
        ) in target.addresses:  # the next address when one refuses the connection, as a resolver-driven client would
            try:
                return await http.post(
                    original.copy_with(host=address), content=body, headers=headers, extensions=extensions
                )
            except httpx.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure


@contextlib.asynccontextmanager
async def relay_in_background(database_url: str, options: RelayOptions | None = None):
    """Run a relay as a task of the current event loop (``udipick serve`` with ``run_relay``)."""
    relay = Relay(database_url, options)
    task = asyncio.create_task(relay.run(), name="udipick-relay")
    try:
        yield relay
    finally:
        relay.stop()
        try:
            await asyncio.wait_for(task, timeout=15)
        except Exception as exc:  # noqa: BLE001 - shutting down: report, do not mask the app's own exit
            log.warning("relay did not stop cleanly: %r", exc)


def options_from_args(args: argparse.Namespace, *, allow_loopback_targets: bool = False) -> RelayOptions:
    return RelayOptions(
        concurrency=args.concurrency,
        lease_seconds=args.lease_seconds,
        backoff_base=args.backoff_base,
        backoff_cap=args.backoff_cap,
        timeout=args.timeout,
        allow_loopback_targets=allow_loopback_targets,
        sinks=tuple(args.sink or ()),
        sink_page=args.sink_page,
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = RelayOptions()
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="subscriptions sent to at the same time")
    p.add_argument("--lease-seconds", type=float, default=d.lease_seconds)
    p.add_argument("--backoff-base", type=float, default=d.backoff_base, help="first retry delay in seconds")
    p.add_argument("--backoff-cap", type=float, default=d.backoff_cap)
    p.add_argument("--timeout", type=float, default=d.timeout, help="per webhook POST, seconds")
    p.add_argument(
        "--sink",
        action="append",
        metavar="URL",
        help="also publish every event to this broker, in order, at least once (repeatable):"
        " amqp://user:pass@host:5672/vhost[?exchange=udipick.events&queue=NAME&bind=PATTERN]"
        " (docs/erp_integration.md)",
    )
    p.add_argument("--sink-page", type=int, default=d.sink_page, help="events per confirmed page to a sink")


def run_forever(database_url: str, options: RelayOptions) -> int:
    """Foreground relay until SIGTERM/SIGINT (the CLI's ``udipick relay``)."""

    relay = Relay(database_url, options)  # refuses a bad --sink here, before the loop starts

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, relay.stop)
        print(f"udipick relay {relay.name} running", flush=True)
        await relay.run()

    asyncio.run(main())
    return 0


if __name__ == "__main__":  # pragma: no cover - ``python -m udipick.integrations.relay``
    from udipick.config import load_settings
    from udipick.db.engine import database_url as resolve_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m udipick.integrations.relay")
    add_arguments(parser)
    ns = parser.parse_args()
    settings = load_settings()
    with resolve_url(settings) as url:
        sys.exit(run_forever(url, options_from_args(ns, allow_loopback_targets=settings.webhook_allow_loopback)))
