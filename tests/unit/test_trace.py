"""The trace's assembly and the recall rules, as tables: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain import errors as e
from udipick.domain.recalls import recall_scope, response_seconds, status_after_close
from udipick.domain.trace import ReceivedRow, ShippedRow, StockNowRow, assemble, csv_rows, render_html

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
GTIN = "00614141010020"


def received(receipt_id: int, serial: str | None, *, qty: int = 1, lot: str = "A", minutes: int = 0, who: str = "ann"):
    return ReceivedRow(
        receipt_id=receipt_id,
        receipt=f"RCV-{receipt_id:06d}",
        received_at=T0 + dt.timedelta(minutes=minutes),
        receiver=who,
        supplier="SUP-1",
        supplier_name="Supplier One",
        supplier_gln="4012345000009",
        document_kind="purchase_order",
        document="PO-1",
        gtin=GTIN,
        lot=lot,
        expiry=dt.date(2027, 6, 30),
        serial=serial,
        quantity=qty,
        status="available",
    )


def shipped(order: str, sscc: str, serial: str | None, *, qty: int = 1, lot: str = "A", day: int = 3, customer="C-1"):
    return ShippedRow(
        order=order,
        order_number=f"N-{order}",
        customer=customer,
        customer_name=f"Hospital {customer}",
        customer_gln=None,
        ship_to={"name": "Ward 3", "city": "Shanghai"},
        shipped_at=T0 + dt.timedelta(days=day),
        gtin=GTIN,
        lot=lot,
        expiry=dt.date(2027, 6, 30),
        serial=serial,
        sscc=sscc,
        quantity=qty,
    )


def stock(location: str, status: str, serial: str | None, *, qty: int = 1, sscc: str | None = None, lot: str = "A"):
    return StockNowRow(
        location=location,
        location_type="pick" if sscc is None else "shipping",
        status=status,
        sscc=sscc,
        container=sscc,
        order="SO-9" if sscc else None,
        gtin=GTIN,
        lot=lot,
        expiry=dt.date(2027, 6, 30),
        serial=serial,
        quantity=qty,
        reserved=0,
    )


def test_rows_are_grouped_by_receipt_shipment_carton_and_place_with_their_serials_sorted():
    trace = assemble(
        "lot",
        gtin=GTIN,
        lots=["A"],
        received=[received(1, "S2", minutes=1, who="bob"), received(1, "S1"), received(2, "S3", minutes=60)],
        shipped=[
            shipped("SO-2", "100", "S2", day=4, customer="C-2"),
            shipped("SO-1", "200", "S3"),
            shipped("SO-1", "200", "S1"),
        ],
        now=[stock("A-01", "available", None, qty=5), stock("SHIP-01", "packed", None, qty=2, sscc="300")],
    )
    assert [(r.receipt, r.quantity, r.serials, r.receivers) for r in trace.backward] == [
        ("RCV-000001", 2, ["S1", "S2"], ["ann", "bob"]),
        ("RCV-000002", 1, ["S3"], ["ann"]),
    ]
    assert [(s.order, s.sscc, s.quantity, s.serials, s.customer.erp_id) for s in trace.forward] == [
        ("SO-1", "200", 2, ["S1", "S3"], "C-1"),
        ("SO-2", "100", 1, ["S2"], "C-2"),
    ]
    assert [(n.location, n.status, n.sscc, n.quantity) for n in trace.now] == [
        ("A-01", "available", None, 5),
        ("SHIP-01", "packed", "300", 2),
    ]
    t = trace.totals
    assert (t.received, t.shipped, t.in_stock, t.customers, t.suppliers) == (3, 3, 7, ["C-1", "C-2"], ["SUP-1"])


def test_the_same_facts_in_any_order_give_the_same_trace():
    rows = [received(1, "S1"), received(1, "S2", minutes=1)]
    out = [shipped("SO-1", "200", "S1"), shipped("SO-1", "200", "S2")]
    now = [stock("A-02", "available", "S4"), stock("A-01", "hold", "S3")]
    one = assemble("lot", gtin=GTIN, lots=["A"], received=rows, shipped=out, now=now)
    two = assemble("lot", gtin=GTIN, lots=["A"], received=rows[::-1], shipped=out[::-1], now=now[::-1])
    assert one == two


def test_an_empty_trace_says_so_in_every_form():
    trace = assemble("lot", gtin=GTIN, lots=["Z"], received=[], shipped=[], now=[])
    assert (trace.backward, trace.forward, trace.now, trace.totals.received) == ([], [], [], 0)
    assert csv_rows(trace) == []
    page = render_html(trace, lang="zh-CN", heading=[], printed_at=T0)
    assert page.count("<p>无</p>") == 3 and 'lang="zh-CN"' in page


def test_csv_has_a_row_per_group_and_the_page_escapes_what_suppliers_and_erps_wrote():
    evil = shipped("SO-<script>", "200", None, qty=4)
    trace = assemble("recall", gtin=GTIN, lots=["A"], received=[received(1, None, qty=4)], shipped=[evil], now=[])
    assert [r[0] for r in csv_rows(trace)] == ["backward", "forward"]
    assert csv_rows(trace)[1][10] == 4  # quantities stay numbers
    page = render_html(trace, lang="en", heading=[("reason", "<b>seal</b>")], printed_at=T0)
    assert "<script>" not in page and "&lt;b&gt;seal&lt;/b&gt;" in page and "Where it went (shipments)" in page


@pytest.mark.parametrize(
    ("lots", "start", "end", "scope", "pointer"),
    [
        (["A"], None, None, "lots", None),
        (None, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "production_dates", None),
        (None, dt.date(2026, 1, 1), dt.date(2026, 1, 1), "production_dates", None),
        (None, None, None, None, "/lots"),
        ([], None, None, None, "/lots"),
        (["A", "A"], None, None, None, "/lots"),
        (["A"], dt.date(2026, 1, 1), dt.date(2026, 1, 31), None, "/lots"),
        (None, dt.date(2026, 1, 1), None, None, "/producedTo"),
        (None, None, dt.date(2026, 1, 1), None, "/producedFrom"),
        (None, dt.date(2026, 2, 1), dt.date(2026, 1, 1), None, "/producedTo"),
    ],
)
def test_a_recall_names_lots_or_a_production_date_range(lots, start, end, scope, pointer):
    if scope is not None:
        assert recall_scope(lots, start, end) == scope
        return
    with pytest.raises(e.InvalidRecord) as refused:
        recall_scope(lots, start, end)
    assert refused.value.context["pointer"] == pointer


@pytest.mark.parametrize(
    ("lots", "start", "end", "serials", "scope", "pointer"),
    [
        (None, None, None, ["S1", "S2"], "serials", None),
        (None, None, None, [], None, "/serials"),
        (None, None, None, ["S1", "S1"], None, "/serials"),
        (["A"], None, None, ["S1"], None, "/serials"),
        ([], None, None, ["S1"], None, "/serials"),
        (None, dt.date(2026, 1, 1), dt.date(2026, 1, 31), ["S1"], None, "/serials"),
        (None, None, dt.date(2026, 1, 31), ["S1"], None, "/serials"),
    ],
)
def test_a_recall_of_serials_names_serials_only(lots, start, end, serials, scope, pointer):
    if scope is not None:
        assert recall_scope(lots, start, end, serials) == scope
        return
    with pytest.raises(e.InvalidRecord) as refused:
        recall_scope(lots, start, end, serials)
    assert refused.value.context["pointer"] == pointer


@pytest.mark.parametrize(
    ("disposition", "prior", "still", "after"),
    [
        ("released", "released", False, "released"),
        ("released", "quarantine", False, "quarantine"),
        ("released", "hold", False, "hold"),
        ("released", "released", True, "recalled"),  # another open recall still covers the lot
        ("destroyed", "released", False, "recalled"),
        ("returned_to_supplier", "released", False, "recalled"),
        ("released", "recalled", False, "recalled"),  # recalled for good by an earlier recall
    ],
)
def test_closing_a_recall_gives_a_lot_back_its_status_only_when_released(disposition, prior, still, after):
    assert status_after_close(disposition, prior, still_recalled=still) == after


def test_response_time_is_whole_seconds_never_negative():
    assert response_seconds(T0, T0 + dt.timedelta(hours=2, seconds=5.9)) == 7205
    assert response_seconds(T0, T0 - dt.timedelta(seconds=1)) == 0
