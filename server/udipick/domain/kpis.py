"""The KPIs a warehouse is run by, as arithmetic on facts the services gather from the ledger, events and tables.

Every figure is a ratio whose parts are kept: ``value = numerator / denominator`` (a mean duration is
total hours over the number of cases, turnover days is average stock over average daily shipments), so a
supervisor can see what a rate rests on and a spreadsheet can sum the parts over periods. A figure with
nothing to divide by has ``value`` ``None``: no shipment in the period means no shipping accuracy, not 100 %.
``docs/kpis.md`` states every formula; ``tests/unit/test_kpis.py`` is their table.

Pure: the period, the end-of-period stock and the events are passed in; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from udipick.domain.errors import InvalidPeriod

#: the longest period one request may cover (a year and a leap day): the ledger rows read grow with it
MAX_PERIOD_DAYS = 366
#: without ``from`` and ``to``: the 30 days up to and including today
DEFAULT_DAYS = 30
#: expiry exposure horizons, days after the period's last day
EXPIRY_HORIZONS = (30, 60, 90)
#: stock on its way out (picked, packed for an order): not stored stock, so not in availability's denominator
OUTGOING_STATUSES = frozenset({"picked", "packed"})

# stable keys of the KPIs, as in the API, the CSV and docs/kpis.md
INVENTORY_AVAILABILITY = "inventory_availability"
SHIPPING_ACCURACY = "shipping_accuracy"
COUNT_DURATION = "count_duration"
STOCKOUT_RATE = "stockout_rate"
TURNOVER_DAYS = "turnover_days"
RECALL_RESPONSE_TIME = "recall_response_time"
LINES_PER_HOUR = "lines_per_hour"
PICK_ACCURACY = "pick_accuracy"
PICK_REFUSAL_RATE = "pick_refusal_rate"
SHORT_PICK_RATE = "short_pick_rate"
DOCK_TO_STOCK_TIME = "dock_to_stock_time"
EXPIRY_EXPOSURE = "expiry_exposure"

#: key -> (Chinese name, unit)
KPIS: dict[str, tuple[str, str]] = {
    INVENTORY_AVAILABILITY: ("库存可用率", "ratio"),
    SHIPPING_ACCURACY: ("出货准确率", "ratio"),
    COUNT_DURATION: ("盘点时长", "hours"),
    STOCKOUT_RATE: ("缺货率", "ratio"),
    TURNOVER_DAYS: ("周转天数", "days"),
    RECALL_RESPONSE_TIME: ("召回响应时间", "hours"),
    LINES_PER_HOUR: ("每小时拣货行数", "lines/hour"),
    PICK_ACCURACY: ("拣货准确率", "ratio"),
    PICK_REFUSAL_RATE: ("拣货拒绝率（按原因）", "ratio"),
    SHORT_PICK_RATE: ("短拣率", "ratio"),
    DOCK_TO_STOCK_TIME: ("收货上架时长", "hours"),
    EXPIRY_EXPOSURE: ("效期风险库存", "units"),
}


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days ``first`` to ``last``, both included: from ``first`` 00:00 to ``last`` + 1 day 00:00."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound); end-of-period stock is the stock at this instant."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _date(raw: str, name: str) -> dt.date:
    # ``date.fromisoformat`` also takes ``20260105`` and ``2026-W01-1``; a report period is written one way
    if len(raw) != 10 or raw[4] != "-" or raw[7] != "-" or not (raw[:4] + raw[5:7] + raw[8:]).isascii():
        raise InvalidPeriod(f"{name} must be a date written YYYY-MM-DD, not {raw[:40]!r}", pointer=name)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidPeriod(f"{name} is not a date of the calendar: {raw!r}", pointer=name) from None


def parse_period(first: str | None, last: str | None, *, today: dt.date) -> Period:
    """The period a request asks for: ``from`` and ``to`` as dates, both included.

    Without ``to``: today. Without ``from``: the ``DEFAULT_DAYS`` days up to ``to``. Refused
    (``InvalidPeriod``): a value that is not a ``YYYY-MM-DD`` date, ``from`` after ``to``, a period longer
    than ``MAX_PERIOD_DAYS``.
    """
    to = _date(last, "to") if last is not None else today
    frm = _date(first, "from") if first is not None else to - dt.timedelta(days=DEFAULT_DAYS - 1)
    if frm > to:
        raise InvalidPeriod(f"from ({frm}) is after to ({to})", pointer="from")
    period = Period(frm, to)
    if period.days > MAX_PERIOD_DAYS:
        raise InvalidPeriod(
            f"the period is {period.days} days; at most {MAX_PERIOD_DAYS} are reported at once", pointer="from"
        )
    return period


@dataclass(frozen=True, slots=True)
class Figure:
    """One KPI value with its parts; ``subject`` names what it is broken down by (a picker, a refusal
    code, an expiry horizon), ``None`` for the whole period."""

    kpi: str
    value: float | None
    numerator: float | None
    denominator: float | None
    subject: str | None = None

    @property
    def unit(self) -> str:
        return KPIS[self.kpi][1]

    @property
    def name_zh(self) -> str:
        return KPIS[self.kpi][0]


def ratio(kpi: str, numerator: float, denominator: float, subject: str | None = None) -> Figure:
    """``numerator / denominator``; ``None`` when there is nothing to divide by."""
    value = numerator / denominator if denominator else None
    return Figure(kpi, value, numerator, denominator, subject)


def mean_hours(kpi: str, durations: Iterable[dt.timedelta]) -> Figure:
    """Mean duration in hours: total hours ÷ number of cases (``None`` without a case)."""
    spans = list(durations)
    total = sum((d.total_seconds() for d in spans), 0.0) / 3600
    return ratio(kpi, total, len(spans))


# ---- stock at the end of the period -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockAt:
    """Units of one status on hand at a moment, with the facts availability and exposure need."""

    status: str
    quantity: int
    expiry: dt.date | None = None
    #: a hold active at that moment covered the stock (its item, lot, serial or location)
    held: bool = False


def inventory_availability(stock: Iterable[StockAt], *, end: dt.date) -> Figure:
    """Stored units that could be allocated at the period's end ÷ stored units then.

    Stored: every status but picked and packed (those belong to an order already). Allocatable:
    status ``available``, no active hold, and not expired (expiry on or after ``end``, the first day
    after the period, or no expiry).
    """
    stored = free = 0
    for s in stock:
        if s.status in OUTGOING_STATUSES:
            continue
        stored += s.quantity
        if s.status == "available" and not s.held and (s.expiry is None or s.expiry >= end):
            free += s.quantity
    return ratio(INVENTORY_AVAILABILITY, free, stored)


def expiry_exposure(stock: Iterable[StockAt], *, end: dt.date) -> list[Figure]:
    """Units on hand at the period's end whose lot expires before ``end`` + 30, 60, 90 days (already expired
    included), each over all units on hand; one figure per horizon, subject ``30d`` / ``60d`` / ``90d``."""
    rows = list(stock)
    total = sum(s.quantity for s in rows)
    out = []
    for days in EXPIRY_HORIZONS:
        limit = end + dt.timedelta(days=days)
        exposed = sum(s.quantity for s in rows if s.expiry is not None and s.expiry < limit)
        out.append(Figure(EXPIRY_EXPOSURE, float(exposed), float(exposed), float(total), f"{days}d"))
    return out


def turnover_days(*, opening: int, closing: int, shipped: int, days: int) -> Figure:
    """Average units on hand ÷ average units shipped a day: how many days the stock would last at the
    period's shipping rate. Average on hand is (opening + closing) / 2; ``None`` when nothing shipped."""
    average_stock = (opening + closing) / 2
    daily = shipped / days
    return ratio(TURNOVER_DAYS, average_stock, daily)


