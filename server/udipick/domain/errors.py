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
    #: a race, not a verdict: the same request may succeed when sent again, so it is not kept as a scan's answer
    retryable: ClassVar[bool] = False

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


class InvalidPeriod(DomainError):
    """A report period that cannot be read: a date not written YYYY-MM-DD, ``from`` after ``to``, a period
    longer than udipick reports at once (context: ``pointer``, the parameter at fault)."""

    code = "invalid-period"
    title = "Invalid report period"


class UnknownWarehouse(DomainError):
    """A warehouse code udipick does not know, given as a report's filter (context: ``warehouse``)."""

    code = "unknown-warehouse"
    title = "Unknown warehouse"


class JsonTooDeep(DomainError):
    """JSON that nests arrays and objects deeper than udipick reads (context: ``maxDepth``, and ``line``
    and ``pointer`` in a bulk load). Refused before decoding: the decoder recurses once per level."""

    code = "json-too-deep"
    title = "JSON nested too deeply"


class LineTooLong(DomainError):
    """An NDJSON line longer than a bulk load accepts (context: ``line``, ``lineBytes``, ``maxLineBytes``);
    the rest of the body is still read."""

    code = "line-too-long"
    title = "Line too long"


class BodyTooLarge(DomainError):
    """A request body over the limit of its route (context: ``maxBytes``)."""

    code = "body-too-large"
    title = "Request body too large"


class BulkLoadInterrupted(DomainError):
    """A bulk load that stopped part-way through on a fault of udipick's or the database's: the lines before
    ``uncertainFromLine`` were stored or refused as listed, lines from there to ``uncertainToLine`` may or may
    not be stored, later lines were not read. Upserts are idempotent, so sending those lines again is safe."""

    code = "bulk-interrupted"
    title = "Bulk load interrupted"


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


class VersionReused(DomainError):
    """The ERP sent a version udipick already holds with different content: a version names one content,
    so the ERP forgot to raise it (the change would otherwise be dropped as a replay without a word)."""

    code = "version-reused"
    title = "Same version, different content"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


# ---- packing and shipping: each refusal names its own fact (409 like every conflict of state) ----------


class OrderNotPackable(Conflict):
    """An order whose status leaves nothing to pack: not released yet, shipped or cancelled (context:
    ``order``, ``orderStatus``)."""

    code = "order-not-packable"
    title = "Order not packable"


class PackageNotOpen(Conflict):
    """A carton that is closed (or shipped) takes no more units and cannot be closed again (context:
    ``sscc``, ``packageStatus``)."""

    code = "package-not-open"
    title = "Package not open"


class PackageNotClosed(Conflict):
    """An SSCC label is printed for a closed carton only (context: ``sscc``, ``packageStatus``)."""

    code = "package-not-closed"
    title = "Package not closed"


class PackageEmpty(Conflict):
    """An empty carton is not closed: nothing would ship in it (context: ``sscc``)."""

    code = "package-empty"
    title = "Package empty"


class NotPickedForPacking(Conflict):
    """Fewer picked units of the scanned item (and lot) wait for this order's cartons than the scan holds
    (context: ``order``, ``item``, ``lot``, ``waiting``, ``scannedUnits``)."""

    code = "not-picked-for-packing"
    title = "Not picked for this order"


class OrderAlreadyShipped(Conflict):
    code = "order-already-shipped"
    title = "Order already shipped"


class OrderCancelled(Conflict):
    """A cancelled order ships nothing (context: ``order``)."""

    code = "order-cancelled"
    title = "Order cancelled"


class UnitsNotPacked(Conflict):
    """Picked units of the order still wait outside a carton (context: ``order``, ``unpacked``)."""

    code = "units-not-packed"
    title = "Picked units not packed"


class PickTasksOpen(Conflict):
    """The order still has pick tasks open (context: ``order``, ``openTasks``)."""

    code = "pick-tasks-open"
    title = "Pick tasks still open"


class PackagesOpen(Conflict):
    """Cartons of the order with units in them are still open (context: ``order``, ``openPackages``)."""

    code = "packages-open"
    title = "Packages still open"


class NothingPacked(Conflict):
    """No closed carton holds anything of the order (context: ``order``)."""

    code = "nothing-packed"
    title = "Nothing packed"


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


