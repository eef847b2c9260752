"""FEFO allocation and the pick-scan verdict, as tables of cases with ``today`` passed in."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from udipick.domain import errors as e
from udipick.domain.allocation import Candidate, Need, ineligibility, plan_fefo, plan_wave
from udipick.domain.picking import ScannedUnit, TaskView, judge_pick_scan

TODAY = dt.date(2026, 11, 25)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def cand(stock_id: int, lot: str, expiry_in: int | None, available: int = 10, **kw) -> Candidate:
    base = dict(
        stock_id=stock_id,
        item_id=1,
        lot_id=stock_id,
        lot=lot,
        expiry=day(expiry_in) if expiry_in is not None else None,
        lot_status="released",
        serial_id=None,
        serial=None,
        location_id=100 + stock_id,
        location=f"A-{stock_id:02d}",
        location_type="pick",
        pick_sequence=stock_id,
        location_frozen=False,
        available=available,
    )
    base.update(kw)
    return Candidate(**base)


def need(qty: int, min_days: int = 0, bonded: bool = False, item: int = 1, line: int = 1) -> Need:
    return Need(line_id=line, item_id=item, quantity=qty, min_shelf_life_days=min_days, allow_bonded=bonded)


# ---- eligibility ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "min_days", "bonded", "expected"),
    [
        ({}, 0, False, None),
        ({"expiry": day(-1)}, 0, False, "expired"),
        ({"expiry": day(0)}, 0, False, None),  # usable through its expiry date
        ({"expiry": day(29)}, 30, False, "short-dated"),
        ({"expiry": day(30)}, 30, False, None),
        ({"expiry": None}, 365, False, None),  # items without expiry are never short-dated
        ({"lot_status": "quarantine"}, 0, False, "quarantine"),
        ({"lot_status": "hold"}, 0, False, "on-hold"),
        ({"hold": "damaged pallet"}, 0, False, "on-hold"),
        ({"lot_status": "recalled"}, 0, False, "recalled"),
        ({"lot_status": "rejected"}, 0, False, "rejected"),
        ({"location_frozen": True}, 0, False, "location-frozen"),
        ({"blocked": True}, 0, False, "location-blocked"),
        ({"location_type": "bonded"}, 0, False, "bonded-not-allowed"),
        ({"location_type": "bonded"}, 0, True, None),
        ({"lot_status": "recalled", "expiry": day(-5)}, 0, False, "recalled"),  # the recall is the fact to tell
    ],
)
def test_eligibility_rules(change, min_days, bonded, expected):
    c = replace(cand(1, "L1", 100), **change)
    assert ineligibility(c, today=TODAY, min_shelf_life_days=min_days, allow_bonded=bonded) == expected


# ---- FEFO -----------------------------------------------------------------------------------------


def test_earliest_expiry_goes_first_across_locations():
    cs = [cand(1, "LATE", 300), cand(2, "EARLY", 100), cand(3, "MID", 200)]
    got, short, _ = plan_fefo(cs, need(15), today=TODAY)
    assert [(a.candidate.lot, a.quantity) for a in got] == [("EARLY", 10), ("MID", 5)]
    assert short is None


def test_ties_on_expiry_break_by_lot_then_pick_faces_before_reserve_then_pick_path():
    cs = [
        cand(1, "B", 100, 5),
        cand(2, "A", 100, 5, location_type="reserve", pick_sequence=1),
        cand(3, "A", 100, 5, pick_sequence=9),
        cand(4, "A", 100, 5, pick_sequence=2),
    ]
    got, _, _ = plan_fefo(cs, need(20), today=TODAY)
    assert [a.candidate.stock_id for a in got] == [4, 3, 2, 1]


# ---- equal expiry: the fewest location visits (issue 19) ------------------------------------------


def at(stock_id: int, lot: str, location: int, available: int, seq: int, kind: str = "pick") -> Candidate:
    return cand(stock_id, lot, 100, available, location_id=location, pick_sequence=seq, location_type=kind)


@pytest.mark.parametrize(
    ("rows", "qty", "expected"),
    [
        # the reported case: lot A at 1 (10, earlier on the path); lots A and B at 2 (10 + 10): one visit
        ([at(1, "A", 1, 10, 1), at(2, "A", 2, 10, 2), at(3, "B", 2, 10, 2)], 15, [(2, 10), (3, 5)]),
        # a single location that fills it with one row beats one that needs two, whatever the path
        ([at(1, "A", 1, 5, 1), at(2, "B", 1, 10, 1), at(3, "C", 2, 15, 9)], 15, [(3, 15)]),
        # in the filling location the largest row goes first
        ([at(1, "A", 1, 3, 1), at(2, "B", 1, 12, 1)], 12, [(2, 12)]),
        # several locations fill it: the earlier on the pick path (pick faces before reserve, then sequence)
        ([at(1, "A", 1, 20, 1, "reserve"), at(2, "A", 2, 20, 5), at(3, "A", 3, 20, 3)], 15, [(3, 15)]),
        # none fills it alone: empty the first location in FEFO order, then the rule again on what is left
        (
            [at(1, "A", 1, 6, 1), at(2, "A", 2, 4, 2), at(3, "B", 2, 3, 2), at(4, "B", 3, 8, 3)],
            14,
            [(1, 6), (4, 8)],
        ),
        # a line the first location fills needs no other
        ([at(1, "A", 1, 10, 1), at(2, "A", 2, 10, 2)], 10, [(1, 10)]),
    ],
)
def test_equal_expiry_is_taken_in_the_fewest_location_visits(rows, qty, expected):
    got, short, _ = plan_fefo(rows, need(qty), today=TODAY)
    assert [(a.candidate.stock_id, a.quantity) for a in got] == expected
    assert short is None


def test_the_fewest_visits_never_beat_an_earlier_expiry():
    rows = [cand(1, "EARLY", 50, 5, location_id=1), at(2, "A", 2, 10, 2), at(3, "B", 2, 10, 2)]
    got, _, _ = plan_fefo(rows, need(15), today=TODAY)
    assert [(a.candidate.stock_id, a.quantity) for a in got] == [(1, 5), (2, 10)]


def test_refused_rows_do_not_count_towards_a_location_filling_the_line():
    rows = [at(1, "A", 1, 10, 1), at(2, "A", 2, 10, 2), at(3, "B", 2, 10, 2)]
    rows[2] = replace(rows[2], hold="damaged box")
    got, _, _ = plan_fefo(rows, need(15), today=TODAY)
    assert [(a.candidate.stock_id, a.quantity) for a in got] == [(1, 10), (2, 5)]


def test_no_expiry_goes_last():
    got, _, _ = plan_fefo([cand(1, "NOEXP", None), cand(2, "EXP", 900)], need(12), today=TODAY)
    assert [a.candidate.lot for a in got] == ["EXP", "NOEXP"]


def test_customer_minimum_shelf_life_skips_short_dated_lots():
    got, short, _ = plan_fefo([cand(1, "SHORT", 45), cand(2, "LONG", 200)], need(5, min_days=90), today=TODAY)
    assert [a.candidate.lot for a in got] == ["LONG"] and short is None


@pytest.mark.parametrize(
    ("cands", "reason"),
    [
        ([], "no-stock"),
        ([cand(1, "S", 10)], "short-dated"),
        ([cand(1, "H", 100, hold="qa")], "on-hold"),
        ([cand(1, "X", -3)], "expired"),
        ([cand(1, "H", 100, hold="qa", available=3), cand(2, "S", 10, available=8)], "short-dated"),
    ],
)
def test_a_line_that_cannot_be_filled_is_short_with_the_reason(cands, reason):
    got, short, _ = plan_fefo(cands, need(5, min_days=30), today=TODAY)
    assert got == [] and short is not None and short.missing == 5 and short.reason == reason


def test_partial_fill_reports_the_missing_quantity():
    got, short, _ = plan_fefo([cand(1, "A", 100, 3)], need(5), today=TODAY)
    assert sum(a.quantity for a in got) == 3 and short.missing == 2 and short.reason == "no-stock"


def test_a_wave_never_promises_the_same_units_twice():
    cs = [cand(1, "A", 100, 10), cand(2, "B", 200, 10)]
    allocations, shorts = plan_wave(cs, [need(8, line=1), need(8, line=2), need(8, line=3)], today=TODAY)
    per_stock: dict[int, int] = {}
    for a in allocations:
        per_stock[a.candidate.stock_id] = per_stock.get(a.candidate.stock_id, 0) + a.quantity
    assert per_stock == {1: 10, 2: 10}
    assert [(s.line_id, s.missing) for s in shorts] == [(3, 4)]


def _wave_line_by_line(cs, needs):
    """The rule plan_wave keeps, spelled out: each line in turn plans FEFO over what the lines before left."""
    pool = {c.stock_id: c for c in cs}
    allocations, shorts = [], []
    for n in needs:
        got, short, taken = plan_fefo(list(pool.values()), n, today=TODAY)
        allocations += got
        shorts += [short] if short else []
        for stock_id, qty in taken.items():
            pool[stock_id] = replace(pool[stock_id], available=pool[stock_id].available - qty)
    return allocations, shorts


@settings(max_examples=200, deadline=None)
@given(
    stock=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.sampled_from(["A", "B", "C", "D"]),
            st.one_of(st.none(), st.integers(-5, 400)),
            st.integers(0, 12),
            st.sampled_from(["pick", "reserve", "bonded"]),
            st.booleans(),
        ),
        max_size=14,
    ),
    lines=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 25), st.sampled_from([0, 30, 180]), st.booleans()),
        min_size=1,
        max_size=8,
    ),
)
def test_a_wave_plans_each_line_on_what_the_lines_before_it_left(stock, lines):
    cs = [
        cand(
            i + 1, lot, exp, avail, item_id=item, location_type=kind, location_frozen=frozen, pick_sequence=(i * 7) % 5
        )
        for i, (item, lot, exp, avail, kind, frozen) in enumerate(stock)
    ]
    needs = [need(q, min_days=m, bonded=b, item=item, line=k + 1) for k, (item, q, m, b) in enumerate(lines)]
    assert plan_wave(cs, needs, today=TODAY) == _wave_line_by_line(cs, needs)


def test_other_items_are_ignored():
    got, short, _ = plan_fefo([cand(1, "A", 100, item_id=2)], need(1), today=TODAY)
    assert got == [] and short.reason == "no-stock"


# ---- the scan verdict ------------------------------------------------------------------------------

TASK = TaskView(
    task_id=7,
    item_id=1,
    item_name="Syringe",
    gtin="00614141010011",
    location_id=101,
    location="A-01",
    lot_id=1,
    lot="EARLY",
    expiry=day(100),
    serial_id=None,
    remaining=5,
    min_shelf_life_days=30,
    allow_bonded=False,
)
HERE = [
    cand(1, "EARLY", 100, 5, location_id=101, location="A-01"),
    cand(2, "SAME", 100, 5, location_id=101, location="A-01"),
    cand(3, "SOONER", 90, 5, location_id=101, location="A-01"),
    cand(4, "LATER", 300, 5, location_id=101, location="A-01"),
]


def scan(
    lot: str | None = "EARLY", units: int = 1, item: int | None = 1, serial=None, serial_status=None
) -> ScannedUnit:
    return ScannedUnit(
        item_id=item, gtin="00614141010011", lot=lot, serial=serial, units=units, serial_status=serial_status
    )


def test_the_allocated_lot_is_accepted():
    v = judge_pick_scan(TASK, scan(), HERE, HERE[0], today=TODAY)
    assert v.candidate.lot == "EARLY" and not v.swapped and v.units == 1


@pytest.mark.parametrize("lot", ["SAME", "SOONER"])
def test_a_lot_expiring_no_later_is_accepted_and_swapped(lot):
    v = judge_pick_scan(TASK, scan(lot), HERE, HERE[0], today=TODAY)
    assert v.candidate.lot == lot and v.swapped


def test_a_later_expiring_lot_is_a_fefo_violation_naming_what_to_take():
    with pytest.raises(e.FefoViolation) as exc:
        judge_pick_scan(TASK, scan("LATER"), HERE, HERE[0], today=TODAY)
    assert exc.value.context["takeLot"] == "EARLY" and exc.value.context["takeLocation"] == "A-01"
    assert "Take lot EARLY from A-01" in exc.value.message


def test_a_supervisor_override_accepts_the_later_lot():
    v = judge_pick_scan(TASK, scan("LATER"), HERE, HERE[0], today=TODAY, override_fefo=True)
    assert v.fefo_overridden and v.candidate.lot == "LATER"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"expiry": day(-1)}, e.LotExpired),
        ({"expiry": day(10)}, e.ShelfLifeTooShort),
        ({"lot_status": "quarantine"}, e.LotQuarantined),
        ({"hold": "suspected damage"}, e.StockOnHold),
        ({"lot_status": "recalled"}, e.LotRecalled),
        ({"location_frozen": True}, e.LocationFrozen),
    ],
)
def test_ineligible_stock_is_refused_with_its_own_error(change, error):
    here = [replace(HERE[0], **change)]
    with pytest.raises(error):
        judge_pick_scan(TASK, scan(), here, None, today=TODAY)


def test_even_an_override_does_not_let_expired_stock_go():
    here = [*HERE[:3], replace(HERE[3], expiry=day(-1))]
    with pytest.raises(e.LotExpired):
        judge_pick_scan(TASK, scan("LATER"), here, HERE[0], today=TODAY, override_fefo=True)


@pytest.mark.parametrize(
    ("scanned", "error"),
    [
        (scan(item=2), e.WrongItem),
        (scan(item=None), e.WrongItem),
        (scan(units=6), e.OverPick),
        (scan(units=10), e.OverPick),
        (scan("NOPE"), e.LotNotAtLocation),
        (scan(serial="S1", serial_status="shipped"), e.SerialAlreadyShipped),
        (scan(serial="S1", serial_status="picked"), e.SerialAlreadyPicked),
        (scan(serial="S1", serial_status="hold"), e.StockOnHold),
        (scan(serial="S1", serial_status="rejected"), e.LotQuarantined),
    ],
)
def test_wrong_scans_are_refused(scanned, error):
    with pytest.raises(error):
        judge_pick_scan(TASK, scanned, HERE, HERE[0], today=TODAY)


def test_a_pack_level_gtin_counts_its_pack_quantity():
    v = judge_pick_scan(TASK, scan(units=5), HERE, HERE[0], today=TODAY)
    assert v.units == 5


def test_a_scan_without_lot_data_means_the_allocated_lot():
    v = judge_pick_scan(TASK, scan(lot=None), HERE, HERE[0], today=TODAY)
    assert v.candidate.lot == "EARLY"


def test_more_than_the_system_shows_is_insufficient_stock():
    here = [replace(HERE[0], available=2)]
    with pytest.raises(e.InsufficientStock):
        judge_pick_scan(TASK, scan(units=3), here, None, today=TODAY)
