"""The audit chain's hash, recomputed without PostgreSQL (docs/audit.md).

Each link of ``audit_chain`` holds ``sha256(prev_hash || utf8(f"{seq}\\n{canonical}"))``, where
``canonical`` is the record as PostgreSQL's jsonb prints a JSON array (``udipick_audit_record``,
``udipick_ledger_record``). This module spells the same encoding in Python so an auditor, and the
tests, can check an NDJSON export independently of the database that wrote it (21 CFR Part 11
§11.10(e): records must be verifiable, not merely stored).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

#: The hash before the first link.
GENESIS = bytes(32)

#: What an electronic signature means (21 CFR Part 11 §11.50(a)(3)): shown with the signer's full
#: name and the time in every signed record.
SIGNATURE_MEANINGS = ("approval", "review", "release", "rejection", "responsibility")

#: Record fields in canonical order, per source (the first element of the array is the source).
AUDIT_FIELDS = (
    "id",
    "occurredAt",
    "userId",
    "username",
    "apiKeyId",
    "deviceId",
    "action",
    "target",
    "outcome",
    "reason",
    "detail",
    "before",
    "after",
    "signerName",
    "signatureMeaning",
)
LEDGER_FIELDS = (
    "id",
    "occurredAt",
    "movement",
    "itemId",
    "lotId",
    "serialId",
    "quantity",
    "fromLocationId",
    "fromContainerId",
    "fromStatus",
    "toLocationId",
    "toContainerId",
    "toStatus",
    "userId",
    "apiKeyId",
    "deviceId",
    "reason",
    "documentType",
    "documentId",
    "eventId",
)
FIELDS = {"audit": AUDIT_FIELDS, "ledger": LEDGER_FIELDS}

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def jsonb_text(value: Any) -> str:
    """``value`` as PostgreSQL prints a jsonb: ``", "`` and ``": "`` separators, object keys ordered by
    UTF-8 length then bytes (jsonb's own order), non-ASCII as is, numbers as written (``Decimal``)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        raise TypeError("read JSON numbers as Decimal (json.loads(..., parse_float=Decimal)) to keep their text")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{_string(k)}: {jsonb_text(value[k])}" for k in keys) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def canonical(source: str, record: dict[str, Any]) -> str:
    """The record's canonical text: ``[source, field, ...]`` in the fixed field order of its source."""
    return jsonb_text([source, *(record[f] for f in FIELDS[source])])


def link_hash(prev: bytes, seq: int, text: str) -> bytes:
    return hashlib.sha256(prev + f"{seq}\n{text}".encode()).digest()


def first_break(links: Iterable[tuple[int, bytes, bytes, str]]) -> int | None:
    """The seq of the first link that does not follow from the one before, or None.

    ``links`` are ``(seq, prev_hash, hash, canonical text)`` in seq order, from seq 1."""
    expected_prev, expected_seq = GENESIS, 1
    for seq, prev, digest, text in links:
        if seq != expected_seq or prev != expected_prev or link_hash(prev, seq, text) != digest:
            return seq
        expected_prev, expected_seq = digest, seq + 1
    return None