class DeviceIdRequired(NotAuthenticated):
    """A handheld's sign-in is bound to its device: the request must name it (``X-Device-Id``, or
    ``?device_id=`` on a WebSocket), so a token copied off the handheld is not enough (context: ``header``)."""

    code = "device-id-required"
    title = "Device id needed"


class WeakPassword(DomainError):
    """A new password breaks the policy (``domain/passwords.py``); context: ``reasons`` (every rule
    broken), ``minLength``, and the strength estimator's ``warning`` and ``suggestions``."""

    code = "weak-password"
    title = "Password too weak"


class UnknownUser(NotFound):
    """context: ``username``."""

    code = "unknown-user"
    title = "Unknown user"


class LastAdministrator(Conflict):
    """Deactivating this user would leave nobody who can sign in as an administrator. context: ``username``."""

    code = "last-admin"
    title = "The last administrator stays active"


class UnknownApiKey(NotFound):
    """context: ``name``."""

    code = "unknown-api-key"
    title = "Unknown API key"


class TooManyAttempts(DomainError):
    """Too many failed password checks for this user name, or from this client address, to check another
    one now (context: ``retryAfter``, seconds). Said before any password is checked, whether or not the
    password sent is right, so a locked account cannot be used to find its password."""

    code = "too-many-attempts"
    title = "Too many attempts"


class SignInBusy(TooManyAttempts):
    """Every password check this server may run at once is running or waiting: the sign-in is refused
    before it costs any work (context: ``retryAfter``, seconds)."""

    code = "sign-in-busy"
    title = "Sign-in busy"


# ---- stock rules -----------------------------------------------------------------------


class InsufficientStock(DomainError):
    code = "insufficient-stock"
    title = "Not enough stock"


# ---- labels and printers ---------------------------------------------------------------


class StockReserved(DomainError):
    """Units a move asks for are promised to open pick tasks (context: ``item``, ``lot``, ``location``,
    ``reserved``, ``available``, ``requested``): they stay for the picker."""

    code = "stock-reserved"
    title = "Stock promised to a pick"


class InvalidSscc(DomainError):
    """An SSCC that is not 18 digits or whose GS1 mod-10 check digit is wrong (context: ``sscc``, ``expected``)."""

    code = "invalid-sscc"
    title = "Invalid SSCC"


class InvalidGln(DomainError):
    """A GLN that is not 13 digits, whose GS1 mod-10 check digit is wrong, or that does not begin with the
    company prefix it is said to belong to (context: ``field``, ``gln``, ``reason``, ``expected``)."""

    code = "invalid-gln"
    title = "Invalid GLN"


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


class NoPrinterForLabel(DomainError):
    """No active printer for this device or zone takes this label; the job is kept as ``no_printer``
    (context: ``job_id``, ``kind``, ``zone``, ``device_id``) so it can be sent once a printer is assigned."""

    code = "no-printer-for-label"
    title = "No printer for this label"


class UnknownPrinter(NotFound):
    """No printer registered under this name (context: ``printer``)."""

    code = "unknown-printer"
    title = "Unknown printer"


class PrinterAlreadyRegistered(Conflict):
    """A printer of this name exists already (context: ``printer``)."""

    code = "printer-already-registered"
    title = "Printer already registered"


class UnknownPrintJob(NotFound):
    """No print job with this id (context: ``job_id``)."""

    code = "unknown-print-job"
    title = "Unknown print job"


class PrintJobAlreadySent(Conflict):
    """Retry is for jobs that did not print; a printed label is printed again with reprint (context: ``job_id``)."""

    code = "print-job-already-sent"
    title = "Print job already sent"


# ---- receiving -------------------------------------------------------------------------


class ItemNotOnDocument(DomainError):
    """The scanned item is not on the purchase order / ASN being received (context: ``item``, ``gtin``, ``document``)."""

    code = "item-not-on-document"
    title = "Item not on this document"


class OverReceipt(DomainError):
    """More units than ordered plus the supplier's tolerance (context: ``ordered``, ``received``, ``maxAcceptable``)."""

    code = "over-receipt"
    title = "Over-receipt refused"


class LotExpired(DomainError):
    """The lot's expiry date (GS1 AI 17) has passed (context: ``item``, ``lot``, ``expiry``)."""

    code = "lot-expired"
    title = "Lot expired"


