"""The OpenAPI document's problem responses, stated once for every operation.

Every refusal is an RFC 9457 ``application/problem+json`` body (``api/problems.py`` renders it), so
every operation documents the same ``Problem`` schema under the statuses it can give. Which
statuses follow from how the route is reached, not from each handler:

- 400 (unparseable request) and 422 (a rule refused it): every operation that is not public, and
  every public one that takes parameters or a body;
- 401 (not signed in) and 403 (signed in, but not allowed): every operation that is not public;
- 404: operations with path parameters (the thing named does not exist) and operations that change
  something (they name documents, lots, locations in their bodies);
- 409 (the state forbids it: already shipped, not open, ...): operations that change something;
- ``4XX`` and ``5XX`` for every operation: any other refusal (429 too many attempts, 413, 405, ...) and
  the server's own failures (503 while PostgreSQL is away), each a problem too.

A handler may still state its own ``responses=`` (``problem_responses``: a 503 from a printer, the
401 and 429 of a sign-in); those win.

The problem schema lists every known ``code`` (one per ``DomainError`` subclass in
``domain/problem.py``'s table, plus those ``api/problems.py`` gives framework errors), so the PWA's
generated types can say which refusals exist; the facts of a refusal (``takeLot``, ``pointer``,
``needs``, ...) are further members, allowed by ``additionalProperties``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.plugins import OpenAPISchemaPlugin, ReceiveRoutePlugin
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from udipick.api.problems import HANDLER_CODES, PROBLEM_JSON
from udipick.domain.access import Access
from udipick.domain.problem import PROBLEM_BASE, STATUS, OrProblem, Problem

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.routes import BaseRoute


def problem_codes() -> list[str]:
    """Every ``code`` a problem body can carry, sorted (the schema's enum)."""
    return sorted({cls.code for cls in STATUS} | set(HANDLER_CODES))


def problem_schema(schema: Schema) -> Schema:
    """Fill ``schema`` (the registered component) with the problem body's shape."""
    schema.title = "Problem"
    schema.type = OpenAPIType.OBJECT
    schema.description = (
        "RFC 9457 problem details. `code` is the stable key a client translates; the facts of the refusal "
        "(the lot to take instead, the JSON pointer of a bad field, what is missing) are further members."
    )
    schema.required = ["status", "title", "type"]
    schema.properties = {
        "type": Schema(type=OpenAPIType.STRING, description=f"{PROBLEM_BASE}<code>, or about:blank"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING, description="what happened and what to do, in English"),
        "instance": Schema(type=OpenAPIType.STRING, description="the request path"),
        "code": Schema(type=OpenAPIType.STRING, enum=problem_codes()),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="invalid-request: each field that failed validation",
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["detail", "pointer"],
                properties={
                    "pointer": Schema(type=OpenAPIType.STRING, description="RFC 6901 JSON pointer"),
                    "detail": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
        "requestId": Schema(type=OpenAPIType.STRING, description="an unexpected error: quote it to support"),
    }
    schema.additional_properties = Schema()
    return schema


class ProblemSchema(OpenAPISchemaPlugin):
    """Writes ``Problem`` into ``components/schemas`` (a hand-written schema: msgspec cannot state the
    open set of members a problem carries)."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.annotation is Problem

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        return problem_schema(schema_creator.schema_registry.get_schema_for_field_definition(field_definition))


def _or_problem(field_definition: FieldDefinition) -> OrProblem | None:
    return next((m for m in field_definition.metadata if isinstance(m, OrProblem)), None)


class OrProblemSchema(OpenAPISchemaPlugin):
    """A member typed ``Annotated[Any, OrProblem(T)]``: ``oneOf`` ``T`` and ``Problem``."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return _or_problem(field_definition) is not None

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        either = _or_problem(field_definition)
        assert either is not None
        return Schema(
            one_of=[
                schema_creator.for_field_definition(FieldDefinition.from_annotation(t)) for t in (either.type, Problem)
            ]
        )


_DESCRIPTIONS = {
    400: "The request cannot be read (not JSON, wrong types, failed validation): `invalid-request` with `errors`.",
    401: "Not signed in, or the token is no longer valid: `not-authenticated`.",
    403: "Signed in, but this role or scope may not do this (or the e-signature was refused).",
    404: "What the request names does not exist.",
    409: "The current state forbids it (already shipped, not open, another lot expires first, ...).",
    422: "A rule refused the request; `code` says which, further members say what to do.",
    "4XX": "Any other refusal (too many attempts, a body too large, a method the path does not have, ...).",
    "5XX": "udipick could not complete the request (`busy`, `database-unavailable`: send it again); nothing was changed.",
}

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def problem_statuses(method: str, *, public: bool, path_parameters: bool, takes_input: bool) -> list[int | str]:
    """The problem statuses an operation documents (the rule in this module's docstring), then the ranges
    ``4XX`` and ``5XX`` every operation can answer with a problem."""
    statuses: set[int] = set()
    if not public:
        statuses |= {400, 401, 403, 422}
    elif takes_input or path_parameters:
        statuses |= {400, 422}
    if path_parameters or (method in MUTATING and not public):
        statuses.add(404)
    if method in MUTATING and not public:
        statuses.add(409)
    return [*sorted(statuses), "4XX", "5XX"]


def problem_responses(statuses: dict[int | str, str]) -> dict[int | str, ResponseSpec]:
    """Problem responses a handler states itself (``responses=``), each status with what it means there."""
    return {
        status: ResponseSpec(
            data_container=Problem, media_type=PROBLEM_JSON, description=description, generate_examples=False
        )
        for status, description in statuses.items()
    }


def _takes_input(handler: HTTPRouteHandler) -> bool:
    return any(
        name not in ("db", "actor", "settings", "labels", "request", "state")
        for name in handler.parsed_fn_signature.parameters
    )


class ProblemResponses(ReceiveRoutePlugin):
    """Gives each HTTP route's handlers their problem responses as the app registers them.

    Handlers inside a module-level ``Router`` are shared by every app built from it; the result is
    the same for each, so setting it again changes nothing.
    """

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if "OPTIONS" in handler.http_methods:  # the framework's CORS pre-flight
                continue
            rule: Access | None = handler.opt.get("access")
            public = rule is not None and rule.public
            problems = problem_responses(
                {
                    status: _DESCRIPTIONS[status]
                    for method in handler.http_methods
                    for status in problem_statuses(
                        method,
                        public=public,
                        path_parameters=bool(route.path_parameters),
                        takes_input=_takes_input(handler),
                    )
                }
            )
            handler.responses = {**problems, **(handler.responses or {})}


#: the app's plugins for this module's rule
PLUGINS = [ProblemResponses(), ProblemSchema(), OrProblemSchema()]


def write_document(path: str) -> None:
    """The app's OpenAPI document as ``/schema/openapi.json`` serves it, written without starting a server
    (``scripts/gen-api-types.sh`` turns it into the PWA's types)."""
    import json
    from pathlib import Path

    from udipick.api.app import create_app
    from udipick.config import Settings

    # the document depends on the routes only: no database is opened, no setting changes it
    app = create_app(Settings(), database_url="postgresql://unused@localhost/unused")
    # keys sorted: Litestar keeps some parts (a route's response headers) in sets, whose order changes from run to run
    text = json.dumps(app.openapi_schema.to_schema(), indent=2, ensure_ascii=False, sort_keys=True)
    Path(path).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    import sys

    write_document(sys.argv[1])


def also_csv_and_html(csv_description: str, html_description: str) -> type[Operation]:
    """An ``operation_class`` stating that the 200 also comes as CSV (``format=csv``) and as a printable page
    (``format=html``), next to the handler's own media type (a trace, the GSP records)."""

    @dataclass
    class AlsoCsvAndHtml(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if ok is not None and not isinstance(ok, dict) and ok.content is not None:
                ok.content["text/csv"] = OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, description=csv_description)
                )
                ok.content["text/html"] = OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, description=html_description)
                )

    return AlsoCsvAndHtml
