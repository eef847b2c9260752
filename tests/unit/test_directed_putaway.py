"""Directed putaway as a table: which destination comes first and why, and which are refused."""

from __future__ import annotations

import pytest

from udipick.domain import putaway as d
from udipick.domain.errors import LocationUnsuitable
from udipick.domain.receiving import Content, LocationFacts

SYRINGE, NEEDLE, CATHETER = 1, 2, 3
LOT_A, LOT_B = 10, 11


def place(pid, code, type_="reserve", *, zone="R", seq=0, capacity=None, occupied=0, lots=(), face=(), short=(),
          frozen=False, cold_zone=False):  # fmt: skip
    return d.Place(
        id=pid,
        facts=LocationFacts(code=code, type=type_, frozen=frozen, cold_zone=cold_zone),
        zone=zone,
        pick_sequence=seq,
        capacity=capacity,
        occupied=occupied,
        lot_ids=frozenset(lots),
        face_for=frozenset(face),
        face_short=frozenset(short),
    )


def load(item=SYRINGE, lot=LOT_A, qty=20, *, status="available", cold=False, bonded=False, items=None):
    content = Content(item=f"item-{item}", cold_chain=cold, bonded=bonded, status=status)
    return d.Load((content,), frozenset(items or {item}), frozenset({lot}), qty)


FACE = place(1, "A-01-01", "pick", zone="A", seq=101, occupied=5, face={SYRINGE}, short={SYRINGE})
FULL_FACE = place(2, "A-01-02", "pick", zone="A", seq=102, occupied=300, face={SYRINGE})
SAME_LOT = place(3, "R-01-09", zone="R", seq=509, occupied=40, lots={LOT_A})
EMPTY_A = place(4, "A-01-05", "pick", zone="A", seq=105)
EMPTY_R = place(5, "R-01-02", zone="R", seq=502)
MIXED = place(6, "R-01-03", zone="R", seq=503, occupied=7, lots={LOT_B})
COLD = place(7, "COLD-02", "cold", zone="COLD", seq=301)
QC = place(8, "QC-01", "quarantine", zone="QC")
SMALL = place(9, "R-01-04", zone="R", seq=504, capacity=10)
FROZEN = place(10, "R-01-05", zone="R", seq=505, frozen=True)
DOCK = place(11, "RCV-01", "receiving", zone="DOCK")
BOND = place(12, "BOND-01", "bonded", zone="BOND", seq=400)
ALL = [FACE, FULL_FACE, SAME_LOT, EMPTY_A, EMPTY_R, MIXED, COLD, QC, SMALL, FROZEN, DOCK, BOND]

# (case, load, places, expected first location, its reason, the rest in order)
RANKING = [
    (
        "the face that needs stock first",
        load(),
        ALL,
        "A-01-01",
        d.PICK_FACE,
        ["R-01-09", "A-01-05", "R-01-02", "A-01-02"],
    ),
    (
        "a full face: the lot's location",
        load(),
        [FULL_FACE, SAME_LOT, EMPTY_R],
        "R-01-09",
        d.SAME_LOT,
        ["R-01-02", "A-01-02"],
    ),
    (
        "empty in the face's zone before reserve",
        load(),
        [FULL_FACE, EMPTY_R, EMPTY_A],
        "A-01-05",
        d.ITEM_ZONE,
        ["R-01-02", "A-01-02"],
    ),
    (
        "no face: reserve before an empty pick slot",
        load(item=CATHETER + 10),
        [EMPTY_A, EMPTY_R],
        "R-01-02",
        d.EMPTY,
        ["A-01-05"],
    ),
    ("mixed stock last", load(item=99, lot=99), [MIXED, EMPTY_R], "R-01-02", d.EMPTY, ["R-01-03"]),
    (
        "ambient goods in the cold room last",
        load(item=99, lot=99),
        [COLD, MIXED, EMPTY_R],
        "R-01-02",
        d.EMPTY,
        ["COLD-02", "R-01-03"],
    ),
    (
        "two items on the plate: no single face",
        load(items={SYRINGE, NEEDLE}),
        [FACE, EMPTY_R],
        "R-01-02",
        d.EMPTY,
        ["A-01-01"],
    ),
    ("cold-chain only to cold", load(cold=True), ALL, "COLD-02", d.EMPTY, []),
    ("quarantine only to quarantine", load(status="quarantine"), ALL, "QC-01", d.EMPTY, []),
    ("bonded only to bonded", load(bonded=True), ALL, "BOND-01", d.EMPTY, []),
    ("capacity: room for 10", load(qty=10), [SMALL], "R-01-04", d.EMPTY, []),
]


@pytest.mark.parametrize(("case", "what", "places", "first", "reason", "rest"), RANKING, ids=[r[0] for r in RANKING])
def test_suggestions_rank_suitable_places_with_the_reason_of_the_first(case, what, places, first, reason, rest):
    ranked = d.suggest(what, places)
    assert (ranked[0].location, ranked[0].reason) == (first, reason)
    assert [s.location for s in ranked[1:]] == rest
    assert ranked[0].detail


# (case, load, place, the refusal's reason; None: suitable)
CHECKS = [
    ("fits", load(), EMPTY_R, None),
    ("over capacity", load(qty=11), SMALL, "full: room for 10 of 11 units"),
    ("frozen", load(), FROZEN, "the location is frozen"),
    ("not storage", load(), DOCK, "a receiving location is not a storage place"),
    ("cold chain to ambient", load(cold=True), EMPTY_R, "item-1 is cold-chain"),
    ("available into quarantine", load(), QC, "item-1 is released stock; quarantine is for stock awaiting a decision"),
    ("quarantine to a pick face", load(status="quarantine"), FACE, "item-1 is quarantine and must stay segregated"),
    ("bonded to non-bonded", load(bonded=True), EMPTY_R, "item-1 is bonded (customs not cleared)"),
    (
        "non-bonded into bonded",
        load(),
        BOND,
        "item-1 is not bonded; the bonded area holds only goods under customs control",
    ),
]


@pytest.mark.parametrize(("case", "what", "where", "reason"), CHECKS, ids=[c[0] for c in CHECKS])
def test_a_chosen_destination_is_refused_with_the_reason(case, what, where, reason):
    if reason is None:
        d.check_destination(what, where)
        return
    with pytest.raises(LocationUnsuitable) as exc:
        d.check_destination(what, where)
    assert exc.value.context["reason"] == reason


def test_nothing_suitable_suggests_nothing():
    assert d.suggest(load(cold=True), [EMPTY_R, QC, DOCK]) == []


def test_suggestions_stop_at_the_limit():
    assert len(d.suggest(load(), ALL, limit=2)) == 2
