"""Outbound-address guard: the forbidden table, URL checks at save time, the resolver at connect."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from dlrhub.services.errors import InvalidInput
from dlrhub.services.relay.transport.addresses import check_url, forbidden_reason
from dlrhub.services.relay.transport.resolver import ForbiddenAddress, GuardedResolver

PUBLIC = "93.184.216.34"
T = TypeVar("T")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared address space (100.64.0.0/10)"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1, loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped 169.254.169.254, link-local"),
        ("2002:7f00:1::", "6to4 form of 127.0.0.1, loopback"),
        ("2002:a00:1::", "6to4 form of 10.0.0.1, private"),
        # Teredo carries the client address XOR-ed: 0x80fffffe ^ 0xffffffff = 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo form of 127.0.0.1, loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254, link-local"),
    ],
)
def test_internal_addresses_are_forbidden(address: str, reason: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", PUBLIC, "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::1"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def fixed(*addresses: str) -> Callable[[str, int], list[str]]:
    """Return a resolver that answers ``addresses`` for every name."""
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)
    return resolve


def no_lookup(host: str, port: int) -> list[str]:
    """Fail the test: the check was expected to decide without a DNS lookup."""
    raise AssertionError(f"unexpected lookup of {host}:{port}")


def refusal(url: str, *, allow_private: bool = False,
            resolve: Callable[[str, int], list[str]] = no_lookup) -> str:
    """Return the detail of the InvalidInput that check_url raises for ``url``."""
    with pytest.raises(InvalidInput) as caught:
        check_url(url, allow_private=allow_private, resolve=resolve)
    assert caught.value.field == "url"
    return caught.value.detail


def test_a_public_host_is_accepted() -> None:
    seen: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        seen.append((host, port))
        return [PUBLIC, "2606:2800:220:1::1"]

    check_url("https://Hooks.Example.com/dlr?x=1", allow_private=False, resolve=resolve)
    check_url("http://hooks.example.com:8080/", allow_private=False, resolve=resolve)
    assert seen == [("hooks.example.com", 443), ("hooks.example.com", 8080)]


def test_a_name_resolving_to_loopback_is_refused_unless_private_is_allowed() -> None:
    detail = refusal("https://hooks.example.com/", resolve=fixed("127.0.0.1"))
    assert "127.0.0.1 (loopback)" in detail

    check_url("https://hooks.example.com/", allow_private=True, resolve=fixed("127.0.0.1"))


def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    detail = refusal("https://hooks.example.com/", resolve=fixed(PUBLIC, "10.0.0.7"))
    assert "10.0.0.7 (private)" in detail


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert "does not resolve" in refusal("https://nowhere.example/", resolve=fail)
    assert "does not resolve" in refusal("https://nowhere.example/", resolve=fixed())


def test_allow_private_skips_the_lookup_but_not_the_shape_checks() -> None:
    check_url("http://db.internal:5432/", allow_private=True, resolve=no_lookup)
    assert "http://" in refusal("ftp://db.internal/", allow_private=True)
    assert "user name" in refusal("http://a:b@db.internal/", allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://hooks.example.com/",
        "//hooks.example.com/",
        "hooks.example.com/path",
    ],
)
def test_only_http_and_https_are_allowed(url: str) -> None:
    assert "must start with http:// or https://" in refusal(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@hooks.example.com/",
        "https://user@hooks.example.com/",
        "https://@hooks.example.com/",
        # urlsplit takes the last '@'; other parsers take the first
        "https://hooks.example.com@127.0.0.1/",
    ],
)
def test_userinfo_is_refused(url: str) -> None:
    assert "user name or password" in refusal(url)


@pytest.mark.parametrize("url", ["https://", "http:///path", "https://:443/", "http://?x=1"])
def test_a_host_is_required(url: str) -> None:
    assert "must name a host" in refusal(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com:0/",
        "https://hooks.example.com:65536/",
        "https://hooks.example.com:http/",
        "https://hooks.example.com:-1/",
    ],
)
def test_the_port_must_be_in_range(url: str) -> None:
    detail = refusal(url)
    assert "port" in detail or "not a valid URL" in detail


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/\t@127.0.0.1/",
        "https://hooks.example.com/a\nb",
        "https://hooks.example.com\\@127.0.0.1/",
        "https://hooks.example.com/ x",
    ],
)
def test_whitespace_and_backslashes_are_refused(url: str) -> None:
    assert "must not contain whitespace" in refusal(url)


def test_urls_longer_than_2048_characters_are_refused() -> None:
    url = "https://hooks.example.com/" + "a" * (2048 - len("https://hooks.example.com/"))
    check_url(url, allow_private=False, resolve=fixed(PUBLIC))
    assert "2048" in refusal(url + "a")


def test_malformed_ipv6_literals_are_refused() -> None:
    assert "not a valid URL" in refusal("http://[::1/")


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://[::1]:8080/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
        # urlsplit leaves the zone percent-encoded; still link-local
        ("http://[fe80::1%25eth0]/", "fe80::1%25eth0"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        # inet_aton forms that getaddrinfo and browsers read as addresses
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),  # noqa: S104 - an address to refuse, not to bind
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
    ],
)
def test_ip_literals_are_checked_without_a_lookup(url: str, address: str) -> None:
    # no_lookup proves the injected resolver cannot be used to wave a literal through
    # str() of an IPv4-mapped address changed in Python 3.13 (::ffff:7f00:1 became
    # ::ffff:127.0.0.1): expect whatever this Python prints for it.
    assert f"resolves to {ipaddress.ip_address(address)} (" in refusal(url)


def test_a_public_ip_literal_is_accepted() -> None:
    check_url("https://8.8.8.8/hook", allow_private=False, resolve=no_lookup)
    check_url("https://[2001:4860:4860::8888]:8443/", allow_private=False, resolve=no_lookup)


class FakeResolver(AbstractResolver):
    """Answer every name with fixed addresses, like a DNS server the attacker controls."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Return the fixed addresses for ``host``."""
        return [
            ResolveResult(
                hostname=host, host=address, port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        """Remember that the resolver was closed."""
        self.closed = True


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop."""
    return asyncio.run(coro)


def test_the_resolver_drops_forbidden_addresses_and_keeps_the_rest() -> None:
    async def scenario() -> list[ResolveResult]:
        guard = GuardedResolver(allow_private=False,
                                inner=FakeResolver("10.0.0.7", PUBLIC, "::1"))
        try:
            return await guard.resolve("hooks.example.com", 443, socket.AF_UNSPEC)
        finally:
            await guard.close()

    assert [r["host"] for r in run(scenario())] == [PUBLIC]


def test_the_resolver_refuses_when_nothing_allowed_remains() -> None:
    async def scenario() -> None:
        inner = FakeResolver("127.0.0.1", "fe80::1", "not-an-address")
        guard = GuardedResolver(allow_private=False, inner=inner)
        with pytest.raises(ForbiddenAddress) as caught:
            await guard.resolve("hooks.example.com", 443)
        await guard.close()
        assert inner.closed
        assert caught.value.host == "hooks.example.com"
        assert caught.value.refused == [
            ("127.0.0.1", "loopback"), ("fe80::1", "link-local"),
            ("not-an-address", "not an IP address"),
        ]
        assert "127.0.0.1 (loopback)" in str(caught.value.strerror)

    run(scenario())


@asynccontextmanager
async def loopback_server() -> AsyncIterator[int]:
    """Serve ``GET /`` on 127.0.0.1 and yield the ephemeral port."""
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="reached")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        assert isinstance(port, int)
        yield port
    finally:
        await runner.cleanup()


async def fetch(url: str, resolver: GuardedResolver) -> str:
    """GET ``url`` the way the relay will, through ``resolver``, and return the body."""
    connector = aiohttp.TCPConnector(resolver=resolver)
    try:
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            return await response.text()
    finally:
        # the connector does not close a resolver it was handed
        await resolver.close()


def test_localhost_is_refused_at_connect_time() -> None:
    async def scenario() -> None:
        async with loopback_server() as port:
            with pytest.raises(aiohttp.ClientConnectorError) as caught:
                await fetch(f"http://localhost:{port}/", GuardedResolver(allow_private=False))
            assert isinstance(caught.value.__cause__, ForbiddenAddress)
            assert "may not be called" in str(caught.value)

    run(scenario())


def test_localhost_is_reached_when_private_endpoints_are_allowed() -> None:
    async def scenario() -> str:
        async with loopback_server() as port:
            return await fetch(f"http://localhost:{port}/", GuardedResolver(allow_private=True))

    assert run(scenario()) == "reached"


def test_dns_rebinding_is_refused_at_connect_time() -> None:
    # When saved, the name pointed at a public address ...
    check_url("http://hooks.rebind.test/", allow_private=False, resolve=fixed(PUBLIC))

    # ... by the time of the request it points at loopback.
    async def scenario(allow_private: bool) -> str:
        async with loopback_server() as port:
            guard = GuardedResolver(allow_private=allow_private,
                                    inner=FakeResolver("127.0.0.1"))
            return await fetch(f"http://hooks.rebind.test:{port}/", guard)

    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        run(scenario(allow_private=False))
    assert isinstance(caught.value.__cause__, ForbiddenAddress)
    # the same path does reach the server when allowed, so the refusal above is the guard's
    assert run(scenario(allow_private=True)) == "reached"