class ShelfLifeTooShort(DomainError):
    """Remaining shelf life below the required minimum (context: ``remainingDays``, ``requiredDays``)."""

    code = "shelf-life-too-short"
    title = "Shelf life too short"


class MissingReceivingData(DomainError):
    """A datum the item requires was not captured; ``needs`` lists every field the handheld must ask for."""

    code = "missing-receiving-data"
    title = "More data needed"


class MissingLot(MissingReceivingData):
    code = "missing-lot"
    title = "Lot number needed"


class MissingExpiry(MissingReceivingData):
    code = "missing-expiry"
    title = "Expiry date needed"


class MissingSerial(MissingReceivingData):
    code = "missing-serial"
    title = "Serial number needed"


class MissingTemperature(MissingReceivingData):
    code = "missing-temperature"
    title = "Temperature reading needed"


class MissingReason(MissingReceivingData):
    code = "missing-reason"
    title = "Reason needed"


class SerialAlreadyReceived(DomainError):
    """The serial is already known to udipick, or was scanned twice in this receipt (context: ``serial``, ``inThisReceipt``)."""

    code = "serial-already-received"
    title = "Serial already received"


class SerialCountMismatch(DomainError):
    """A serialised item scanned as more than one unit: each unit carries its own serial."""

    code = "serial-count-mismatch"
    title = "Scan serialised units one by one"


class LotExpiryConflict(DomainError):
    """A lot number already known with a different expiry: a data conflict, never overwritten (context: ``knownExpiry``, ``scannedExpiry``)."""

    code = "lot-expiry-conflict"
    title = "Lot known with another expiry"


class ReceiptNotOpen(DomainError):
    """The receipt is closed (context: ``receipt``, ``status``)."""

    code = "receipt-not-open"
    title = "Receipt is not open"


class PurchaseOrderNotFound(NotFound):
    """No purchase order or ASN with this ERP id; context: ``document``."""

    code = "purchase-order-not-found"
    title = "Unknown purchase order"


class ReceiptInProgress(Conflict):
    """The ERP cancelled a purchase order while a receipt against it is open at the dock: the receiver
    may be counting its goods right now. Context: ``document``, ``receipts`` (the open receipts' numbers)."""

    code = "receipt-in-progress"
    title = "A receipt is in progress"


class LocationUnsuitable(DomainError):
    """The destination does not fit the stock (context: ``location``, ``reason``, ``needs``)."""

    code = "location-unsuitable"
    title = "Location unsuitable"


class NotInQuarantine(DomainError):
    """A QC decision on a lot with no quarantined stock (context: ``item``, ``lot``)."""

    code = "not-in-quarantine"
    title = "Nothing in quarantine"


# ---- picking ---------------------------------------------------------------------------------


class WrongLocation(DomainError):
    """The picker is at another location than the task's (context: ``expectedLocation``, ``scannedLocation``)."""

    code = "wrong-location"
    title = "Wrong location"


class WrongItem(DomainError):
    """The scanned item is not the one the task asks for (context: ``expectedItem``, ``expectedGtin``, ``scannedGtin``;
    ``expectedCode`` the code on the expected item's labels, of the agency ``expectedAgency`` it was registered
    with: its GTIN, or its MA or AHM DI, also as ``expectedDi``)."""

    code = "wrong-item"
    title = "Wrong item"


class FefoViolation(DomainError):
    """A lot expiring later than one that must go first (context: ``takeLot``, ``takeLocation``, ``takeExpiry``,
    ``scannedLot``, ``scannedExpiry``). A supervisor may override with an e-signature."""

    code = "fefo-violation"
    title = "Take the earlier-expiring lot"


class LotQuarantined(DomainError):
    code = "lot-quarantined"
    title = "Lot in quarantine"


class StockOnHold(DomainError):
    """Held by item, lot, serial or location (context: ``scope``, ``reason``, ``holdId``)."""

    code = "stock-on-hold"
    title = "Stock on hold"


class LotRecalled(DomainError):
    code = "lot-recalled"
    title = "Lot recalled"


class SerialRecalled(DomainError):
    """A recall of single serials covers this unit (context: ``serial``, ``lot``, ``recall``); the rest of
    its lot is not recalled."""

    code = "serial-recalled"
    title = "Serial recalled"


class LocationFrozen(DomainError):
    code = "location-frozen"
    title = "Location frozen"


