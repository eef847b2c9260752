"""The supervisor's exception queue: which refused scans and answers become an exception, and who sees which.

A refusal the picker can fix alone (wrong item, wrong location, an over-pick) is feedback on the handheld,
not work for anyone else. What needs a second person is raised once, on the server, in the transaction that
stores the answer: stock that must not leave (held, quarantined, recalled, expired or short-dated), an
attempt to take a later-expiring lot than FEFO allows (GDP / EU 2013/C 343/01 §5.5: the picker may not
decide that alone; it is also where an override is asked for), a short pick and a count that did not match
the books (the stock figures changed: someone checks why), and any scan that was taken offline and refused
when the handheld replayed it (the picker has moved on; the unit may be in the wrong tote).

Quality (QA) sees the kinds about the stock's fitness and the books; supervisors and admins see everything;
pickers and receivers see nothing here: their own refusals are on their screen.
"""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal[
    "fefo-violation", "held", "recalled", "expired", "short-pick", "count-variance", "override", "offline-refused"
]
KINDS: frozenset[str] = frozenset(get_args(Kind))

#: problem code of a refused scan -> the exception it raises (codes not listed raise none)
KIND_OF_CODE: dict[str, Kind] = {
    "fefo-violation": "fefo-violation",
    "stock-on-hold": "held",
    "lot-quarantined": "held",
    "lot-recalled": "recalled",
    "serial-recalled": "recalled",
    "lot-expired": "expired",
    "shelf-life-too-short": "expired",
    "serial-already-shipped": "held",
}

#: what QA is asked to judge: the stock's fitness and the books
QUALITY_KINDS: frozenset[str] = frozenset({"held", "recalled", "expired", "count-variance"})


def kind_of_refusal(code: str, *, queued: bool) -> Kind | None:
    """The exception a refused scan raises, if any. ``queued``: the scan waited in the handheld's offline
    queue, so the picker saw the refusal only later, away from the shelf."""
    kind = KIND_OF_CODE.get(code)
    if kind is None and queued:
        return "offline-refused"
    return kind


def visible_kinds(roles: frozenset[str] | set[str]) -> frozenset[str]:
    """The kinds a person with these roles sees in the queue (and may resolve); empty: none."""
    if roles & {"supervisor", "admin"}:
        return KINDS
    if "qa" in roles:
        return QUALITY_KINDS
    return frozenset()
