"""The app's request class: every JSON body is measured for depth before Litestar's decoder sees it.

Litestar decodes a JSON body in ``Request.json()`` (``data: JSONBody[...]`` and msgspec struct
parameters both come through it), with msgspec, which recurses once per nested array or object:
``"[" * 1000 + "]" * 1000`` raised ``RecursionError``, a 500, on every JSON route, sign-in
included. ``request_class`` is Litestar's public hook for this; the check is the linear scan of
``domain.json_input``, so it costs two byte counts for an ordinary body.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from udipick.domain.errors import JsonTooDeep
from udipick.domain.json_input import MAX_JSON_DEPTH, too_deep


def refuse_deep_json(raw: bytes | str, **context: Any) -> None:
    """Raise ``JsonTooDeep`` (400) when ``raw`` nests deeper than ``MAX_JSON_DEPTH``."""
    if too_deep(raw, MAX_JSON_DEPTH):
        raise JsonTooDeep(
            f"the JSON nests arrays and objects more than {MAX_JSON_DEPTH} deep, the most udipick reads",
            maxDepth=MAX_JSON_DEPTH,
            **context,
        )


class UdipickRequest(Request):
    async def json(self) -> Any:
        refuse_deep_json(await self.body())
        return await super().json()