class SerialAlreadyPicked(DomainError):
    code = "serial-already-picked"
    title = "Serial already picked"


class SerialAlreadyShipped(DomainError):
    code = "serial-already-shipped"
    title = "Serial already shipped"


class WrongLot(DomainError):
    """A task that names its lot (a replenishment moves exactly the lot it reserved) was scanned with
    another lot (context: ``takeLot``, ``takeLocation``, ``scannedLot``)."""

    code = "wrong-lot"
    title = "Wrong lot"


class OverPick(DomainError):
    """More units than the task still needs (context: ``remaining``, ``scannedUnits``)."""

    code = "over-pick"
    title = "Over-pick refused"


class QuantityNotWholePacks(DomainError):
    """A quantity confirmed on a pack's scan that is not whole packs (context: ``packUnits``, ``quantity``)."""

    code = "quantity-not-whole-packs"
    title = "Quantity is not whole packs"


class SerialsOneByOne(DomainError):
    """A quantity confirmed on one serialised unit's scan: each serial is scanned (context: ``quantity``)."""

    code = "serials-one-by-one"
    title = "Scan each serialised unit"


class UndoNotLast(DomainError):
    """Undo of a pick scan that is not the caller's last (not undone) pick on the task (context: ``taskId``)."""

    code = "undo-not-last"
    title = "Not your last pick"


class UndoTooLate(DomainError):
    """Undo asked after the site's window (context: ``undoSeconds``)."""

    code = "undo-too-late"
    title = "Too late to undo"


class UndoAfterPacking(DomainError):
    """Undo of units already packed or handed to a put-back."""

    code = "undo-after-packing"
    title = "Already packed"


class FoundOverRemaining(DomainError):
    """A short pick reporting more units found than the task still needs (context: ``found``, ``remaining``)."""

    code = "found-over-remaining"
    title = "More found than needed"


class LotNotAtLocation(DomainError):
    code = "lot-not-at-location"
    title = "Lot not at this location"


class ToteRequired(DomainError):
    """The site requires a tote before an order's first pick (site setting ``pickRequiresTote``), and none
    was scanned for this task's order (context: ``order``, ``taskId``): without one the units of several
    orders end up mixed on the cart."""

    code = "tote-required"
    title = "Tote required"


class TaskNotOpen(DomainError):
    code = "task-not-open"
    title = "Task already closed"


class TaskCancelled(TaskNotOpen):
    """A scan on a task whose wave, order or line a supervisor (or the ERP) cancelled, or that a hold
    re-allocated; context: ``taskId``, ``order``. Nothing more is picked for it: what was picked goes back on a put-back task."""

    code = "task-cancelled"
    title = "Task cancelled"


# ---- wave and order control ------------------------------------------------------------------------


class WaveNotFound(NotFound):
    """context: ``waveId``."""

    code = "wave-not-found"
    title = "Unknown wave"


class OrderNotFound(NotFound):
    """No sales order with this ERP id; context: ``order``."""

    code = "order-not-found"
    title = "Unknown order"


class OrderLineNotFound(NotFound):
    """context: ``order``, ``lineNo``."""

    code = "order-line-not-found"
    title = "Unknown order line"


class PutBackNotFound(NotFound):
    """context: ``putBackId``."""

    code = "put-back-not-found"
    title = "Unknown put-back task"


class AlreadyCancelled(Conflict):
    """The wave, order or line is cancelled already; context: ``target``."""

    code = "already-cancelled"
    title = "Already cancelled"


class NotCancellable(Conflict):
    """Too late to cancel: shipped, or units already packed into cartons; context: ``target``, ``state``
    (``shipped`` or ``packed``) and, for packed units, ``packed``."""

    code = "not-cancellable"
    title = "Cannot be cancelled"


# ---- ERP outbound (webhooks, stream) ---------------------------------------------------------------


class UnknownWebhookSubscription(NotFound):
    """context: ``subscription_id``."""

    code = "unknown-webhook-subscription"
    title = "Unknown webhook subscription"


class UnknownWebhookDelivery(NotFound):
    """context: ``delivery_id``."""

    code = "unknown-webhook-delivery"
    title = "Unknown webhook delivery"


class WebhookNameTaken(Conflict):
    """context: ``name``."""

    code = "webhook-name-taken"
    title = "Webhook name already in use"


