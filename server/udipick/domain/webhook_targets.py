"""Where a webhook may point: the addresses udipick refuses to send its event stream to.

An admin (or a stolen admin key) could otherwise point a webhook at udipick's own host — a loopback
port, the cloud metadata service at 169.254.169.254 (link-local) — and use the relay's signed POSTs,
retries and error log to reach or read what only the host itself may. Refused: loopback, link-local,
unspecified ("this host") and multicast addresses, IPv4 and IPv6, including IPv6 forms that carry an
IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, the old IPv4-compatible ``::a.b.c.d``, NAT64
``64:ff9b::a.b.c.d``). Private LAN ranges (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed:
that is where on-premises ERPs live. Loopback may be allowed by a setting (an ERP on the same host,
tests with a local receiver); link-local, unspecified and multicast never are.

Pure: the caller resolves the host (at registration and again at every delivery, since DNS can
change) and hands in every address it resolved to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from udipick.domain.errors import InvalidRecord, WebhookTargetRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # "this host on this network": Linux connects 0.0.0.0 to itself
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where the network delivers it to that IPv4 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    value = int(address)
    if address in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (deprecated; :: and ::1 are themselves)
        return ipaddress.IPv4Address(value)
    return None


def refusal(address: str | IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not be sent to ``address`` (``loopback``, ``link-local``, ``unspecified``,
    ``multicast``), or ``None`` when it may. An IPv6 zone (``fe80::1%eth0``) is ignored."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_ipv4(ip)) is not None:
        ip = v4
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK):
        return "unspecified"
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    return None


_REASONS = {
    "loopback": "udipick's own host (loopback)",
    "link-local": "a link-local address (such as the cloud metadata service)",
    "unspecified": "an unspecified address (this host)",
    "multicast": "a multicast address",
}


def check_addresses(host: str, addresses: Iterable[str], *, allow_loopback: bool = False) -> None:
    """Refuse the target if ANY address ``host`` resolved to is refused: the connection may go to any of them."""
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason is not None:
            shown = host if host == address else f"{host} ({address})"
            hint = " (set UDIPICK_WEBHOOK_ALLOW_LOOPBACK=1 for an ERP on this host)" if reason == "loopback" else ""
            raise WebhookTargetRefused(
                f"a webhook may not be sent to {shown}: that is {_REASONS[reason]}{hint}",
                host=host,
                address=address,
                reason=reason,
            )


def target_host_port(url: str) -> tuple[str, int]:
    """The host (without IPv6 brackets, lower case) and port a webhook URL connects to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRecord(f"the webhook URL cannot be read: {exc}", pointer="/url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRecord("a webhook URL is http:// or https:// followed by a host", pointer="/url")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)
