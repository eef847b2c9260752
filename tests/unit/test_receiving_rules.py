"""Receiving checks and putaway location fit, as pure functions of snapshots (no database)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from udipick.domain import errors as e
from udipick.domain.receiving import (
    Captured,
    Content,
    ExpectedLot,
    ItemFacts,
    KnownLot,
    KnownSerial,
    LineFacts,
    LocationFacts,
    ReceivingPolicy,
    asn_mismatches,
    check_putaway,
    choose_line,
    decide_receipt,
    needed_location,
    over_receipt_allowance,
    putaway_group,
    status_after_erp_cancel,
)

TODAY = dt.date(2026, 6, 1)
SYRINGE = ItemFacts(1, "SYR-10ML", "00614141010011", True, False, True, None, None, 60, False, False)
STENT = ItemFacts(2, "STENT", "00614141010028", True, True, True, None, None, 90, False, False)
PEN = ItemFacts(3, "PEN-NDL", "00614141010035", True, False, True, 2.0, 8.0, 30, False, False)
IMPLANT = replace(STENT, item_id=7, erp_id="IMPLANT-QC", qc_required=True)
SCREW = ItemFacts(5, "SCREW", "00614141010059", True, False, False, None, None, 0, False, False)
CATH = replace(SYRINGE, item_id=6, erp_id="CATH", bonded=True, min_shelf_life_days=0)
LINE = LineFacts(line_id=11, line_no=1, item_id=1, ordered=200, received=0)
QUARANTINE = ReceivingPolicy("quarantine", 5)
REFUSE = ReceivingPolicy("refuse", 5)


def good(units: int = 10, **kw) -> Captured:
    return Captured(units=units, lot=kw.pop("lot", "L1"), expiry=kw.pop("expiry", TODAY + dt.timedelta(days=400)), **kw)


def test_good_units_are_released_against_their_line():
    d = decide_receipt(SYRINGE, good(), today=TODAY, policy=QUARANTINE, line=LINE)
    assert (d.units, d.status, d.reasons, d.line_id, d.new_lot_status) == (10, "available", (), 11, "released")


@pytest.mark.parametrize(
    ("item", "captured", "error", "needs"),
    [
        (SYRINGE, Captured(units=1, expiry=TODAY + dt.timedelta(days=400)), e.MissingLot, ["lot"]),
        (SYRINGE, Captured(units=1, lot="L1"), e.MissingExpiry, ["expiry"]),
        (SYRINGE, Captured(units=1), e.MissingLot, ["lot", "expiry"]),
        (STENT, good(1), e.MissingSerial, ["serial"]),
        (PEN, good(1), e.MissingTemperature, ["temperature"]),
        (PEN, Captured(units=1), e.MissingLot, ["lot", "expiry", "temperature"]),
    ],
)
def test_a_missing_datum_is_asked_for_never_guessed(item, captured, error, needs):
    with pytest.raises(error) as info:
        decide_receipt(item, captured, today=TODAY, policy=QUARANTINE)
    assert info.value.context["needs"] == needs
    assert isinstance(info.value, e.MissingReceivingData)


def test_an_item_without_expiry_tracking_needs_no_expiry():
    assert decide_receipt(SCREW, Captured(units=3, lot="SC1"), today=TODAY, policy=QUARANTINE).status == "available"


def test_an_expired_lot_is_refused_under_either_policy():
    for policy in (QUARANTINE, REFUSE):
        with pytest.raises(e.LotExpired) as info:
            decide_receipt(SYRINGE, good(expiry=TODAY - dt.timedelta(days=1)), today=TODAY, policy=policy)
        assert info.value.context["expiry"] == TODAY - dt.timedelta(days=1)


def test_a_lot_expiring_today_is_not_yet_expired():
    d = decide_receipt(SCREW, Captured(units=1, lot="X", expiry=TODAY), today=TODAY, policy=REFUSE)
    assert d.status == "available"


@pytest.mark.parametrize(("days", "status"), [(59, "quarantine"), (60, "available"), (0, "quarantine")])
def test_short_shelf_life_goes_to_quarantine_under_the_quarantine_policy(days, status):
    d = decide_receipt(SYRINGE, good(expiry=TODAY + dt.timedelta(days=days)), today=TODAY, policy=QUARANTINE)
    assert d.status == status
    if status == "quarantine":
        assert d.reasons == (f"short shelf life: {days} days left, 60 required",)
        assert d.new_lot_status == "quarantine"


def test_short_shelf_life_is_refused_under_the_refuse_policy():
    with pytest.raises(e.ShelfLifeTooShort) as info:
        decide_receipt(SYRINGE, good(expiry=TODAY + dt.timedelta(days=59)), today=TODAY, policy=REFUSE)
    assert (info.value.context["remainingDays"], info.value.context["requiredDays"]) == (59, 60)


def test_a_known_serial_is_refused_wherever_it_is():
    with pytest.raises(e.SerialAlreadyReceived) as info:
        decide_receipt(
            STENT, good(1, serial="S1"), today=TODAY, policy=QUARANTINE, known_serial=KnownSerial("S1", "shipped")
        )
    assert info.value.context["serialStatus"] == "shipped" and info.value.context["inThisReceipt"] is False


def test_a_serial_scanned_twice_in_one_receipt_is_refused():
    with pytest.raises(e.SerialAlreadyReceived) as info:
        decide_receipt(STENT, good(1, serial="S1"), today=TODAY, policy=QUARANTINE, serials_in_receipt=("S1",))
    assert info.value.context["inThisReceipt"] is True


def test_serialised_units_are_received_one_by_one():
    with pytest.raises(e.SerialCountMismatch):
        decide_receipt(STENT, good(5, serial="S1"), today=TODAY, policy=QUARANTINE)


def test_a_known_lot_with_another_expiry_is_a_data_conflict():
    known = KnownLot("L1", TODAY + dt.timedelta(days=100), "released")
    with pytest.raises(e.LotExpiryConflict) as info:
        decide_receipt(
            SYRINGE,
            good(lot="L1", expiry=TODAY + dt.timedelta(days=101)),
            today=TODAY,
            policy=QUARANTINE,
            known_lot=known,
        )
    assert info.value.context["knownExpiry"] == TODAY + dt.timedelta(days=100)


def test_a_known_lot_with_the_same_expiry_is_received_and_keeps_its_status():
    known = KnownLot("L1", TODAY + dt.timedelta(days=400), "released")
    d = decide_receipt(SYRINGE, good(lot="L1"), today=TODAY, policy=QUARANTINE, known_lot=known)
    assert (d.status, d.new_lot_status) == ("available", None)


def test_units_of_a_lot_on_hold_go_to_quarantine():
    known = KnownLot("L1", TODAY + dt.timedelta(days=400), "hold")
    assert decide_receipt(SYRINGE, good(), today=TODAY, policy=QUARANTINE, known_lot=known).reasons == ("lot is hold",)


def test_units_of_a_recalled_lot_are_refused_naming_the_recall():
    recall = {"recall": "RCL-000004", "recallId": 4}
    known = KnownLot("L1", TODAY + dt.timedelta(days=400), "recalled", recall)
    with pytest.raises(e.LotRecalled) as refused:
        decide_receipt(SYRINGE, good(lot="L1"), today=TODAY, policy=QUARANTINE, known_lot=known)
    assert refused.value.context == {"item": "SYR-10ML", "lot": "L1", **recall}
    assert "RCL-000004" in refused.value.message


@pytest.mark.parametrize(
    ("temperature", "status"),
    [(2.0, "available"), (5.5, "available"), (8.0, "available"), (8.1, "quarantine"), (-1, "quarantine")],
)
def test_cold_chain_items_outside_their_range_go_to_quarantine(temperature, status):
    d = decide_receipt(PEN, good(temperature_c=temperature), today=TODAY, policy=QUARANTINE)
    assert d.status == status
    if status == "quarantine":
        assert d.reasons == (f"temperature {temperature:g} °C outside 2–8 °C",)
        assert d.new_lot_status == "released"  # one warm delivery does not condemn the whole lot


def test_qc_required_items_always_go_to_quarantine():
    d = decide_receipt(IMPLANT, good(1, serial="S9"), today=TODAY, policy=QUARANTINE)
    assert (d.status, d.reasons, d.new_lot_status) == (
        "quarantine",
        ("QC inspection required on receipt",),
        "quarantine",
    )


@pytest.mark.parametrize(
    ("ordered", "received", "units", "pct", "ok"),
    [
        (200, 0, 200, 0, True),
        (200, 0, 201, 0, False),
        (200, 100, 110, 5, True),
        (200, 100, 111, 5, False),
        (10, 9, 1, 5, True),
        (10, 10, 1, 5, False),  # 5 % of 10 rounds down to 0
        (10, 10, 1, 10, True),
    ],
)
def test_over_receipt_beyond_the_supplier_tolerance_is_refused(ordered, received, units, pct, ok):
    line = LineFacts(1, 1, 1, ordered, received)
    policy = ReceivingPolicy("quarantine", pct)
    if ok:
        assert decide_receipt(SYRINGE, good(units), today=TODAY, policy=policy, line=line).units == units
    else:
        with pytest.raises(e.OverReceipt) as info:
            decide_receipt(SYRINGE, good(units), today=TODAY, policy=policy, line=line)
        assert info.value.context["maxAcceptable"] == max(ordered + over_receipt_allowance(ordered, pct) - received, 0)


def test_a_blind_receipt_has_no_quantity_limit():
    assert decide_receipt(SYRINGE, good(5000), today=TODAY, policy=QUARANTINE, line=None).units == 5000


def test_the_first_line_with_open_quantity_takes_the_scan():
    lines = [LineFacts(1, 1, 1, 10, 10), LineFacts(2, 2, 1, 10, 3), LineFacts(3, 3, 9, 10, 0)]
    assert choose_line(lines, SYRINGE, document="PO-1").line_id == 2
    assert choose_line(lines[:1], SYRINGE, document="PO-1").line_id == 1
    with pytest.raises(e.ItemNotOnDocument) as info:
        choose_line(lines, STENT, document="PO-1")
    assert info.value.context == {"item": "STENT", "gtin": STENT.gtin, "document": "PO-1"}


ASN = (ExpectedLot("ST-C3", TODAY + dt.timedelta(days=720), ("S1", "S2"), 2),)


@pytest.mark.parametrize(
    ("captured", "expected"),
    [
        (Captured(1, lot="ST-C3", expiry=TODAY + dt.timedelta(days=720), serial="S1"), ()),
        (
            Captured(1, lot="ST-XX", expiry=TODAY + dt.timedelta(days=720), serial="S1"),
            ("lot ST-XX is not on the ASN (expected ST-C3)",),
        ),
        (
            Captured(1, lot="ST-C3", expiry=TODAY + dt.timedelta(days=700), serial="S1"),
            (
                f"lot ST-C3 expiry {(TODAY + dt.timedelta(days=700)).isoformat()} differs from the ASN's {(TODAY + dt.timedelta(days=720)).isoformat()}",
            ),
        ),
        (
            Captured(1, lot="ST-C3", expiry=TODAY + dt.timedelta(days=720), serial="S7"),
            ("serial S7 is not on the ASN for lot ST-C3",),
        ),
    ],
)
def test_asn_expectations_are_matched_and_mismatches_reported(captured, expected):
    assert asn_mismatches(ASN, captured) == expected
    assert asn_mismatches((), captured) == ()


def test_an_asn_mismatch_does_not_refuse_the_units():
    line = LineFacts(1, 1, 2, 3, 0, ASN)
    d = decide_receipt(
        STENT,
        Captured(1, lot="ST-C3", expiry=TODAY + dt.timedelta(days=720), serial="S7"),
        today=TODAY,
        policy=QUARANTINE,
        line=line,
    )
    assert d.status == "available" and d.asn_mismatches == ("serial S7 is not on the ASN for lot ST-C3",)


def test_the_short_shelf_life_policy_must_be_known():
    with pytest.raises(ValueError):
        ReceivingPolicy("ignore")


# ---- putaway -------------------------------------------------------------------------------------

SYR_OK = Content("SYR-10ML", False, False, "available")
SYR_Q = Content("SYR-10ML", False, False, "quarantine")
PEN_OK = Content("PEN-NDL", True, False, "available")
PEN_Q = Content("PEN-NDL", True, False, "quarantine")
CATH_OK = Content("CATH", False, True, "available")
CATH_Q = Content("CATH", False, True, "quarantine")

PICK = LocationFacts("A-01-01", "pick", False)
RESERVE = LocationFacts("R-01-01", "reserve", False)
COLD = LocationFacts("COLD-01", "cold", False)
BOND = LocationFacts("BOND-01", "bonded", False)
QC = LocationFacts("QC-01", "quarantine", False)
QC_COLD = LocationFacts("QC-COLD-01", "quarantine", False, cold_zone=True)
QC_BOND = LocationFacts("QC-BOND-01", "quarantine", False, bonded_zone=True)
DOCK = LocationFacts("RCV-01", "receiving", False)
SHIP = LocationFacts("SHIP-01", "shipping", False)


@pytest.mark.parametrize(
    ("contents", "location", "needs"),
    [
        ([SYR_OK], PICK, "fits"),
        ([SYR_OK], RESERVE, "fits"),
        ([SYR_OK], QC, None),
        ([SYR_OK], BOND, None),
        ([SYR_OK], DOCK, "storage"),
        ([SYR_OK], SHIP, "storage"),
        ([PEN_OK], COLD, "fits"),
        ([PEN_OK], PICK, "cold"),
        ([PEN_OK], RESERVE, "cold"),
        ([PEN_Q], QC_COLD, "fits"),
        ([PEN_Q], QC, "cold quarantine"),
        ([PEN_Q], COLD, "quarantine"),
        ([SYR_Q], QC, "fits"),
        ([SYR_Q], QC_COLD, "fits"),
        ([SYR_Q], PICK, "quarantine"),
        ([SYR_Q], RESERVE, "quarantine"),
        ([CATH_OK], BOND, "fits"),
        ([CATH_OK], PICK, "bonded"),
        ([CATH_Q], QC_BOND, "fits"),
        ([CATH_Q], QC, "bonded quarantine"),
        ([CATH_Q], BOND, "quarantine"),
        ([SYR_OK, PEN_OK], COLD, "fits"),
        ([SYR_OK, CATH_OK], BOND, None),
    ],
)
def test_putaway_destination_must_fit_every_piece_of_stock(contents, location, needs):
    if needs == "fits":
        check_putaway(contents, location)
        return
    with pytest.raises(e.LocationUnsuitable) as info:
        check_putaway(contents, location)
    assert info.value.context["needs"] == needs
    assert info.value.context["location"] == location.code


@pytest.mark.parametrize("location", [PICK, COLD, QC, BOND])
def test_a_frozen_location_takes_nothing(location):
    with pytest.raises(e.LocationUnsuitable) as info:
        check_putaway([SYR_OK], replace(location, frozen=True))
    assert info.value.context["reason"] == "the location is frozen"


@pytest.mark.parametrize(
    ("contents", "expected"),
    [
        ([SYR_OK], "pick or reserve"),
        ([PEN_OK], "cold"),
        ([PEN_Q], "cold quarantine"),
        ([CATH_Q], "bonded quarantine"),
        ([SYR_Q], "quarantine"),
    ],
)
def test_the_task_says_which_kind_of_location_it_needs(contents, expected):
    assert needed_location(contents) == expected


def test_licence_plates_group_stock_by_storage_condition_and_status():
    assert putaway_group(PEN, "quarantine") == "cold/quarantine"
    assert putaway_group(SYRINGE, "available") == "ambient/available"
    assert putaway_group(CATH, "available") == "ambient+bonded/available"


# ---- the ERP cancels a purchase order ------------------------------------------------------------------

ERP_CANCELS = [
    # status, received, open receipts -> status after
    ("open", 0, [], "cancelled"),
    ("open", 12, [], "closed"),  # a short receipt was closed: the received units keep their document
    ("cancelled", 0, [], "cancelled"),  # a repeat
    ("closed", 400, [], "closed"),  # fully received: nothing more comes either way
    ("closed", 12, [], "closed"),  # a repeat of a cancel that closed it
]


@pytest.mark.parametrize(("status", "received", "receipts", "expected"), ERP_CANCELS)
def test_the_erps_cancel_ends_a_purchase_order_cancelled_or_closed_by_what_was_received(
    status, received, receipts, expected
):
    assert status_after_erp_cancel("PO-1", status, received=received, open_receipts=receipts) == expected


@pytest.mark.parametrize("status", ["open", "receiving"])
def test_the_erps_cancel_is_refused_while_a_receipt_is_open_at_the_dock(status):
    with pytest.raises(e.ReceiptInProgress) as refused:
        status_after_erp_cancel("PO-1", status, received=0, open_receipts=["RCV-000007"])
    assert refused.value.context == {"document": "PO-1", "receipts": ["RCV-000007"]}
    assert "RCV-000007" in str(refused.value)


def test_every_quarantine_reason_is_sent_as_facts_and_read_back_from_its_stored_text():
    """The receipt scan keeps the English text; the handheld words the facts. A cold pen needle out of range,
    short-dated, of a held lot that is not released, for an item that needs QC: every reason at once."""
    from udipick.domain.receiving import read_reason

    pen = replace(PEN, qc_required=True)
    known = KnownLot("PN-1", TODAY + dt.timedelta(days=10), "quarantine", hold="damp boxes (dock 2)")
    captured = good(lot="PN-1", expiry=TODAY + dt.timedelta(days=10), temperature_c=9.5)
    d = decide_receipt(pen, captured, today=TODAY, policy=QUARANTINE, known_lot=known)
    assert [w.code for w in d.why] == [
        "short-shelf-life",
        "temperature-out-of-range",
        "lot-not-released",
        "lot-on-hold",
        "qc-required",
    ]
    assert d.reasons == tuple(w.text for w in d.why)
    assert d.why[0].facts == {"remainingDays": 10, "requiredDays": 30}
    assert d.why[1].facts == {"temperatureC": 9.5, "range": "2–8 °C"}
    assert [read_reason(text) for text in d.reasons] == list(d.why)
    assert read_reason("a note someone typed") is None


def test_an_expired_or_refused_short_dated_lot_is_refused_at_the_dock_not_quarantined():
    old = good(expiry=TODAY - dt.timedelta(days=1))
    for policy in (QUARANTINE, REFUSE):
        with pytest.raises(e.LotExpired) as refused:
            decide_receipt(SYRINGE, old, today=TODAY, policy=policy)
        assert refused.value.context["action"] == "refuse-goods" and "refuse the goods" in refused.value.message
    with pytest.raises(e.ShelfLifeTooShort) as short:
        decide_receipt(SYRINGE, good(expiry=TODAY + dt.timedelta(days=10)), today=TODAY, policy=REFUSE)
    assert short.value.context["action"] == "refuse-goods"
