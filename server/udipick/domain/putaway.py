"""Directed putaway: which location a plate (or part of one) should go to, and whether a chosen one fits.

A destination must first be *suitable*: the segregation rules of ``domain.receiving.check_putaway``
(cold chain, quarantine, bonded, frozen) and room for the units (``locations.capacity``). Among the
suitable ones the ranking follows what a warehouse wants first:

1. the item's pick face, when it needs stock (below ``items.replenish_min``, or empty): the units go
   where pickers take them and no replenishment trip is needed later;
2. a location already holding the same lot (consolidation: one lot in one place, one place to recall);
3. an empty location in a zone where the item already has its pick face (short replenishment trips);
4. an empty storage location (reserve before a pick slot, which would become a second pick face);
5. any other suitable location (mixed with other stock; ambient goods in the cold room).

Ties go in pick-path order. The same check refuses a receiver's or mover's own choice with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from udipick.domain.errors import LocationUnsuitable
from udipick.domain.receiving import Content, LocationFacts, check_putaway

#: reasons, best first; the handheld shows the words of the first candidate's
PICK_FACE = "pick-face"
SAME_LOT = "same-lot"
ITEM_ZONE = "item-zone"
EMPTY = "empty"
FITS = "fits"
REASONS = (PICK_FACE, SAME_LOT, ITEM_ZONE, EMPTY, FITS)


@dataclass(frozen=True, slots=True)
class Load:
    """What is going: the pieces of stock (for the segregation rules), their items, lots and units."""

    contents: tuple[Content, ...]
    item_ids: frozenset[int]
    lot_ids: frozenset[int]
    quantity: int


@dataclass(frozen=True, slots=True)
class Place:
    """A storage location and what it holds now."""

    id: int
    facts: LocationFacts
    zone: str
    pick_sequence: int
    capacity: int | None = None
    #: units on hand there (any status, any plate)
    occupied: int = 0
    lot_ids: frozenset[int] = frozenset()
    #: items whose pick face this location is (loose stock of the item in a pick-face type location)
    face_for: frozenset[int] = frozenset()
    #: of those, the items whose face needs stock (free units below the item's minimum, or none)
    face_short: frozenset[int] = frozenset()

    @property
    def code(self) -> str:
        return self.facts.code


@dataclass(frozen=True, slots=True)
class Suggestion:
    location_id: int
    location: str
    #: one of ``REASONS``
    reason: str
    #: the reason in words, with the numbers that made it
    detail: str


def unsuitable(load: Load, place: Place) -> LocationUnsuitable | None:
    """Why ``place`` cannot take ``load``, or ``None`` when it can."""
    try:
        check_putaway(load.contents, place.facts)
    except LocationUnsuitable as exc:
        return exc
    if place.capacity is not None and place.occupied + load.quantity > place.capacity:
        room = max(place.capacity - place.occupied, 0)
        return LocationUnsuitable(
            f"{place.code} cannot take this: it holds {place.occupied} of {place.capacity} units, "
            f"room for {room}, not {load.quantity}",
            location=place.code,
            locationType=place.facts.type,
            reason=f"full: room for {room} of {load.quantity} units",
            why="full",
            room=room,
            quantity=load.quantity,
            needs=None,
            item=None,
        )
    return None


def check_destination(load: Load, place: Place) -> None:
    """Refuse a chosen destination that is not suitable (the problem says why)."""
    problem = unsuitable(load, place)
    if problem is not None:
        raise problem


def check_plate(moving: Sequence[Content], on_plate: Sequence[Content], *, plate: str, location: str) -> None:
    """Stock that shares a licence plate shares its status and storage condition (as receiving fills
    plates): a plate goes to one location that must fit all of it."""

    def group(c: Content) -> tuple[str, bool, bool]:
        return c.status, c.cold_chain, c.bonded

    def words(g: tuple[str, bool, bool]) -> str:
        return " ".join([g[0]] + (["cold-chain"] if g[1] else []) + (["bonded"] if g[2] else []))

    have = {group(c) for c in on_plate}
    for c in moving:
        if have and group(c) not in have:
            held = words(next(iter(have)))
            raise LocationUnsuitable(
                f"{plate} cannot take {c.item}: it holds {held} stock, {c.item} is {words(group(c))}",
                location=location,
                locationType="plate",
                reason=f"{plate} holds {held} stock",
                why="plate-mix",
                plate=plate,
                needs=None,
                item=c.item,
            )


def _rank(load: Load, place: Place, item_zones: frozenset[str]) -> tuple[int, str]:
    single = next(iter(load.item_ids)) if len(load.item_ids) == 1 else None
    if single is not None and single in place.face_short:
        return 0, f"pick face of the item, which needs stock ({place.occupied} units there)"
    if place.facts.cold and not any(c.cold_chain for c in load.contents):
        return 4, "fits, though cold room space is kept for cold-chain goods"
    shared = place.lot_ids & load.lot_ids
    if shared:
        return 1, f"already holds this lot ({place.occupied} units there)"
    if place.occupied == 0 and place.zone in item_zones:
        return 2, f"empty, in zone {place.zone} near the item's pick face"
    if place.occupied == 0:
        return 3, "empty"
    return 4, f"fits ({place.occupied} units there" + (f" of {place.capacity})" if place.capacity else ")")


def suggest(load: Load, places: Iterable[Place], *, limit: int = 5) -> list[Suggestion]:
    """Suitable destinations, best first (at most ``limit``); empty when nothing fits."""
    places = list(places)
    item_zones = frozenset(p.zone for p in places if p.face_for & load.item_ids)
    ranked: list[tuple[tuple[int, int, int, str, int], Suggestion]] = []
    for place in places:
        if unsuitable(load, place) is not None:
            continue
        rank, detail = _rank(load, place, item_zones)
        # an empty pick slot would become a second pick face: reserve first among empty places
        slot = 1 if rank == 3 and place.facts.type == "pick" else 0
        ranked.append(
            (
                (rank, slot, place.pick_sequence, place.code, place.id),
                Suggestion(location_id=place.id, location=place.code, reason=REASONS[rank], detail=detail),
            )
        )
    ranked.sort(key=lambda r: r[0])
    return [s for _, s in ranked[:limit]]


def load_of(contents: Sequence[Content], items: Iterable[int], lots: Iterable[int | None], quantity: int) -> Load:
    return Load(
        contents=tuple(contents),
        item_ids=frozenset(items),
        lot_ids=frozenset(lot for lot in lots if lot is not None),
        quantity=quantity,
    )
