"""Settings read once from the environment: the scan pool's size and whether serve warms it."""

from __future__ import annotations

import pytest

from udipick.config import load_settings


def test_serve_warms_its_scan_pool_unless_told_not_to():
    assert load_settings({}).db_pool_warm is True
    assert load_settings({"UDIPICK_DB_POOL_WARM": "0"}).db_pool_warm is False
    assert load_settings({"UDIPICK_DB_POOL_WARM": "yes"}).db_pool_warm is True


@pytest.mark.parametrize("value", ["0", "many", "501"])
def test_a_pool_size_out_of_range_is_refused_with_the_variables_name(value):
    with pytest.raises(ValueError, match="UDIPICK_DB_POOL_SIZE"):
        load_settings({"UDIPICK_DB_POOL_SIZE": value})


def test_webhooks_may_point_at_loopback_only_when_told():
    assert load_settings({}).webhook_allow_loopback is False
    assert load_settings({"UDIPICK_WEBHOOK_ALLOW_LOOPBACK": "1"}).webhook_allow_loopback is True
    assert load_settings({"UDIPICK_WEBHOOK_ALLOW_LOOPBACK": "0"}).webhook_allow_loopback is False


def test_body_and_line_limits_have_defaults_and_come_from_the_environment():
    s = load_settings({})
    assert (s.max_body_bytes, s.bulk_max_body_bytes, s.bulk_max_line_bytes) == (1 << 20, 256 << 20, 1 << 20)
    s = load_settings(
        {
            "UDIPICK_MAX_BODY_BYTES": "65536",
            "UDIPICK_BULK_MAX_BODY_BYTES": "1073741824",
            "UDIPICK_BULK_MAX_LINE_BYTES": "4096",
        }
    )
    assert (s.max_body_bytes, s.bulk_max_body_bytes, s.bulk_max_line_bytes) == (65536, 1 << 30, 4096)


@pytest.mark.parametrize("value", ["0", "1MiB", "-1", "100"])
def test_a_body_limit_that_is_not_a_number_of_bytes_is_refused_with_the_variables_name(value):
    with pytest.raises(ValueError, match="UDIPICK_BULK_MAX_LINE_BYTES"):
        load_settings({"UDIPICK_BULK_MAX_LINE_BYTES": value})


def test_the_sign_in_limits_are_read_from_the_environment():
    s = load_settings(
        {
            "UDIPICK_LOGIN_MAX_FAILURES": "5",
            "UDIPICK_LOGIN_LOCKOUT_SECONDS": "60",
            "UDIPICK_LOGIN_ADDRESS_MAX_FAILURES": "100",
            "UDIPICK_LOGIN_ADDRESS_WINDOW_SECONDS": "600",
            "UDIPICK_LOGIN_VERIFY_THREADS": "2",
            "UDIPICK_LOGIN_VERIFY_QUEUE": "0",
            "UDIPICK_LOGIN_REFUSAL_DELAY_SECONDS": "0.5",
            "UDIPICK_TRUST_X_FORWARDED_FOR": "1",
        }
    )
    assert (
        s.login_max_failures,
        s.login_lockout_seconds,
        s.login_address_max_failures,
        s.login_address_window_seconds,
        s.login_verify_threads,
        s.login_verify_queue,
        s.login_refusal_delay_seconds,
        s.trust_x_forwarded_for,
    ) == (5, 60, 100, 600, 2, 0, 0.5, True)
    assert load_settings({}).trust_x_forwarded_for is False  # anyone can send the header


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UDIPICK_LOGIN_MAX_FAILURES", "0"),
        ("UDIPICK_LOGIN_MAX_FAILURES", "ten"),
        ("UDIPICK_LOGIN_VERIFY_THREADS", "0"),
        ("UDIPICK_LOGIN_LOCKOUT_SECONDS", "-5"),
        ("UDIPICK_LOGIN_REFUSAL_DELAY_SECONDS", "soon"),
        ("UDIPICK_LOGIN_REFUSAL_DELAY_SECONDS", "61"),
    ],
)
def test_a_sign_in_limit_out_of_range_is_refused_with_the_variables_name(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UDIPICK_TOKEN_TTL_HOURS", "0"),
        ("UDIPICK_TOKEN_TTL_HOURS", "12h"),
        ("UDIPICK_REPLENISH_EVERY_SECONDS", "nan"),
        ("UDIPICK_DB_POOL_SIZE", "1e3"),
    ],
)
def test_every_number_is_checked_and_refused_with_the_variables_name(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})
    assert load_settings({"UDIPICK_TOKEN_TTL_HOURS": "8"}).token_ttl_hours == 8
