"""Events udipick sends to the ERP: one msgspec struct per versioned type, registered here.

``docs/events.md`` and its JSON Schemas are generated from this registry, so the documented shape
is the shape on the wire. Workflows build the struct and ``emit`` it inside their own transaction
(the transactional outbox): the event exists exactly when the change does.

JSON keys are camelCase GS1 words: ``gtin`` (14 digits), ``lot``, ``expiry`` (ISO date),
``serial``, ``sscc``, ``gln``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.outbox import add_events
from udipick.domain.access import Actor

EVENT_TYPES: dict[str, type[msgspec.Struct]] = {}
_TYPE_OF: dict[type[msgspec.Struct], str] = {}

S = TypeVar("S", bound=type[msgspec.Struct])


def event(type_name: str) -> Callable[[S], S]:
    """Register ``type_name`` (``noun.past-tense-verb.vN``) for a struct."""

    def register(cls: S) -> S:
        if type_name in EVENT_TYPES:
            raise ValueError(f"event type {type_name} registered twice")
        EVENT_TYPES[type_name] = cls
        _TYPE_OF[cls] = type_name
        return cls

    return register


class EventData(msgspec.Struct, rename="camel", omit_defaults=False, kw_only=True):
    """Base for event bodies."""


async def emit(session: AsyncSession, actor: Actor, *events: EventData) -> list:
    """Write events to the outbox in the caller's transaction; returns their event ids."""
    return await add_events(session, actor, [(_TYPE_OF[type(e)], msgspec.to_builtins(e)) for e in events])


def type_of(data: EventData) -> str:
    return _TYPE_OF[type(data)]
