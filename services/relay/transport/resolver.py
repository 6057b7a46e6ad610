"""Resolve endpoint names at connect time, refusing addresses that may not be called.

The save-time check (``addresses.check_url``) is not enough: a name that resolved to
a public address then may answer with ``127.0.0.1`` now (DNS rebinding). aiohttp
connects to the address this resolver returned, so that is the address checked.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

from dlrhub.services.relay.transport.addresses import address_reason

log = logging.getLogger(__name__)


class ForbiddenAddress(OSError):
    """A connect-time lookup left no address that may be called.

    An OSError so that aiohttp wraps it in ``ClientConnectorError`` like any
    other lookup failure; ``strerror`` is set because that is what the
    ClientConnectorError message shows.
    """

    def __init__(self, host: str, refused: Sequence[tuple[str, str]]) -> None:
        detail = ", ".join(f"{address} ({reason})" for address, reason in refused)
        message = f"{host} resolves only to addresses that may not be called: {detail}"
        super().__init__(message)
        self.strerror = message
        self.host = host
        self.refused = list(refused)


class GuardedResolver(AbstractResolver):
    """Resolve names for aiohttp, dropping every address ``addresses.forbidden_reason`` refuses.

    Pass it as ``aiohttp.TCPConnector(resolver=...)``. The connector does not
    close a resolver it was given, so close this one after the session. Create
    it inside the running event loop (the default inner resolver needs one).
    """

    def __init__(self, *, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        """Wrap ``inner``, by default a ThreadedResolver.

        ThreadedResolver uses getaddrinfo, so it answers exactly as
        ``addresses.resolve_host`` did when the endpoint was saved (``/etc/hosts``
        included), unlike aiodns.
        """
        self.allow_private = allow_private
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Return the allowed addresses of ``host``; raise ForbiddenAddress if none is."""
        results = await self._inner.resolve(host, port, family)
        if self.allow_private:
            return results
        kept: list[ResolveResult] = []
        refused: list[tuple[str, str]] = []
        for result in results:
            reason = address_reason(result["host"])
            if reason is None:
                kept.append(result)
            else:
                refused.append((result["host"], reason))
        if refused:
            # A name that passed check_url but now answers with an internal address
            # is what DNS rebinding looks like; leave a trace for whoever investigates.
            log.warning("refused addresses of %s at connect time: %s", host, refused)
        if refused and not kept:
            raise ForbiddenAddress(host, refused)
        return kept

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()
