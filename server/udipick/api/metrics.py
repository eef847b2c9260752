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
from collections import defaultdict

from litestar import Request, get
from litestar.response import Response
from sqlalchemy import text

from udipick.api.deps import Db, allow
from udipick.services.outbox import BACKLOG, HEAD

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("udipick_request_id", default=None)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * (len(buckets) + 1))
        self.sums: dict[tuple[str, ...], float] = defaultdict(float)
        self.maxima: dict[tuple[str, ...], float] = defaultdict(float)

    def declare(self, *series: tuple[str, ...]) -> None:
        """Series shown from the first scrape, before anything is observed in them."""
        for labels in series:
            self.counts[labels], self.sums[labels], self.maxima[labels] = [0] * (len(self.buckets) + 1), 0.0, 0.0

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        self.counts[labels][bisect_left(self.buckets, seconds)] += 1
        self.sums[labels] += seconds
        if seconds > self.maxima[labels]:
            self.maxima[labels] = seconds

    def render(self, out: _Out, name: str, help_: str, label_names: tuple[str, ...]) -> None:
        out.lines.append(f"# HELP {name} {help_}")
        out.lines.append(f"# TYPE {name} histogram")
        for key, counts in sorted(self.counts.items()):
            labels = ",".join(f'{n}="{_esc(v)}"' for n, v in zip(label_names, key, strict=True))
            running = 0
            for bound, c in zip(self.buckets, counts, strict=False):
                running += c
                out.lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
            running += counts[-1]
            out.lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {running}')
            out.lines.append(f"{name}_sum{{{labels}}} {self.sums[key]:.6f}")
            out.lines.append(f"{name}_count{{{labels}}} {running}")


HTTP_LATENCY = Histogram()

