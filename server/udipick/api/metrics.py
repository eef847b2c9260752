"""``GET /metrics``: Prometheus text exposition, plus request timing and request ids.

Integration health comes from PostgreSQL, so every process reports the same truth about the
outbox backlog, the oldest unsequenced event, each webhook subscriber's lag, failures, retries
and dead letters, and each stream subscriber's lag — an operator sees an ERP falling behind
before its users do. Request latency histograms and the WebSocket figures are per process.

The timing middleware also gives every request an id (``x-request-id``, taken from the caller
when it sends one) that the JSON log lines carry.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import json
import logging
import os
import re
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from litestar import Request, get
from litestar.response import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from udipick.api.deps import Db, allow
from udipick.services.metrics import integration_figures

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("udipick_request_id", default=None)

disable_created_metrics()  # no ``*_created`` series: udipick's dashboards do not use them

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: this process's own series (request latency, scan verdicts); the figures read from PostgreSQL at each
#: scrape are collected into a registry of their own (``_scrape``), so both go out in one exposition
PROCESS = CollectorRegistry(auto_describe=False)
HTTP_LATENCY = Histogram(
    "udipick_http_request_duration_seconds",
    "Request latency by route (scan endpoints included), this process.",
    ("route", "method"),
    buckets=BUCKETS,
    registry=PROCESS,
)
SCAN_VERDICTS = Counter(
    "udipick_scan_verdicts",
    "Scan verdicts answered by this process, by workflow (pick, receipt, putaway, pack, count, ...) and verdict.",
    ("workflow", "verdict"),
    registry=PROCESS,
)


class GcPauses:
    """Pauses of this process's cyclic garbage collector, by generation: a collection stops every request the
    process is serving, so a long one shows up as a stretch of late scans on every handheld at once.

    Kept in plain lists rather than a ``prometheus_client.Histogram``: the collector's callback runs inside
    any allocation, and the library's metric locks are not re-entrant.
    """

    BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

    def __init__(self) -> None:
        self.counts = {g: [0] * (len(self.BUCKETS) + 1) for g in ("0", "1", "2")}
        self.sums = dict.fromkeys(self.counts, 0.0)
        self.maxima = dict.fromkeys(self.counts, 0.0)
        self._started = 0.0

    def callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation, seconds = str(info["generation"]), time.perf_counter() - self._started
        self.counts[generation][bisect_left(self.BUCKETS, seconds)] += 1
        self.sums[generation] += seconds
        if seconds > self.maxima[generation]:
            self.maxima[generation] = seconds

    def collect(self) -> Iterator[Metric]:
        pauses = HistogramMetricFamily(
            "udipick_gc_pause_seconds",
            "Pauses of this process's garbage collector, by generation.",
            labels=("generation",),
        )
        longest = GaugeMetricFamily(
            "udipick_gc_pause_max_seconds",
            "Longest garbage-collector pause of this process since it started, by generation.",
            labels=("generation",),
        )
        for generation, counts in self.counts.items():
            running, buckets = 0, []
            for bound, c in zip((*self.BUCKETS, float("inf")), counts, strict=True):
                running += c
                buckets.append((floatToGoString(bound), running))
            pauses.add_metric([generation], buckets, self.sums[generation])
            longest.add_metric([generation], round(self.maxima[generation], 6))
        yield pauses
        yield longest


GC_PAUSES = GcPauses()
PROCESS.register(GC_PAUSES)


def time_gc_pauses() -> None:
    """Measure this process's garbage-collector pauses for ``/metrics`` (once per process)."""
    if GC_PAUSES.callback not in gc.callbacks:
        gc.callbacks.append(GC_PAUSES.callback)


_VERDICT_SERIES: dict[tuple[str, str], Any] = {}


def count_verdict(workflow: str, status: int, replayed: bool) -> None:
    """A scan verdict this process answered; a replayed answer is not a new verdict. Counted here rather
    than from ``scan_replies`` at each scrape: that table grows by every scan ever made."""
    if not replayed:
        key = (workflow, "accepted" if status < 400 else "refused")
        series = _VERDICT_SERIES.get(key)
        if series is None:
            series = _VERDICT_SERIES[key] = SCAN_VERDICTS.labels(*key)
        series.inc()


_ID = re.compile(r"\{[^}]+\}")


@functools.lru_cache(maxsize=1024)
def _latency_series(template: str, method: str) -> Any:
    """The histogram child of one route and method (route templates with ids folded, so the series stay few)."""
    return HTTP_LATENCY.labels(_ID.sub("{id}", template)[:120], method)


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def _new_request_id() -> str:
    """``uuid.uuid4().hex``, for a third of the CPU (every request without an id of its own needs one)."""
    return "%032x" % (int.from_bytes(os.urandom(16)) & _V4_CLEAR | _V4_SET)


