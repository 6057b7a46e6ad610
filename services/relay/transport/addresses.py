"""Keep outbound webhook requests away from internal addresses.

Webhook URLs come from tenants, so without a guard a tenant could make dlrhub
call its own metadata service, database or admin ports (SSRF). Outbound requests
never reach private, loopback, link-local, multicast or reserved addresses
unless ``DLRHUB_ALLOW_PRIVATE_ENDPOINTS`` is set (the caller passes that setting
as ``allow_private``). The check runs twice:

* :func:`check_url` when an endpoint is saved, so the tenant gets a clear error;
* ``transport.resolver.GuardedResolver`` at connect time, inside aiohttp, so a name that
  resolved to a public address when saved and to ``127.0.0.1`` now (DNS
  rebinding) is still refused: the address aiohttp connects to is the one
  that was checked.

Two things are the caller's part: send with ``allow_redirects=False`` (a redirect
would lead to a URL nobody checked), and keep the session's ``trust_env`` off
(through a proxy the resolver only sees the proxy's name). aiohttp does not ask
a resolver about IP-literal hosts (``http://10.0.0.1/``); a literal cannot
rebind, so :func:`check_url` at save time covers it, but run it again before
sending if ``allow_private`` may have been turned off since.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from dlrhub.services.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048
SCHEMES = frozenset({"http", "https"})

# Ranges the ipaddress module does not flag (or flags only by accident of its tables).
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated, but still routed internally
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")  # RFC 4193, the IPv6 "10.0.0.0/8"
# RFC 6052 well-known NAT64 prefix: a NAT64 gateway forwards to the embedded IPv4.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def forbidden_reason(ip: IPAddress) -> str | None:
    """Return why ``ip`` may not be reached by an outbound request, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:a.b.c.d is the IPv4 address itself on a dual-stack socket: judge
        # only the embedded address, so ::ffff:8.8.8.8 is as allowed as 8.8.8.8.
        if ip.ipv4_mapped is not None:
            inner = forbidden_reason(ip.ipv4_mapped)
            return None if inner is None else f"IPv4-mapped {ip.ipv4_mapped}, {inner}"
        # The tunnelling forms deliver to an embedded IPv4 address too; refuse them
        # when that address is forbidden, then judge the IPv6 address on its own.
        for form, embedded in _embedded_ipv4(ip):
            inner = forbidden_reason(embedded)
            if inner is not None:
                return f"{form} form of {embedded}, {inner}"
        # A 6to4 address is delivered to its embedded IPv4 address, judged just above.
        # Python 3.12.4+ and 3.13 list all of 2002::/16 as private (IANA gives it no
        # "globally reachable" of its own), so asking ipaddress would refuse every one.
        if ip.sixtofour is not None:
            return None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared address space (100.64.0.0/10)"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:
            return "site-local"
        if ip in _UNIQUE_LOCAL:
            return "unique-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """List the IPv4 addresses a 6to4, Teredo or NAT64 address delivers to."""
    out: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        out.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        out += [("Teredo", server), ("Teredo", client)]
    if ip in _NAT64:
        out.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return out


def address_reason(address: str) -> str | None:
    """Return why the textual ``address`` may not be reached; refuse what does not parse."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # Fail closed: a resolver answer we cannot read is not one we can vouch for.
        return "not an IP address"
    return forbidden_reason(ip)


def resolve_host(host: str, port: int) -> list[str]:
    """Return the addresses ``host`` resolves to, as the system resolver answers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _numeric_host(host: str) -> list[str] | None:
    """Return the address a numeric ``host`` stands for, or None if it is a name.

    ``inet_aton`` forms such as ``2130706433``, ``0x7f.1`` and ``0177.0.0.1`` all
    mean 127.0.0.1 to getaddrinfo and to browsers; AI_NUMERICHOST normalizes them
    without a DNS query, whatever resolver the caller injected.
    """
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(
            host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except (OSError, UnicodeError):
        return None
    return [str(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool, resolve: Resolve = resolve_host) -> None:
    """Raise ``InvalidInput("url", ...)`` unless ``url`` is a webhook endpoint dlrhub may call.

    The URL must be absolute http(s) with a host, no user:password, a valid port
    and at most ``MAX_URL_LENGTH`` characters. Unless ``allow_private``, every
    address the host resolves to must pass :func:`forbidden_reason`: one private
    answer among public ones is enough to refuse, because aiohttp may pick it.
    ``resolve(host, port)`` returns address strings; tests inject their own.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"must be at most {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines; other parsers may not, so refuse
    # anything that would read differently to the HTTP client.
    if any(ch.isspace() or not ch.isprintable() for ch in url) or "\\" in url:
        raise InvalidInput("url", "must not contain whitespace, control characters or '\\'")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as ex:
        raise InvalidInput("url", f"is not a valid URL ({ex})") from ex
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidInput("url", "must start with http:// or https://")
    if "@" in parts.netloc:
        raise InvalidInput("url", "must not contain a user name or password")
    host = parts.hostname
    if not host:
        raise InvalidInput("url", "must name a host")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput("url", "port must be between 1 and 65535")
    if allow_private:
        return
    port = port or (443 if scheme == "https" else 80)

    addresses = _numeric_host(host)
    if addresses is None:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as ex:
            raise InvalidInput("url", f"host {host} does not resolve ({ex})") from ex
    if not addresses:
        raise InvalidInput("url", f"host {host} does not resolve")
    refused = _first_refused(addresses)
    if refused is not None:
        raise InvalidInput("url", f"host {host} resolves to {refused[0]} ({refused[1]}), "
                           "which may not be called")


def _first_refused(addresses: Sequence[str]) -> tuple[str, str] | None:
    """Return the first of ``addresses`` that may not be called, with the reason."""
    for address in addresses:
        reason = address_reason(address)
        if reason is not None:
            return address, reason
    return None


def check_literal(url: str, *, allow_private: bool) -> None:
    """Refuse ``url`` at send time if its host is an address that may not be called.

    Names need no check here: ``transport.resolver.GuardedResolver`` vets what they resolve to
    at connect time. IP literals never reach a resolver in aiohttp, so they are
    checked here, without a DNS query.
    """
    if allow_private:
        return
    refused = _first_refused(_numeric_host(urlsplit(url).hostname or "") or [])
    if refused is not None:
        raise InvalidInput("url", f"{refused[0]} ({refused[1]}) may not be called")
