"""Feeds added from chat must not reach the host itself or private networks (server-side request forgery)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlparse

from bot.errors import UnsafeURL

__all__ = ["UnsafeURL", "check_public_url", "is_public_address"]


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


async def check_public_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UnsafeURL(f"not an http(s) URL: {url!r}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parsed.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeURL(f"cannot resolve {parsed.hostname}: {exc.strerror or exc}") from None
    for info in infos:
        address = str(info[4][0])  # an IPv4 or IPv6 socket address starts with the host as a string
        if not is_public_address(address):
            raise UnsafeURL(f"{parsed.hostname} resolves to {address}, which is not a public address")
