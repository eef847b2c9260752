"""Domain errors as RFC 9457 problem bodies: one table of statuses, one rendering.

Pure data and functions, so services can store a refusal (a scan's first answer) exactly as the API
sends it, and a replay gets it back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from udipick.domain import errors as e

PROBLEM_BASE = "https://udipick.dev/problems/"

#: HTTP status per domain error. A unit test checks every DomainError subclass has its own row.
STATUS: dict[type[e.DomainError], int] = {
    e.DomainError: 422,
    e.UnreadableBarcode: 422,
    e.InvalidGtin: 422,
    e.InvalidRecord: 422,
    e.NotFound: 404,
    e.UnknownGtin: 404,
    e.StaleVersion: 409,
    e.Conflict: 409,
    e.NotAuthenticated: 401,
    e.PermissionDenied: 403,
    e.SignatureRejected: 403,
    e.InsufficientStock: 409,
    e.InvalidSscc: 422,
    e.InvalidLabelData: 422,
    e.UnknownLabelTemplate: 404,
    e.PrinterUnavailable: 503,
}


def status_for(error: e.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 422


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def problem_body(error: e.DomainError, *, instance: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + error.code,
        "title": error.title,
        "status": status_for(error),
        "detail": error.message,
        "code": error.code,
    }
    if instance:
        body["instance"] = instance
    for key, value in error.context.items():
        if key not in body:
            body[key] = _jsonable(value)
    return body