class InvalidCursor(DomainError):
    """A stream position (``after``) that is not one udipick gave out: not ASCII digits, beyond what
    PostgreSQL's bigint holds, or beyond the newest position. Accepting one beyond the head would make
    the subscriber skip every event up to it without noticing. context: ``after`` (as sent, cut to 40
    characters), ``head`` (when known)."""

    code = "invalid-cursor"
    title = "Invalid stream position"


class WebhookTargetRefused(DomainError):
    """A webhook URL whose host is (or resolves to) a loopback, link-local (cloud metadata at
    169.254.169.254), unspecified or multicast address: udipick would be sending its event stream, or
    requests an admin chose, to itself or to its host. context: ``host``, ``address``, ``reason``."""

    code = "webhook-target-refused"
    title = "Webhook target refused"


class StockChanged(Conflict):
    """Another transaction changed the stock being planned on; sending the same request again is safe."""

    code = "stock-changed"
    title = "Stock changed meanwhile"
    retryable = True


class OrderNotReleased(DomainError):
    code = "order-not-released"
    title = "Order not in picking"


# ---- counting ----------------------------------------------------------------------------------------


class InvalidCount(DomainError):
    """A count line that cannot be meant (negative, a serial on an unserialised item, a serial twice);
    context: ``pointer`` to the line, the offending ``quantity`` / ``serial``."""

    code = "invalid-count"
    title = "Count line not possible"


class UnknownLot(NotFound):
    """A lot udipick never received for this item (context: ``item``, ``lot``): check the label, or receive it."""

    code = "unknown-lot"
    title = "Unknown lot"


class UnknownSerial(NotFound):
    """A serial udipick never received for this item (context: ``serial``)."""

    code = "unknown-serial"
    title = "Unknown serial"


class SerialBookedElsewhere(Conflict):
    """A serial found here is on the books at another location, or picked/shipped (context: ``serial``,
    ``bookedAt`` or ``serialStatus``)."""

    code = "serial-booked-elsewhere"
    title = "Serial on the books elsewhere"


class CountBelowReserved(Conflict):
    """The count leaves less than open pick tasks hold (context: ``lot``, ``serial``, ``counted``,
    ``reserved``, ``tasks``): short or release those tasks first, then count again."""

    code = "count-below-reserved"
    title = "Open picks hold more than was counted"


# ---- returns and scrap (issue 19) ------------------------------------------------------------------------


class ReturnNotShippedToCustomer(Conflict):
    """The unit (serial) or quantity of a lot coming back was never shipped to this customer, was shipped to
    another one, or more comes back than was shipped (context: ``customer``, ``item``, ``lot``, ``serial``,
    ``shipped``, ``returned``): set it aside and ask the customer service which shipment it came from."""

    code = "return-not-shipped-to-customer"
    title = "Not shipped to this customer"


class ReturnOverAuthorized(Conflict):
    """More comes back than the RMA line allows, or something the RMA does not name (context: ``rma``,
    ``item``, ``authorized``, ``received``): set the extra aside and ask for a new RMA."""

    code = "return-over-authorized"
    title = "More than the RMA allows"


class ReturnAlreadyDisposed(Conflict):
    """QA already decided this returned unit (context: ``returnLineId``, ``returnStatus``): the first signed decision stands."""

    code = "return-already-disposed"
    title = "Return already decided"


class ScrapNotAllowed(Conflict):
    """Saleable (available) stock is scrapped only as damaged, or as expired once its expiry has passed
    (context: ``location``, ``item``, ``lot``, ``reason``, ``statuses``): report damage as damaged, or
    move the stock to quarantine first."""

    code = "scrap-not-allowed"
    title = "This stock may not be scrapped so"


class RecountBySameUser(Conflict):
    """The recount of a count with a difference must be made by another user (context: ``firstCountBy``)."""

    code = "recount-same-user"
    title = "Recount by someone else"


class LocationUnderCount(LocationFrozen):
    """The location is being counted (context: ``location``, ``countTask``): nothing is picked from or put
    into it until the count ends."""

    code = "location-under-count"
    title = "Location under count"


class CountLineNotOpen(Conflict):
    """The count task line is not waiting for what was sent (context: ``lineId``, ``status``)."""

    code = "count-line-not-open"
    title = "Count line not waiting for this"


# ---- exception queue (issue 17) ------------------------------------------------------------------------