#: pauses of this process's cyclic garbage collector, by generation: a collection stops every request the
#: process is serving, so a long one shows up as a stretch of late scans on every handheld at once
GC_PAUSES = Histogram((0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
GC_PAUSES.declare(("0",), ("1",), ("2",))  # so no series is added by a collection while a scrape reads them
_gc_started = [0.0]


def _time_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        GC_PAUSES.observe((str(info["generation"]),), time.perf_counter() - _gc_started[0])


def time_gc_pauses() -> None:
    """Measure this process's garbage-collector pauses for ``/metrics`` (once per process)."""
    if _time_gc not in gc.callbacks:
        gc.callbacks.append(_time_gc)

#: scan verdicts this process answered, by workflow and verdict; a replayed answer is not a new verdict.
#: Counted here rather than from ``scan_replies`` at each scrape: that table grows by every scan ever
#: made (a full count per scrape), and its ``action`` names the task (one series per task).
SCAN_VERDICTS: dict[tuple[str, str], int] = defaultdict(int)


def count_verdict(workflow: str, status: int, replayed: bool) -> None:
    if not replayed:
        SCAN_VERDICTS[(workflow, "accepted" if status < 400 else "refused")] += 1


_ID = re.compile(r"\{[^}]+\}")


@functools.lru_cache(maxsize=512)
def _route_label(template: str) -> str:
    return _ID.sub("{id}", template)[:120]


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
            HTTP_LATENCY.observe((_route_label(path), scope.get("method", "")), time.perf_counter() - started)
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


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_: str, samples: list[tuple[dict[str, object], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{label}}} {value}" if label else f"{name} {value}")


@get("/metrics", name="metrics", summary="Prometheus metrics", include_in_schema=False, **allow("admin", scopes=("admin", "erp:read")))
async def metrics(db: Db, request: Request) -> Response:
    out = _Out()
    async with db() as s:
        o = (
            await s.execute(
                # the head from the end of the position index and the backlog from the partial index of
                # unsequenced rows: a scrape costs the same with ten events or ten million
                text(
                    f"SELECT ({HEAD}) AS head, b.unsequenced, coalesce(extract(epoch FROM now() - b.oldest), 0) AS oldest"
                    f" FROM ({BACKLOG}) b"
                )
            )
        ).one()
        hooks = (
            await s.execute(
                text(
                    """
SELECT w.name, w.active,
       count(*) FILTER (WHERE d.status = 'pending') AS pending,
       count(*) FILTER (WHERE d.status = 'dead') AS dead,
       coalesce(extract(epoch FROM now() - min(o.occurred_at) FILTER (WHERE d.status = 'pending')), 0) AS oldest,
       min(d.position) FILTER (WHERE d.status = 'pending') AS first_pending,
       w.cursor
  FROM webhook_subscriptions w
  LEFT JOIN webhook_deliveries d ON d.subscription_id = w.id
  LEFT JOIN outbox_events o ON o.position = d.position AND d.status = 'pending'
 GROUP BY w.id ORDER BY w.name"""
                )
            )
        ).all()
        attempts = (
            await s.execute(
                text(
                    "SELECT w.name, (a.status_code BETWEEN 200 AND 299) AS ok, count(*) AS n FROM webhook_attempts a"
                    " JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_subscriptions w ON w.id = d.subscription_id"
                    " GROUP BY 1, 2 ORDER BY 1, 2"
                )
            )
        ).all()
        retried = (
            await s.execute(
                text(
                    "SELECT w.name, coalesce(sum(greatest(d.attempts - 1, 0)), 0) AS n FROM webhook_deliveries d"
                    " JOIN webhook_subscriptions w ON w.id = d.subscription_id GROUP BY 1 ORDER BY 1"
                )
            )
        ).all()
        streams = (await s.execute(text("SELECT owner, name, acked_position FROM stream_subscribers ORDER BY 1, 2"))).all()
    head = o.head
    out.metric("udipick_outbox_head_position", "gauge", "Highest assigned stream position.", [({}, head)])
    out.metric("udipick_outbox_unsequenced_events", "gauge", "Events written but not yet given a position.", [({}, o.unsequenced)])
    out.metric(
        "udipick_outbox_oldest_unsequenced_age_seconds",
        "gauge",
        "Age of the oldest event without a position (a long-open transaction holds the stream back).",
        [({}, round(float(o.oldest), 3))],
    )
    out.metric("udipick_webhook_pending_deliveries", "gauge", "Deliveries waiting, per subscription.", [({"subscription": h.name}, h.pending) for h in hooks])
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
    out.metric("udipick_webhook_dead_letters", "gauge", "Deliveries that ran out of attempts.", [({"subscription": h.name}, h.dead) for h in hooks])
    out.metric(
        "udipick_webhook_attempts_total",
        "counter",
        "POSTs to subscribers by outcome.",
        [({"subscription": a.name, "outcome": "ok" if a.ok else "failed"}, a.n) for a in attempts],
    )
    out.metric("udipick_webhook_retries_total", "counter", "Attempts beyond the first, per subscription.", [({"subscription": r.name}, r.n) for r in retried])
    out.metric(
        "udipick_stream_subscriber_lag_events",
        "gauge",
        "Positions not yet acknowledged, per WebSocket subscriber.",
        [({"owner": r.owner, "subscriber": r.name}, max(0, head - r.acked_position)) for r in streams],
    )
    _process_metrics(out, request)
    return Response("\n".join(out.lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8")


def _process_metrics(out: _Out, request: Request) -> None:
    from udipick.api.stream import stream_stats

    # figures of this process only (label with the instance in Prometheus)
    stats = stream_stats(request.app.state)
    out.metric("udipick_stream_connected", "gauge", "Open WebSocket streams in this process.", [({}, stats.connected)])
    out.metric("udipick_stream_events_sent_total", "counter", "Events written to WebSockets by this process.", [({}, stats.sent)])
    out.metric(
        "udipick_stream_slow_disconnects_total",
        "counter",
        "Streams closed because the client stopped reading.",
        [({}, stats.slow_disconnects)],
    )
    out.metric(
        "udipick_scan_verdicts_total",
        "counter",
        "Scan verdicts answered by this process, by workflow (pick, receipt, putaway, pack, count, ...) and verdict.",
        [({"workflow": w, "verdict": v}, n) for (w, v), n in sorted(SCAN_VERDICTS.items())],
    )
    HTTP_LATENCY.render(out, "udipick_http_request_duration_seconds", "Request latency by route (scan endpoints included), this process.",
                        ("route", "method"))
    GC_PAUSES.render(out, "udipick_gc_pause_seconds", "Pauses of this process's garbage collector, by generation.", ("generation",))
    out.metric(
        "udipick_gc_pause_max_seconds",
        "gauge",
        "Longest garbage-collector pause of this process since it started, by generation.",
        [({"generation": g}, round(v, 6)) for (g,), v in sorted(GC_PAUSES.maxima.items())],
    )
