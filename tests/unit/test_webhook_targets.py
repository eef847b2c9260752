"""Webhook targets: loopback, link-local, unspecified and multicast addresses are refused; LAN ERPs are not."""

from __future__ import annotations

import pytest

from udipick.domain.errors import InvalidRecord, WebhookTargetRefused
from udipick.domain.webhook_targets import check_addresses, refusal, target_host_port


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # loopback, IPv4 (the whole 127/8) and IPv6, and IPv6 forms that carry an IPv4 loopback address
        ("127.0.0.1", "loopback"),
        ("127.1.2.3", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::127.0.0.1", "loopback"),  # IPv4-compatible (deprecated)
        ("64:ff9b::7f00:1", "loopback"),  # NAT64
        # link-local: the cloud metadata service and its IPv6 twin
        ("169.254.169.254", "link-local"),
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        # unspecified: connecting there reaches this host
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:0.0.0.0", "unspecified"),
        # multicast
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:224.0.0.251", "multicast"),
        # allowed: private LANs (where ERPs live), public addresses, unique-local IPv6
        ("10.0.0.5", None),
        ("172.16.4.2", None),
        ("172.31.255.254", None),
        ("192.168.1.20", None),
        ("100.64.0.1", None),  # carrier-grade NAT
        ("93.184.216.34", None),
        ("::ffff:10.1.2.3", None),
        ("fd12:3456::1", None),
        ("2001:db8::1", None),
        ("2606:4700::6810:84e5", None),
    ],
)
def test_which_addresses_a_webhook_may_not_be_sent_to(address, expected):
    assert refusal(address) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", None),
        ("::1", None),
        ("::ffff:127.0.0.1", None),
        ("169.254.169.254", "link-local"),  # the setting allows loopback only
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
    ],
)
def test_the_loopback_setting_allows_loopback_and_nothing_else(address, expected):
    assert refusal(address, allow_loopback=True) == expected


def test_a_host_is_refused_if_any_address_it_resolves_to_is_refused():
    check_addresses("erp.lan", ["10.0.0.5", "192.168.1.9"])
    with pytest.raises(WebhookTargetRefused) as refused:
        check_addresses("erp.example", ["93.184.216.34", "169.254.169.254"])
    assert refused.value.context == {"host": "erp.example", "address": "169.254.169.254", "reason": "link-local"}
    assert refused.value.message == (
        "a webhook may not be sent to erp.example (169.254.169.254): that is a link-local address"
        " (such as the cloud metadata service)"
    )
    with pytest.raises(WebhookTargetRefused, match="UDIPICK_WEBHOOK_ALLOW_LOOPBACK=1"):
        check_addresses("localhost", ["::1", "127.0.0.1"])
    check_addresses("localhost", ["::1", "127.0.0.1"], allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://erp.lan/hooks", ("erp.lan", 80)),
        ("https://ERP.example.com/hooks", ("erp.example.com", 443)),
        ("http://10.0.0.5:8080/x", ("10.0.0.5", 8080)),
        ("http://[::ffff:127.0.0.1]:9000/x", ("::ffff:127.0.0.1", 9000)),
        ("http://user:pw@169.254.169.254/latest/meta-data", ("169.254.169.254", 80)),
    ],
)
def test_the_host_and_port_a_webhook_url_connects_to(url, expected):
    assert target_host_port(url) == expected


@pytest.mark.parametrize("url", ["http://erp.lan:99999/x", "ftp://erp.lan/x", "http:///x", "http://[::1/x"])
def test_a_webhook_url_without_a_usable_host_and_port_is_an_invalid_record(url):
    with pytest.raises(InvalidRecord):
        target_host_port(url)
