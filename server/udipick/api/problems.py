"""One error shape on the wire: RFC 9457 ``application/problem+json`` for every error.

Domain errors carry their ``context`` as top-level members a handheld can show (the lot to take
instead, the position of a bad character). Framework errors (bad JSON, validation, unknown route,
wrong method) and anything unexpected get the same shape, so a scanner, a person or an ERP never
has to parse two formats.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from udipick.db.pg import RETRY_AFTER_SECONDS, is_disconnect, unavailable
from udipick.domain import errors as e
from udipick.domain.problem import PROBLEM_BASE, STATUS, problem_body, status_for  # noqa: F401  (re-exported)

log = logging.getLogger("udipick.api")

PROBLEM_JSON = "application/problem+json"

#: the ``code`` of problems this module gives framework errors (domain errors carry their own)
HANDLER_CODES = ("invalid-request", "not-authenticated", "permission-denied", "busy")


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=msgspec.json.encode(body),
        status_code=body["status"],
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _pointer(key: str | None) -> str:
    if not key:
        return ""
    # msgspec paths look like `$.lines[0].gtin`; RFC 6901 pointers like `/lines/0/gtin`
    key = key.removeprefix("$").replace("[", ".").replace("]", "")
    return "/" + "/".join(p for p in key.split(".") if p)


def handle_domain_error(request: Request, exc: e.DomainError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.NotAuthenticated) else {}
    if isinstance(exc, e.DatabaseUnavailable):
        headers["Retry-After"] = str(exc.context.get("retryAfter", RETRY_AFTER_SECONDS))
    if isinstance(exc, e.TooManyAttempts):
        headers["Retry-After"] = str(exc.context["retryAfter"])
    return problem_response(problem_body(exc, instance=request.url.path), headers or None)


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 413:  # Litestar's request_max_body_size, before the handler ran
        limit = request.route_handler.resolve_request_max_body_size()
        error = e.BodyTooLarge(
            f"the request body is over {limit} bytes, the most this endpoint takes; nothing was changed", maxBytes=limit
        )
        return problem_response(problem_body(error, instance=request.url.path))
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _title(status),
        "status": status,
        "detail": exc.detail,
        "instance": request.url.path,
    }
    if status == 400:
        body.update(type=PROBLEM_BASE + "invalid-request", code="invalid-request", title="Invalid request")
    if isinstance(exc, ValidationException):
        body.update(type=PROBLEM_BASE + "invalid-request", code="invalid-request", title="Invalid request")
        errors = []
        for item in exc.extra or []:
            if isinstance(item, dict):
                errors.append({"pointer": _pointer(item.get("key")), "detail": item.get("message", "")})
        body["errors"] = errors
        if errors:
            body["detail"] = "; ".join(f"{x['pointer'] or '/'}: {x['detail']}" for x in errors)
    elif isinstance(exc, NotAuthorizedException):
        body.update(type=PROBLEM_BASE + "not-authenticated", code="not-authenticated")
    elif isinstance(exc, PermissionDeniedException):
        body.update(type=PROBLEM_BASE + "permission-denied", code="permission-denied")
    headers = dict(exc.headers or {})
    return problem_response(body, headers or None)


def _sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL error code behind an exception, whether asyncpg raised it or SQLAlchemy wrapped it."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


#: contention the client can simply retry (deadlock detected, serialization failure, lock not available)
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


def handle_unexpected(request: Request, exc: Exception) -> Response:
    if is_disconnect(exc):
        # PostgreSQL is restarting or unreachable: the client may send the same request again; the pools
        # reconnect on their own once it is back (SQLAlchemy discards every connection older than this error)
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc, extra={"path": request.url.path})
        return handle_domain_error(request, unavailable(exc))
    state = _sqlstate(exc)
    if state in RETRYABLE_SQLSTATES:
        return problem_response(
            {
                "type": PROBLEM_BASE + "busy",
                "code": "busy",
                "title": "Busy",
                "status": 503,
                "detail": "another change to the same stock got there first; nothing was changed, send the request again",
                "instance": request.url.path,
            },
            {"Retry-After": "1"},
        )
    if state is not None and state.startswith("22"):  # data exception: a value PostgreSQL cannot hold
        return problem_response(
            {
                "type": PROBLEM_BASE + "invalid-request",
                "code": "invalid-request",
                "title": "Invalid request",
                "status": 422,
                "detail": "a value in this request is out of range or malformed; nothing was changed",
                "instance": request.url.path,
            }
        )
    if isinstance(exc, UnicodeDecodeError):  # e.g. a JSON body that is not UTF-8 (the framework lets it through)
        return problem_response(
            {
                "type": PROBLEM_BASE + "invalid-request",
                "code": "invalid-request",
                "title": "Invalid request",
                "status": 400,
                "detail": f"the request is not UTF-8 text (byte {exc.start}); nothing was changed",
                "instance": request.url.path,
            }
        )
    request_id = str(uuid.uuid4())
    log.exception("unhandled error", extra={"request_id": request_id, "path": request.url.path})
    return problem_response(
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": HTTP_500_INTERNAL_SERVER_ERROR,
            "detail": "udipick could not complete this request; nothing was changed. Quote the request id to support.",
            "requestId": request_id,
            "instance": request.url.path,
        }
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS = {
    e.DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
