"""One error model for every rule udipick enforces.

Each subclass names a fact a person on the floor can act on. ``context`` carries the
details a handheld shows (the lot to take instead, the position of a bad character);
the API renders it as top-level fields of an RFC 9457 problem. ``message`` is English;
``code`` is the stable key the PWA translates (zh-CN / en) with ``context`` as arguments.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    #: stable machine key, e.g. ``fefo-violation``; also the last segment of the problem ``type``
    code: ClassVar[str] = "domain-error"
    #: short human title for the problem ``title``
    title: ClassVar[str] = "Request refused"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return self.message


# ---- input that cannot be understood -------------------------------------------------


class UnreadableBarcode(DomainError):
    """Raw scan data that is not a valid GS1 / HIBC / Digital Link / internal code.

    context: ``position`` (0-based index into the raw input, when known), ``reason``.
    """

    code = "unreadable-barcode"
    title = "Barcode cannot be read"


class InvalidGtin(DomainError):
    code = "invalid-gtin"
    title = "Invalid GTIN"


class InvalidRecord(DomainError):
    """An ERP record that breaks a rule the schema cannot express (``pointer`` names the field)."""

    code = "invalid-record"
    title = "Invalid record"


# ---- master data / documents -----------------------------------------------------------


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class UnknownGtin(NotFound):
    code = "unknown-gtin"
    title = "Unknown GTIN"


class StaleVersion(DomainError):
    """The ERP sent an older version of a document than udipick already holds."""

    code = "stale-version"
    title = "Older version refused"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


# ---- access ----------------------------------------------------------------------------


class NotAuthenticated(DomainError):
    code = "not-authenticated"
    title = "Not signed in"


class PermissionDenied(DomainError):
    code = "permission-denied"
    title = "Not allowed"


class SignatureRejected(DomainError):
    """An electronic signature (password re-entered, 21 CFR Part 11 §11.200) did not verify."""

    code = "signature-rejected"
    title = "Electronic signature rejected"


# ---- stock rules -----------------------------------------------------------------------


class InsufficientStock(DomainError):
    code = "insufficient-stock"
    title = "Not enough stock"


# ---- labels and printers ---------------------------------------------------------------


class InvalidSscc(DomainError):
    """An SSCC that is not 18 digits or whose GS1 mod-10 check digit is wrong (context: ``sscc``, ``expected``)."""

    code = "invalid-sscc"
    title = "Invalid SSCC"


class InvalidLabelData(DomainError):
    """Data that cannot be printed so that it scans back unchanged (context: ``field``, ``value``, ``reason``)."""

    code = "invalid-label-data"
    title = "Label data cannot be printed"


class UnknownLabelTemplate(NotFound):
    """No template for this kind/size/dpi, or a template that breaks the escaping rules (context: ``kind``, ``size``, ``dpi``)."""

    code = "unknown-label-template"
    title = "Unknown label template"


class PrinterUnavailable(DomainError):
    """The printer did not accept the job (context: ``host``, ``port``, ``attempts``, ``reason``)."""

    code = "printer-unavailable"
    title = "Printer unavailable"