def timing_middleware(app):
    """ASGI middleware: request id in, latency histogram per route template and method out."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode()
                break
        rid = (rid or _new_request_id())[:64]
        header = (b"x-request-id", rid.encode())
        token = request_id.set(rid)
        started = time.perf_counter()

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            path = scope.get("path_template") or "unmatched"
            _latency_series(path, scope.get("method", "")).observe(time.perf_counter() - started)
            request_id.reset(token)

    return middleware


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra``."""

    _SKIP = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := request_id.get():
            out["requestId"] = rid
        for k, v in record.__dict__.items():
            if k not in self._SKIP and not k.startswith("_"):
                out[k] = v if isinstance(v, str | int | float | bool | type(None)) else repr(v)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# ---- exposition ---------------------------------------------------------------------------------------


class _Out:
    """The families of one scrape, for ``prometheus_client``'s exposition."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def metric(self, name: str, kind: str, help_: str, samples: list[tuple[dict[str, object], float]]) -> None:
        labels = tuple(samples[0][0]) if samples else ()
        family: Metric = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
            name.removesuffix("_total"), help_, labels=labels
        )
        for values, value in samples:
            family.add_metric([str(v) for v in values.values()], value)
        self.families.append(family)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


@get(
    "/metrics",
    name="metrics",
    summary="Prometheus metrics",
    include_in_schema=False,
    **allow("admin", "supervisor", scopes=("admin", "erp:read")),
)
async def metrics(db: Db, request: Request) -> Response:
    out = _Out()
    figures = await integration_figures(db)
    o, hooks, attempts, retried, streams = (
        figures.outbox,
        figures.webhooks,
        figures.attempts,
        figures.retried,
        figures.streams,
    )
    head = o.head
    out.metric("udipick_outbox_head_position", "gauge", "Highest assigned stream position.", [({}, head)])
    out.metric(
        "udipick_outbox_unsequenced_events",
        "gauge",
        "Events written but not yet given a position.",
        [({}, o.unsequenced)],
    )
    out.metric(
        "udipick_outbox_oldest_unsequenced_age_seconds",
        "gauge",
        "Age of the oldest event without a position (a long-open transaction holds the stream back).",
        [({}, round(float(o.oldest), 3))],
    )
    out.metric(
        "udipick_webhook_pending_deliveries",
        "gauge",
        "Deliveries waiting, per subscription.",
        [({"subscription": h.name}, h.pending) for h in hooks],
    )
    out.metric(
        "udipick_webhook_lag_events",
        "gauge",
        "Stream positions the subscriber has not received yet.",
        [({"subscription": h.name}, head - (h.first_pending - 1 if h.first_pending else h.cursor)) for h in hooks],
    )
    out.metric(
        "udipick_webhook_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest undelivered event, per subscription.",
        [({"subscription": h.name}, round(float(h.oldest), 3)) for h in hooks],
    )
    out.metric(
        "udipick_webhook_dead_letters",
        "gauge",
        "Deliveries that ran out of attempts.",
        [({"subscription": h.name}, h.dead) for h in hooks],
    )
    out.metric(
        "udipick_webhook_attempts_total",
        "counter",
        "POSTs to subscribers by outcome.",
        [({"subscription": a.name, "outcome": "ok" if a.ok else "failed"}, a.n) for a in attempts],
    )
    out.metric(
        "udipick_webhook_retries_total",
        "counter",
        "Attempts beyond the first, per subscription.",
        [({"subscription": r.name}, r.n) for r in retried],
    )
    out.metric(
        "udipick_stream_subscriber_lag_events",
        "gauge",
        "Positions not yet acknowledged, per WebSocket subscriber.",
        [({"owner": r.owner, "subscriber": r.name}, max(0, head - r.acked_position)) for r in streams],
    )
    _stream_metrics(out, request)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(out)
    return Response(generate_latest(scrape) + generate_latest(PROCESS), media_type=CONTENT_TYPE_LATEST)


def _stream_metrics(out: _Out, request: Request) -> None:
    from udipick.api.stream import stream_stats

    # figures of this process only (label with the instance in Prometheus)
    stats = stream_stats(request.app.state)
    out.metric("udipick_stream_connected", "gauge", "Open WebSocket streams in this process.", [({}, stats.connected)])
    out.metric(
        "udipick_stream_events_sent_total",
        "counter",
        "Events written to WebSockets by this process.",
        [({}, stats.sent)],
    )
    out.metric(
        "udipick_stream_slow_disconnects_total",
        "counter",
        "Streams closed because the client stopped reading.",
        [({}, stats.slow_disconnects)],
    )
