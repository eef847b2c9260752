"""The KPI formulas as tables (``domain.kpis``): no database, every answer worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain import kpis as k
from udipick.domain.errors import InvalidPeriod

TODAY = dt.date(2026, 3, 15)
H = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("first", "last", "period"),
    [
        (None, None, (dt.date(2026, 2, 14), TODAY)),  # 30 days up to today
        ("2026-03-01", "2026-03-01", (dt.date(2026, 3, 1), dt.date(2026, 3, 1))),
        (None, "2026-01-30", (dt.date(2026, 1, 1), dt.date(2026, 1, 30))),
        ("2026-03-10", None, (dt.date(2026, 3, 10), TODAY)),
        ("2025-03-15", "2026-03-15", (dt.date(2025, 3, 15), TODAY)),  # 366 days: the most
    ],
)
def test_a_period_is_whole_days_both_included(first, last, period):
    p = k.parse_period(first, last, today=TODAY)
    assert (p.first, p.last) == period
    assert p.start == dt.datetime.combine(period[0], dt.time(), tzinfo=dt.UTC)
    assert p.end - p.start == dt.timedelta(days=p.days)


@pytest.mark.parametrize(
    ("first", "last", "pointer"),
    [
        ("2026-03-02", "2026-03-01", "from"),
        ("2026-02-30", None, "from"),
        ("20260301", None, "from"),
        ("2026-W09-1", None, "from"),
        (None, "yesterday", "to"),
        (None, "2026-3-1", "to"),
        (None, "２０２６-03-01", "to"),
        ("2025-03-14", "2026-03-15", "from"),  # 367 days
    ],
)
def test_a_period_that_cannot_be_meant_is_refused_naming_the_parameter(first, last, pointer):
    with pytest.raises(InvalidPeriod) as err:
        k.parse_period(first, last, today=TODAY)
    assert err.value.context["pointer"] == pointer


END = dt.date(2026, 4, 1)


def test_availability_counts_stored_units_free_to_allocate():
    stock = [
        k.StockAt("available", 60),
        k.StockAt("available", 10, held=True),  # under a hold
        k.StockAt("available", 5, expiry=dt.date(2026, 3, 31)),  # expired before the end
        k.StockAt("available", 5, expiry=END),  # expires on the first day after: still usable that day
        k.StockAt("quarantine", 20),
        k.StockAt("picked", 100),  # belongs to an order: out of both
        k.StockAt("packed", 7),
    ]
    f = k.inventory_availability(stock, end=END)
    assert (f.numerator, f.denominator, f.value) == (65, 100, 0.65)
    assert (f.unit, f.name_zh) == ("ratio", "库存可用率")


def test_no_stock_means_no_availability_figure():
    assert k.inventory_availability([k.StockAt("picked", 3)], end=END).value is None


def test_expiry_exposure_is_cumulative_by_horizon_and_includes_expired_stock():
    stock = [
        k.StockAt("available", 1, expiry=dt.date(2026, 1, 1)),  # expired
        k.StockAt("available", 2, expiry=dt.date(2026, 4, 30)),  # < END + 30 (May 1)
        k.StockAt("quarantine", 4, expiry=dt.date(2026, 5, 1)),  # = END + 30: not in 30d, in 60d
        k.StockAt("picked", 8, expiry=dt.date(2026, 6, 29)),  # < END + 90 (Jun 30)
        k.StockAt("available", 16, expiry=dt.date(2026, 6, 30)),  # not within 90 days
        k.StockAt("available", 32),  # no expiry
    ]
    assert [(f.subject, f.value, f.denominator) for f in k.expiry_exposure(stock, end=END)] == [
        ("30d", 3, 63),
        ("60d", 7, 63),
        ("90d", 15, 63),
    ]


@pytest.mark.parametrize(
    ("opening", "closing", "shipped", "days", "value"),
    [
        (100, 200, 30, 30, 150.0),  # 150 on hand on average, 1 a day
        (0, 0, 10, 10, 0.0),
        (50, 50, 0, 30, None),  # nothing shipped: no turnover
    ],
)
def test_turnover_days_is_average_stock_over_average_daily_shipments(opening, closing, shipped, days, value):
    assert k.turnover_days(opening=opening, closing=closing, shipped=shipped, days=days).value == value


def test_shipping_accuracy_is_exact_orders_over_orders_shipped():
    f = k.shipping_accuracy(exact=2, shipped=4)
    assert (f.numerator, f.denominator, f.value, f.name_zh) == (2, 4, 0.5, "出货准确率")
    assert k.shipping_accuracy(exact=0, shipped=0).value is None


def test_pick_accuracy_and_refusals_by_reason_share_one_denominator():
    figures = k.pick_accuracy({None: 6, "wrong-item": 1, "fefo-violation": 2, "stock-on-hold": 1})
    assert [(f.kpi, f.subject, f.numerator, f.denominator) for f in figures] == [
        ("pick_accuracy", None, 6, 10),
        ("pick_refusal_rate", "fefo-violation", 2, 10),
        ("pick_refusal_rate", "stock-on-hold", 1, 10),
        ("pick_refusal_rate", "wrong-item", 1, 10),
    ]
    assert k.pick_accuracy({})[0].value is None
    assert k.pick_accuracy({"fefo-violation": 3})[0].value == 0


def test_lines_per_hour_is_lines_over_active_hours_per_picker_in_name_order():
    assert [(f.subject, f.value) for f in k.lines_per_hour([("bob", 1, 1), ("ann", 3, 2)])] == [
        ("ann", 1.5),
        ("bob", 1.0),
    ]


def test_durations_are_mean_hours_and_recall_response_time_is_empty_until_recalls_exist():
    f = k.mean_hours(k.COUNT_DURATION, [H, 2 * H, dt.timedelta(minutes=30) + 2 * H])
    assert (f.numerator, f.denominator, f.value, f.unit) == (5.5, 3, 5.5 / 3, "hours")
    recall = k.recall_response_time([])
    assert (recall.value, recall.numerator, recall.denominator, recall.name_zh) == (None, 0.0, 0, "召回响应时间")


def test_rates_with_nothing_to_divide_by_are_none():
    assert k.stockout_rate(short_lines=0, lines=0).value is None
    assert k.stockout_rate(short_lines=1, lines=4).value == 0.25
    assert k.short_pick_rate(shorted_tasks=1, tasks=8).value == 0.125


@pytest.mark.parametrize(
    ("first", "last", "open_from", "closed", "rest"),
    [
        ("2026-03-01", "2026-03-03", dt.date(2026, 3, 15), ["2026-03-01", "2026-03-02", "2026-03-03"], None),
        ("2026-03-13", "2026-03-15", dt.date(2026, 3, 15), ["2026-03-13", "2026-03-14"], ("2026-03-15", "2026-03-15")),
        # the day that ended less than the settling time ago is still open
        ("2026-03-13", "2026-03-15", dt.date(2026, 3, 14), ["2026-03-13"], ("2026-03-14", "2026-03-15")),
        ("2026-03-20", "2026-03-25", dt.date(2026, 3, 15), [], ("2026-03-20", "2026-03-25")),
    ],
)
def test_a_period_splits_into_closed_days_stored_and_the_open_rest_counted(first, last, open_from, closed, rest):
    got_closed, got_rest = k.split_period(k.parse_period(first, last, today=TODAY), open_from=open_from)
    assert [str(d) for d in got_closed] == closed
    assert (None if got_rest is None else (str(got_rest.first), str(got_rest.last))) == rest


def test_facts_of_days_add_up_field_by_field_pickers_and_outcomes_by_key():
    a = k.Facts(orders_shipped=3, orders_exact=2, count_hours=1.5, counts=1, pickers={"4": (2, 1)}, scans={"": 5})
    b = k.Facts(orders_shipped=1, net_in=-7, pickers={"4": (1, 1), "5": (3, 2)}, scans={"": 1, "wrong-item": 2})
    t = k.total([a, b, k.Facts()])
    assert t == k.Facts(
        orders_shipped=4,
        orders_exact=2,
        count_hours=1.5,
        counts=1,
        net_in=-7,
        pickers={"4": (3, 2), "5": (3, 2)},
        scans={"": 6, "wrong-item": 2},
    )
    assert k.total([]) == k.Facts()


def test_figures_of_summed_facts_name_pickers_and_read_accepted_scans():
    p = k.parse_period("2026-03-01", "2026-03-10", today=TODAY)
    facts = k.Facts(pickers={"4": (6, 3), "": (1, 1)}, scans={"": 3, "fefo-violation": 1}, recall_hours=30, recalls=2)
    got = {(f.kpi, f.subject): f.value for f in k.figures(facts, [], p, picker_names={"4": "ana"})}
    assert got[(k.LINES_PER_HOUR, "ana")] == 2.0
    assert got[(k.LINES_PER_HOUR, "unknown")] == 1.0
    assert got[(k.PICK_ACCURACY, None)] == 0.75
    assert got[(k.RECALL_RESPONSE_TIME, None)] == 15.0
