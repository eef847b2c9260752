"""Settings, loaded once from the environment into a frozen struct and passed down.

Nothing in udipick reads the environment anywhere else; tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    #: SQLAlchemy URL (``postgresql+asyncpg://...``) or ``None`` for the embedded PostgreSQL
    database_url: str | None = None
    #: where the embedded PostgreSQL keeps its data (and other local state)
    data_dir: Path = Path(".udipick-data")
    #: GS1 company prefix used for SSCCs udipick assigns to cartons and pallets
    gs1_company_prefix: str = "0614141"
    #: SSCC extension digit (0-9), per GS1 General Specifications 2.2
    sscc_extension_digit: str = "0"
    #: how long a device token stays valid
    token_ttl_hours: int = 12
    #: stand-ins keyboard-wedge scanners send for GS (0x1D)
    scan_separator_stand_ins: tuple[str, ...] = ("|", "#", "Alt029", "<GS>")
    scan_space_is_separator: bool = False
    #: prefixes of udipick's own barcodes
    location_prefix: str = "LOC-"
    lpn_prefix: str = "LPN"
    tote_prefix: str = "TOTE-"
    badge_prefix: str = "USR-"
    #: receiving: accept short-dated lots into quarantine (``quarantine``) or refuse them (``refuse``)
    short_shelf_life_policy: str = "quarantine"
    #: run the outbox relay (webhooks) inside ``udipick serve``
    run_relay: bool = True
    #: PWA build served at ``/`` (absent: the API still runs)
    pwa_dir: Path = Path("pwa/dist")
    log_json: bool = True
    #: connections each server process keeps (plus a few extra under bursts); a handheld's scan holds one
    #: for two statements, so this bounds concurrent scans per process, and new connections are costly
    db_pool_size: int = 24
    #: open all of them at start with the pick scan's statements prepared, and keep them open when idle
    #: (tests and one-off tools leave it off: they open a few on demand)
    db_pool_warm: bool = True
    #: inside ``udipick serve`` (with the relay), plan replenishment of pick faces this often; 0: only after a
    #: wave release and on a supervisor's request
    replenish_every_seconds: float = 60.0
    #: webhooks may point at this host's loopback addresses (127.0.0.0/8, ::1): an ERP on the same machine,
    #: or a test receiver. Link-local (cloud metadata), unspecified and multicast targets stay refused
    webhook_allow_loopback: bool = False
    #: bytes a request body may have on every route but the bulk loads (a 100-line sales order is about
    #: 10 KB); more is a 413 ``body-too-large`` problem naming the limit
    max_body_bytes: int = 1 << 20
    #: bytes an NDJSON bulk load (``/api/v1/erp/<kind>/bulk``) may have: 100,000 items are about 40 MB
    bulk_max_body_bytes: int = 256 << 20
    #: bytes one line of a bulk load may have (an item is about 400); a longer line is refused by its
    #: number (``line-too-long``) without being kept in memory, and the lines after it are still read
    bulk_max_line_bytes: int = 1 << 20


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("udipick", appauthor=False))


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read ``UDIPICK_*`` / ``DATABASE_URL`` once; unknown values raise with the variable's name."""
    env = os.environ if env is None else env
    kw: dict[str, object] = {}
    if url := env.get("DATABASE_URL"):
        kw["database_url"] = normalize_database_url(url)
    kw["data_dir"] = Path(env["UDIPICK_DATA_DIR"]) if env.get("UDIPICK_DATA_DIR") else default_data_dir()
    if v := env.get("UDIPICK_GS1_COMPANY_PREFIX"):
        if not v.isdigit() or not 6 <= len(v) <= 12:
            raise ValueError(f"UDIPICK_GS1_COMPANY_PREFIX must be 6 to 12 digits, got {v!r}")
        kw["gs1_company_prefix"] = v
    if v := env.get("UDIPICK_SHORT_SHELF_LIFE_POLICY"):
        if v not in {"quarantine", "refuse"}:
            raise ValueError(f"UDIPICK_SHORT_SHELF_LIFE_POLICY must be 'quarantine' or 'refuse', got {v!r}")
        kw["short_shelf_life_policy"] = v
    if v := env.get("UDIPICK_SCAN_SEPARATORS"):
        kw["scan_separator_stand_ins"] = tuple(s for s in v.split(",") if s)
    if v := env.get("UDIPICK_SCAN_SPACE_IS_SEPARATOR"):
        kw["scan_space_is_separator"] = _bool(v)
    if v := env.get("UDIPICK_DB_POOL_WARM"):
        kw["db_pool_warm"] = _bool(v)
    if v := env.get("UDIPICK_RUN_RELAY"):
        kw["run_relay"] = _bool(v)
    if v := env.get("UDIPICK_PWA_DIR"):
        kw["pwa_dir"] = Path(v)
    if v := env.get("UDIPICK_LOG_JSON"):
        kw["log_json"] = _bool(v)
    if v := env.get("UDIPICK_DB_POOL_SIZE"):
        if not v.isdigit() or not 1 <= int(v) <= 500:
            raise ValueError(f"UDIPICK_DB_POOL_SIZE must be a number of connections from 1 to 500, got {v!r}")
        kw["db_pool_size"] = int(v)
    if v := env.get("UDIPICK_REPLENISH_EVERY_SECONDS"):
        try:
            kw["replenish_every_seconds"] = float(v)
        except ValueError:
            raise ValueError(f"UDIPICK_REPLENISH_EVERY_SECONDS must be a number of seconds (0: off), got {v!r}") from None
        if not 0 <= kw["replenish_every_seconds"] <= 86400:  # type: ignore[operator]
            raise ValueError(f"UDIPICK_REPLENISH_EVERY_SECONDS must be from 0 to 86400, got {v!r}")
    if v := env.get("UDIPICK_WEBHOOK_ALLOW_LOOPBACK"):
        kw["webhook_allow_loopback"] = _bool(v)
    for name, key in (
        ("UDIPICK_MAX_BODY_BYTES", "max_body_bytes"),
        ("UDIPICK_BULK_MAX_BODY_BYTES", "bulk_max_body_bytes"),
        ("UDIPICK_BULK_MAX_LINE_BYTES", "bulk_max_line_bytes"),
    ):
        if v := env.get(name):
            if not v.isdigit() or not 1024 <= int(v) <= 1 << 40:
                raise ValueError(f"{name} must be a number of bytes from 1024 to 2**40, got {v!r}")
            kw[key] = int(v)
    if v := env.get("UDIPICK_TOKEN_TTL_HOURS"):
        kw["token_ttl_hours"] = int(v)
    return Settings(**kw)  # type: ignore[arg-type]


def normalize_database_url(url: str) -> str:
    """Accept ``postgresql://`` / ``postgres://`` URLs as an ERP admin would paste them."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), got {url.split(':', 1)[0]}://...")