class ExceptionAlreadyResolved(Conflict):
    """The exception was resolved already (context: ``exceptionId``, ``resolvedBy``, ``resolvedAt``): its first
    resolution, note and signer stand; a second one would rewrite an audit record."""

    code = "exception-already-resolved"
    title = "Exception already resolved"


# ---- infrastructure ------------------------------------------------------------------------------------


class DatabaseUnavailable(DomainError):
    """PostgreSQL cannot be reached right now (restarting, failing over, the network between): nothing
    was changed, and the same request may be sent again shortly. context: ``retryAfter`` (seconds)."""

    code = "database-unavailable"
    title = "Database unavailable"
    retryable = True


# ---- go-live opening balances (issue 19) ---------------------------------------------------------------


class OpeningLoadRefused(DomainError):
    """A load of opening balances with problems on some lines: nothing was booked (context: ``problems``,
    each with its ``line``; the load is all or nothing, so the old system's figures are never half in)."""

    code = "opening-load-refused"
    title = "Opening balances refused"


class LocationHoldsStock(Conflict):
    """Opening balances into locations that already hold stock (context: ``locations``): send the load with
    ``replace=true`` to book that stock out first, or leave those lines out."""

    code = "location-holds-stock"
    title = "Location already holds stock"


class LoadIdReused(Conflict):
    """A load id already used for a load with another body (context: ``loadId``): a repeat of a load must be
    the same bytes; a different load needs its own id."""

    code = "load-id-reused"
    title = "Load id used for another load"


# ---- China GSP: first-business approvals and certificates (issue 22, domain/regulatory.py) -------------


class RegulatoryBlock(DomainError):
    """A China GSP block (医疗器械经营质量管理规范): QA may let one receipt or order through it with a signed
    exception (``POST /api/v1/regulatory/...``). Context names the certificate and its dates."""

    code = "regulatory-block"
    title = "Blocked by GSP"


class SupplierNotApproved(RegulatoryBlock):
    """The supplier has no first-business approval (首营企业审核) (context: ``supplier``, ``supplierName``)."""

    code = "supplier-not-approved"
    title = "Supplier not approved"


class SupplierLicenceMissing(RegulatoryBlock):
    """The supplier's medical-device business licence or filing is not on record (context: ``supplier``,
    ``supplierName``)."""

    code = "supplier-licence-missing"
    title = "Supplier licence missing"


class SupplierLicenceExpired(RegulatoryBlock):
    """The supplier's business licence had expired on the arrival date (context: ``supplier``, ``supplierName``,
    ``licenceNo``, ``validUntil``, ``on``)."""

    code = "supplier-licence-expired"
    title = "Supplier licence expired"


class ItemNotApproved(RegulatoryBlock):
    """The item has no first-business approval (首营品种审核) (context: ``item``, ``name``)."""

    code = "item-not-approved"
    title = "Product not approved"


class RegistrationMissing(RegulatoryBlock):
    """The item's registration certificate or filing number, or the certificate's last valid day, is not on
    record (context: ``item``, ``name``, ``deviceClass``, ``missing``: ``registrationNo`` or ``validUntil``)."""

    code = "registration-missing"
    title = "Registration certificate missing"


class RegistrationExpired(RegulatoryBlock):
    """The item's registration certificate had expired on the arrival date (context: ``item``, ``name``,
    ``registrationNo``, ``validUntil``, ``on``)."""

    code = "registration-expired"
    title = "Registration certificate expired"


class CustomerLicenceMissing(RegulatoryBlock):
    """A sales order's customer has no business licence or filing on record: the order is held before
    allocation (context: ``order``, ``customer``, ``customerName``)."""

    code = "customer-licence-missing"
    title = "Customer licence missing"


class CustomerLicenceExpired(RegulatoryBlock):
    """A sales order's customer's business licence has expired: the order is held before allocation (context:
    ``order``, ``customer``, ``customerName``, ``licenceNo``, ``validUntil``, ``on``)."""

    code = "customer-licence-expired"
    title = "Customer licence expired"


class NothingToExcept(Conflict):
    """A QA exception asked for a block that does not stand (context: ``asked``, the code asked for, and ``blocks``: the
    codes that do): an exception is signed for a block someone met, not in advance."""

    code = "nothing-to-except"
    title = "No such block"
