"""The Tryton connector's translations, as tables: events into Tryton moves, Tryton records into udipick's
ERP records, and the stock comparison of the reconciliation report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from udipick.integrations.tryton.plan import (
    BOOKED_EVENTS,
    NOT_BOOKED,
    MoveSpec,
    StockDifference,
    item_record,
    moves_for,
    purchase_cancelled,
    purchase_record,
    sale_record,
    stock_differences,
    version,
)
from udipick.services.events import EVENT_TYPES

UNIT = {"item": "SYR", "lot": "L1", "serial": None, "expiry": "2027-03-01", "quantity": 5}
EXP = dt.date(2027, 3, 1)

MOVES = [
    ("receipt.confirmed.v1", UNIT, [MoveSpec("SYR", "L1", EXP, 5, "supplier", "storage")]),
    ("receipt.confirmed.v1", {**UNIT, "quantity": 0}, []),
    ("pick.confirmed.v1", UNIT, [MoveSpec("SYR", "L1", EXP, 5, "storage", "output")]),
    ("put-back.confirmed.v1", UNIT, [MoveSpec("SYR", "L1", EXP, 5, "output", "storage")]),
    (
        "shipment.confirmed.v1",
        {"lines": [UNIT, {**UNIT, "lot": None, "serial": "SN9", "quantity": 1}]},
        [MoveSpec("SYR", "L1", EXP, 5, "output", "customer"), MoveSpec("SYR", "SN9", EXP, 1, "output", "customer")],
    ),
    ("stock.adjusted.v1", {**UNIT, "difference": 3}, [MoveSpec("SYR", "L1", EXP, 3, "lost_found", "storage")]),
    ("stock.adjusted.v1", {**UNIT, "difference": -2}, [MoveSpec("SYR", "L1", EXP, 2, "storage", "lost_found")]),
    ("stock.adjusted.v1", {**UNIT, "difference": 0}, []),
    ("count.adjusted.v1", {**UNIT, "delta": 4}, [MoveSpec("SYR", "L1", EXP, 4, "lost_found", "storage")]),
    ("count.adjusted.v1", {**UNIT, "delta": -1}, [MoveSpec("SYR", "L1", EXP, 1, "storage", "lost_found")]),
    ("count.adjusted.v1", {**UNIT, "delta": 0}, []),  # only a status changed (available to expired)
    # a customer return: from the customer into storage (its quarantine is udipick's status)
    ("return.received.v1", UNIT, [MoveSpec("SYR", "L1", EXP, 5, "customer", "storage")]),
    (
        "return.received.v1",
        {**UNIT, "lot": None, "serial": "SN9", "quantity": 1},
        [MoveSpec("SYR", "SN9", EXP, 1, "customer", "storage")],
    ),
    # QA's decision: restock stays where it is, scrap and to the supplier leave the warehouse
    ("return.disposed.v1", {**UNIT, "decision": "restock"}, []),
    ("return.disposed.v1", {**UNIT, "decision": "scrap"}, [MoveSpec("SYR", "L1", EXP, 5, "storage", "lost_found")]),
    (
        "return.disposed.v1",
        {**UNIT, "decision": "to_supplier"},
        [MoveSpec("SYR", "L1", EXP, 5, "storage", "supplier")],
    ),
    ("stock.scrapped.v1", {**UNIT, "quantity": 2}, [MoveSpec("SYR", "L1", EXP, 2, "storage", "lost_found")]),
    # moved between bins, a status changed, or the ERP's own opening balance: nothing for Tryton
    ("putaway.completed.v1", UNIT, []),
    ("stock.moved.v1", {"lines": [UNIT]}, []),
    ("qc.rejected.v1", UNIT, []),
    ("stock.expired.v1", UNIT, []),
    ("stock.opening-booked.v1", {"units": {"available": 5}}, []),
]


@pytest.mark.parametrize(("event_type", "data", "expected"), MOVES)
def test_each_stock_event_books_the_moves_between_the_warehouses_zones(event_type, data, expected):
    assert moves_for(event_type, data) == expected


def test_every_event_type_is_booked_or_deliberately_not_and_the_docs_say_which():
    assert not set(BOOKED_EVENTS) & set(NOT_BOOKED)
    assert set(BOOKED_EVENTS) | set(NOT_BOOKED) == set(EVENT_TYPES)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "tryton.md").read_text(encoding="utf-8")
    assert [t for t in EVENT_TYPES if f"`{t}`" not in doc] == []


def test_a_version_is_trytons_latest_change_in_microseconds_and_grows_with_every_change():
    created = dt.datetime(2026, 12, 6, 10, 0, 0)
    assert version(created, None) == int(created.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000
    assert version(created, created + dt.timedelta(microseconds=1)) == version(created) + 1


PRODUCT = {"id": 7, "code": "SYR", "name": "Syringe", "gtin": "09506000134352", "version": 3}


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        ({**PRODUCT, "shelf_life_state": "optional"}, (True, True)),
        ({**PRODUCT, "lot_required": ["storage"]}, (True, False)),
        (PRODUCT, (False, False)),
    ],
)
def test_an_expiring_or_lot_required_product_is_lot_tracked(product, expected):
    record = item_record(product)
    assert record is not None
    assert (record["lotTracked"], record["expiryTracked"]) == expected
    assert (record["erpId"], record["gtin"], record["version"]) == ("SYR", "09506000134352", 3)


@pytest.mark.parametrize("missing", ["code", "gtin"])
def test_a_product_without_code_or_gtin_is_not_sent(missing):
    assert item_record({**PRODUCT, missing: None}) is None


DOC = {
    "number": "7",
    "version": 9,
    "party_code": "P2",
    "party_name": "River Hospital",
    "date": dt.date(2026, 12, 7),
    "lines": [
        {"id": 31, "product_code": "SYR", "quantity": 4.0},
        {"id": 32, "product_code": None, "quantity": 1.0},
        {"id": 33, "product_code": "CAT", "quantity": 0.0},
    ],
}


def test_purchase_lines_keep_trytons_line_ids_and_leave_out_service_and_empty_lines():
    assert purchase_record(DOC, "MAIN") == {
        "erpId": "7",
        "version": 9,
        "number": "7",
        "supplier": "P2",
        "lines": [{"lineNo": 31, "item": "SYR", "quantity": 4}],
        "warehouse": "MAIN",
        "expectedDate": "2026-12-07",
    }
    assert purchase_record({**DOC, "lines": DOC["lines"][1:]}, "MAIN") is None


def test_a_sale_ships_to_its_shipment_address_or_else_to_the_party():
    address = {"name": "Ward 3", "street": "1 River Road\n\nBuilding B", "city": "Hangzhou", "country": "CN"}
    record = sale_record({**DOC, "address": address}, "MAIN")
    assert record is not None
    assert record["shipTo"] == {
        "name": "Ward 3",
        "addressLines": ["1 River Road", "Building B"],
        "city": "Hangzhou",
        "country": "CN",
    }
    bare = sale_record({**DOC, "address": None}, "MAIN")
    assert bare is not None and bare["shipTo"] == {"name": "River Hospital"}


def test_stock_differences_compare_by_item_and_lot_counting_every_status_and_serials_as_lots():
    tryton = {("SYR", "L1"): 10, ("SYR", "L2"): 4, ("CAT", "SN1"): 1, ("OTHER", "X"): 99}
    udipick = [
        {"item": "SYR", "lot": "L1", "serial": None, "quantity": 6},
        {"item": "SYR", "lot": "L1", "serial": None, "quantity": 4, "status": "picked"},
        {"item": "SYR", "lot": "L2", "serial": None, "quantity": 3},
        {"item": "CAT", "lot": None, "serial": "SN1", "quantity": 1},
        {"item": "CAT", "lot": "L9", "serial": None, "quantity": 2},
        {"item": "DEMO", "lot": "D", "serial": None, "quantity": 5},
    ]
    assert stock_differences(tryton, udipick, {"SYR", "CAT"}) == [
        StockDifference("CAT", "L9", 0, 2),
        StockDifference("SYR", "L2", 4, 3),
    ]


def _purchase(state: str, *moves: tuple[str, bool]) -> dict:
    return {"state": state, "lines": [{"id": 1, "moves": [{"state": st, "ignored": ig} for st, ig in moves]}]}


PURCHASES = [
    (_purchase("cancelled"), True),  # a draft or quotation cancelled (a confirmed one back to draft first)
    (_purchase("processing", ("draft", False)), False),
    (_purchase("processing", ("cancelled", False)), False),  # the exception not handled yet: may be recreated
    (_purchase("done", ("cancelled", True)), True),  # Tryton's way for a processing purchase: moves ignored
    (_purchase("done", ("cancelled", True), ("cancelled", True)), True),
    (_purchase("processing", ("cancelled", True), ("draft", False)), False),  # one line still expected
    (_purchase("done", ("done", False), ("cancelled", True)), True),  # the rest of a part-received purchase
    (_purchase("done", ("done", False)), False),  # received in Tryton: finished, not cancelled
    ({"state": "done", "lines": []}, False),
]


@pytest.mark.parametrize(("purchase", "cancelled"), PURCHASES)
def test_a_purchase_is_cancelled_in_tryton_when_nothing_more_is_expected_and_some_was_dropped(purchase, cancelled):
    assert purchase_cancelled(purchase) is cancelled
