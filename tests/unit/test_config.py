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