# ---- orders and picking -------------------------------------------------------------------------------


def shipping_accuracy(*, exact: int, shipped: int) -> Figure:
    """Orders shipped exactly as ordered ÷ orders with a shipment in the period. Exact: for every item, the
    units on the order's lines equal the units of all its shipments up to the period's end (nothing missing,
    nothing extra; judged in SQL by ``services.kpis``)."""
    return ratio(SHIPPING_ACCURACY, exact, shipped)


def stockout_rate(*, short_lines: int, lines: int) -> Figure:
    """Order lines a wave could not fully allocate at release ÷ order lines the waves released."""
    return ratio(STOCKOUT_RATE, short_lines, lines)


def short_pick_rate(*, shorted_tasks: int, tasks: int) -> Figure:
    """Pick tasks reported short ÷ pick tasks worked (a pick confirmed or a short reported) in the period."""
    return ratio(SHORT_PICK_RATE, shorted_tasks, tasks)


def pick_accuracy(outcomes: Mapping[str | None, int]) -> list[Figure]:
    """From the number of answered pick scans per outcome (``None``: accepted; else the refusal's problem
    code): accepted ÷ all, then refused with each code ÷ all (subject: the code), codes in alphabetical order."""
    total = sum(outcomes.values())
    refused = sorted((code, n) for code, n in outcomes.items() if code is not None)
    return [ratio(PICK_ACCURACY, outcomes.get(None, 0), total)] + [
        ratio(PICK_REFUSAL_RATE, n, total, code) for code, n in refused
    ]


