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
    #: inside ``udipick serve`` (with the relay), compare available stock with purchasing's minimums (the ERP's
    #: stock levels) this often and send ``replenishment.suggested.v1``; 0: off
    reorder_every_seconds: float = 60.0
    #: inside ``udipick serve`` (with the relay), fold the stock changes of the last seconds into the stock
    #: view's summaries this often (the view is exact either way; the fold keeps what it reads short); 0: off
    stock_summary_every_seconds: float = 5.0
    #: inside ``udipick serve`` (with the relay), store the KPIs' closed days of the last this many days, at start
    #: and every ``kpi_days_every_seconds``, so no report computes them (0: off; reports still store what they need)
    kpi_days_back: int = 31
    kpi_days_every_seconds: float = 900.0
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
    #: a user whose password fails this many times in a row (sign-in or e-signature) is locked ...
    login_max_failures: int = 10
    #: ... for this long (an administrator may unlock sooner: ``udipick users unlock NAME``)
    login_lockout_seconds: int = 900
    #: a client address with this many failed password checks (any user names) ...
    login_address_max_failures: int = 30
    #: ... within this many seconds gets no further check until the oldest leaves the window
    login_address_window_seconds: int = 300
    #: threads that check passwords (argon2, about 0.2 s of CPU each) in each server process ...
    login_verify_threads: int = 1
    #: ... and checks that may wait for one; beyond that a sign-in is refused at once (429 sign-in-busy)
    login_verify_queue: int = 16
    #: a refusal before any check (429 too-many-attempts or sign-in-busy) is sent this many seconds late:
    #: a client that sends again as soon as it has its answer would keep the event loop busy with refusals
    login_refusal_delay_seconds: float = 1.0
    #: cycle counts: a first count off the books by at most this many units AND this percent of them is
    #: booked at once (reason ``within-tolerance``); more needs a recount by another user and a supervisor's
    #: approval (docs/counting.md). 0 and 0: every difference is recounted
    count_tolerance_units: int = 0
    count_tolerance_percent: float = 0.0
    #: the ABC schedule: days between counts of an item of class A, B and C ...
    count_days_a: int = 30
    count_days_b: int = 90
    count_days_c: int = 180
    #: ... classes from picks over this many days (unless the ERP sets ``abcClass``) ...
    count_abc_period_days: int = 90
    #: ... and inside ``udipick serve`` (with the relay) the schedule runs this often (0: only on request)
    count_schedule_every_seconds: float = 3600.0
    #: ... creating at most this many tasks a round (A items first)
    count_schedule_max_tasks: int = 20
    #: a picker may undo their last pick scan on a task this many seconds after it (0: never); booked as a
    #: reversing movement, refused once the units are packed
    pick_undo_seconds: int = 30
    #: take the client address from the last ``X-Forwarded-For`` entry (only behind a proxy that sets it:
    #: otherwise any client could pick the address it is counted under)
    trust_x_forwarded_for: bool = False


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("udipick", appauthor=False))


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: the sign-in throttle's settings: name, smallest and largest value
_LOGIN_LIMITS = (
    ("login_max_failures", 1, 1000),
    ("login_lockout_seconds", 1, 86400 * 30),
    ("login_address_max_failures", 1, 100000),
    ("login_address_window_seconds", 1, 86400),
    ("login_verify_threads", 1, 64),
    ("login_verify_queue", 0, 10000),
)


def _number(
    env: Mapping[str, str],
    kw: dict[str, object],
    name: str,
    kind: type[int] | type[float],
    low: float,
    high: float,
    what: str,
) -> None:
    """``kw[<name without UDIPICK_, lower case>]`` from ``env[name]`` when set: ``kind`` from ``low`` to ``high``."""
    if not (v := env.get(name)):
        return
    try:
        value = kind(v) if kind is float or v.isdigit() else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{name} must be {what} from {low:g} to {high:g}, got {v!r}")
    kw[name.removeprefix("UDIPICK_").lower()] = value


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
    _number(env, kw, "UDIPICK_DB_POOL_SIZE", int, 1, 500, "a number of connections")
    _number(env, kw, "UDIPICK_REPLENISH_EVERY_SECONDS", float, 0, 86400, "a number of seconds (0: off)")
    _number(env, kw, "UDIPICK_REORDER_EVERY_SECONDS", float, 0, 86400, "a number of seconds (0: off)")
    _number(env, kw, "UDIPICK_KPI_DAYS_BACK", int, 0, 3660, "a number of days (0: off)")
    _number(env, kw, "UDIPICK_KPI_DAYS_EVERY_SECONDS", float, 1, 86400, "a number of seconds")
    if v := env.get("UDIPICK_WEBHOOK_ALLOW_LOOPBACK"):
        kw["webhook_allow_loopback"] = _bool(v)
    for name in ("UDIPICK_MAX_BODY_BYTES", "UDIPICK_BULK_MAX_BODY_BYTES", "UDIPICK_BULK_MAX_LINE_BYTES"):
        _number(env, kw, name, int, 1024, 1 << 40, "a number of bytes")
    _number(env, kw, "UDIPICK_TOKEN_TTL_HOURS", int, 1, 24 * 366, "a number of hours")
    for key, low, high in _LOGIN_LIMITS:
        _number(env, kw, f"UDIPICK_{key.upper()}", int, low, high, "a whole number")
    _number(env, kw, "UDIPICK_LOGIN_REFUSAL_DELAY_SECONDS", float, 0, 60, "a number of seconds")
    _number(env, kw, "UDIPICK_COUNT_TOLERANCE_UNITS", int, 0, 1_000_000, "a number of units")
    _number(env, kw, "UDIPICK_COUNT_TOLERANCE_PERCENT", float, 0, 100, "a percentage")
    for name in (
        "UDIPICK_COUNT_DAYS_A",
        "UDIPICK_COUNT_DAYS_B",
        "UDIPICK_COUNT_DAYS_C",
        "UDIPICK_COUNT_ABC_PERIOD_DAYS",
    ):
        _number(env, kw, name, int, 1, 3660, "a number of days")
    _number(env, kw, "UDIPICK_COUNT_SCHEDULE_MAX_TASKS", int, 1, 100_000, "a number of tasks")
    _number(env, kw, "UDIPICK_COUNT_SCHEDULE_EVERY_SECONDS", float, 0, 86400 * 7, "a number of seconds (0: off)")
    _number(env, kw, "UDIPICK_PICK_UNDO_SECONDS", int, 0, 3600, "a number of seconds (0: no undo)")
    if v := env.get("UDIPICK_TRUST_X_FORWARDED_FOR"):
        kw["trust_x_forwarded_for"] = _bool(v)
    return Settings(**kw)  # type: ignore[arg-type]  # each value above was parsed to its field's type


def normalize_database_url(url: str) -> str:
    """Accept ``postgresql://`` / ``postgres://`` URLs as an ERP admin would paste them."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), got {url.split(':', 1)[0]}://...")
