"""Domain errors as RFC 9457 problem bodies: one table of statuses, one rendering.

Pure data and functions, so services can store a refusal (a scan's first answer) exactly as the API
sends it, and a replay gets it back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from udipick.domain import errors as e

PROBLEM_BASE = "https://udipick.dev/problems/"

#: HTTP status per domain error. A unit test checks every DomainError subclass has its own row.
STATUS: dict[type[e.DomainError], int] = {
    e.DomainError: 422,
    e.UnreadableBarcode: 422,
    e.InvalidGtin: 422,
    e.InvalidRecord: 422,
    e.InvalidPeriod: 400,
    e.UnknownWarehouse: 400,
    e.JsonTooDeep: 400,
    e.LineTooLong: 413,
    e.BodyTooLarge: 413,
    e.BulkLoadInterrupted: 500,
    e.NotFound: 404,
    e.UnknownGtin: 404,
    e.StaleVersion: 409,
    e.VersionReused: 409,
    e.Conflict: 409,
    e.OrderNotPackable: 409,
    e.PackageNotOpen: 409,
    e.PackageNotClosed: 409,
    e.PackageEmpty: 409,
    e.NotPickedForPacking: 409,
    e.OrderAlreadyShipped: 409,
    e.OrderCancelled: 409,
    e.UnitsNotPacked: 409,
    e.PickTasksOpen: 409,
    e.PackagesOpen: 409,
    e.NothingPacked: 409,
    e.NotAuthenticated: 401,
    e.PermissionDenied: 403,
    e.SignatureRejected: 403,
    e.DeviceIdRequired: 401,
    e.WeakPassword: 422,
    e.UnknownUser: 404,
    e.LastAdministrator: 409,
    e.UnknownApiKey: 404,
    e.TooManyAttempts: 429,
    e.SignInBusy: 429,
    e.InsufficientStock: 409,
    e.StockReserved: 409,
    e.InvalidSscc: 422,
    e.InvalidGln: 400,
    e.InvalidLabelData: 422,
    e.UnknownLabelTemplate: 404,
    e.PrinterUnavailable: 503,
    e.NoPrinterForLabel: 409,
    e.UnknownPrinter: 404,
    e.PrinterAlreadyRegistered: 409,
    e.UnknownPrintJob: 404,
    e.PrintJobAlreadySent: 409,
    e.ItemNotOnDocument: 422,
    e.OverReceipt: 409,
    e.LotExpired: 422,
    e.ShelfLifeTooShort: 422,
    e.MissingReceivingData: 422,
    e.MissingLot: 422,
    e.MissingExpiry: 422,
    e.MissingSerial: 422,
    e.MissingTemperature: 422,
    e.MissingReason: 422,
    e.SerialAlreadyReceived: 409,
    e.SerialCountMismatch: 422,
    e.LotExpiryConflict: 409,
    e.OpeningLoadRefused: 422,
    e.LocationHoldsStock: 409,
    e.LoadIdReused: 409,
    e.ReceiptNotOpen: 409,
    e.PurchaseOrderNotFound: 404,
    e.ReceiptInProgress: 409,
    e.LocationUnsuitable: 422,
    e.NotInQuarantine: 409,
    e.WrongLocation: 409,
    e.WrongItem: 409,
    e.FefoViolation: 409,
    e.LotQuarantined: 409,
    e.StockOnHold: 409,
    e.LotRecalled: 409,
    e.SerialRecalled: 409,
    e.LocationFrozen: 409,
    e.SerialAlreadyPicked: 409,
    e.SerialAlreadyShipped: 409,
    e.WrongLot: 409,
    e.OverPick: 409,
    e.QuantityNotWholePacks: 422,
    e.SerialsOneByOne: 422,
    e.UndoNotLast: 409,
    e.UndoTooLate: 409,
    e.UndoAfterPacking: 409,
    e.FoundOverRemaining: 422,
    e.LotNotAtLocation: 409,
    e.ToteRequired: 409,
    e.TaskNotOpen: 409,
    e.TaskCancelled: 409,
    e.WaveNotFound: 404,
    e.OrderNotFound: 404,
    e.OrderLineNotFound: 404,
    e.PutBackNotFound: 404,
    e.AlreadyCancelled: 409,
    e.NotCancellable: 409,
    e.StockChanged: 409,
    e.OrderNotReleased: 409,
    e.UnknownWebhookSubscription: 404,
    e.UnknownWebhookDelivery: 404,
    e.WebhookNameTaken: 409,
    e.InvalidCursor: 422,
    e.WebhookTargetRefused: 422,
    e.InvalidCount: 422,
    e.UnknownLot: 422,
    e.UnknownSerial: 422,
    e.SerialBookedElsewhere: 409,
    e.CountBelowReserved: 409,
    e.RecountBySameUser: 409,
    e.LocationUnderCount: 409,
    e.CountLineNotOpen: 409,
    e.ExceptionAlreadyResolved: 409,
    e.ReturnNotShippedToCustomer: 409,
    e.ReturnOverAuthorized: 409,
    e.ReturnAlreadyDisposed: 409,
    e.ScrapNotAllowed: 409,
    e.DatabaseUnavailable: 503,
    e.RegulatoryBlock: 422,
    e.SupplierNotApproved: 422,
    e.SupplierLicenceMissing: 422,
    e.SupplierLicenceExpired: 422,
    e.ItemNotApproved: 422,
    e.RegistrationMissing: 422,
    e.RegistrationExpired: 422,
    e.CustomerLicenceMissing: 409,
    e.CustomerLicenceExpired: 409,
    e.NothingToExcept: 409,
}


def status_for(error: e.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
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


class Problem:
    """The type of a problem body carried inside an answer (``problem_body``'s dict: a bulk load's refused
    line, a step that failed after the main change committed). Only a name for the OpenAPI document,
    which states it as ``components/schemas/Problem`` (``api/openapi.py``); msgspec encodes the dict."""


@dataclass(frozen=True, slots=True)
class OrProblem:
    """``Annotated[Any, OrProblem(T)]``: a member that is a ``T``, or the ``Problem`` that stopped it.

    msgspec cannot type a union of two JSON objects, so it sees ``Any`` (and encodes what it is given);
    the OpenAPI document states ``oneOf`` the two."""

    type: type