def lines_per_hour(pickers: Iterable[tuple[str, int, int]]) -> list[Figure]:
    """Per picker (subject: user name), from (picker, lines, active hours): lines ÷ active hours, pickers in
    name order. A line is a pick task with at least one confirmed pick by the picker in the period; an active
    hour is a clock hour (UTC) in which the picker confirmed at least one pick (the counting is SQL's:
    ``services.kpis``)."""
    return [ratio(LINES_PER_HOUR, lines, hours, picker) for picker, lines, hours in sorted(pickers)]


def recall_response_time(durations: Iterable[dt.timedelta]) -> Figure:
    """Mean hours from a recall's opening to its closing (``recalls.closed_at - opened_at``: the response the
    recall record calls its response time), over the recalls closed in the period."""
    return mean_hours(RECALL_RESPONSE_TIME, durations)


# ---- facts of days, summed --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """The numerators and denominators of the event-based KPIs over a span of time (one closed day, or the
    open days of a period), as ``services.kpis`` counts them. Every field adds up across days, so a period's
    facts are the sum of its days' (``total``); counting "distinct" is therefore per day (docs/kpis.md)."""

    orders_shipped: int = 0
    orders_exact: int = 0
    count_hours: float = 0.0
    counts: int = 0
    wave_lines: int = 0
    short_lines: int = 0
    #: units in (+) and out (-) through one-sided ledger rows, and units shipped
    net_in: int = 0
    units_shipped: int = 0
    #: picker (user id as text; ``""`` when unknown) -> (lines, active hours)
    pickers: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: pick scans answered per outcome: ``""`` accepted, else the refusal's problem code
    scans: Mapping[str, int] = field(default_factory=dict)
    tasks_worked: int = 0
    tasks_shorted: int = 0
    dock_hours: float = 0.0
    plates: int = 0
    recall_hours: float = 0.0
    recalls: int = 0


def _merge(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {key: a.get(key, 0) + b.get(key, 0) for key in sorted({*a, *b})}


def total(days: Iterable[Facts]) -> Facts:
    """The facts of several spans together: every count and sum added, pickers and scan outcomes key by key."""
    parts: dict[str, Any] = {f.name: 0 for f in fields(Facts) if f.name not in ("pickers", "scans")}
    pickers: dict[str, tuple[int, int]] = {}
    scans: dict[str, int] = {}
    for day in days:
        for name in parts:
            parts[name] += getattr(day, name)
        for who, (lines, hours) in day.pickers.items():
            had = pickers.get(who, (0, 0))
            pickers[who] = (had[0] + lines, had[1] + hours)
        scans = _merge(scans, day.scans)
    return Facts(**parts, pickers=pickers, scans=scans)


def split_period(period: Period, *, open_from: dt.date) -> tuple[list[dt.date], Period | None]:
    """The period's closed days (before ``open_from``: their facts are stored once) and the rest of it, from
    ``open_from`` on, counted at request time (``None`` when the whole period is closed)."""
    closed_last = min(period.last, open_from - dt.timedelta(days=1))
    closed = [period.first + dt.timedelta(days=n) for n in range((closed_last - period.first).days + 1)]
    rest = Period(max(period.first, open_from), period.last) if period.last >= open_from else None
    return closed, rest


def figures(
    facts: Facts, closing: Iterable[StockAt], period: Period, *, picker_names: Mapping[str, str]
) -> list[Figure]:
    """Every KPI of the period from its summed facts and the stock at its end, in the report's order."""
    stock = list(closing)
    end_day = period.last + dt.timedelta(days=1)
    closing_units = sum(s.quantity for s in stock)
    named = [(picker_names.get(who, f"user {who}" if who else "unknown"), lh) for who, lh in facts.pickers.items()]
    return [
        inventory_availability(stock, end=end_day),
        shipping_accuracy(exact=facts.orders_exact, shipped=facts.orders_shipped),
        ratio(COUNT_DURATION, facts.count_hours, facts.counts),
        stockout_rate(short_lines=facts.short_lines, lines=facts.wave_lines),
        turnover_days(
            opening=closing_units - facts.net_in, closing=closing_units, shipped=facts.units_shipped, days=period.days
        ),
        ratio(RECALL_RESPONSE_TIME, facts.recall_hours, facts.recalls),
        *lines_per_hour((name, lines, hours) for name, (lines, hours) in named),
        *pick_accuracy({(code or None): n for code, n in facts.scans.items()}),
        short_pick_rate(shorted_tasks=facts.tasks_shorted, tasks=facts.tasks_worked),
        ratio(DOCK_TO_STOCK_TIME, facts.dock_hours, facts.plates),
        *expiry_exposure(stock, end=end_day),
    ]
