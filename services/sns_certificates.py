"""Fetch what an AWS SNS callback points at: its signing certificate, its SubscribeURL.

The SubscribeURL is visited synchronously, right after the confirmation is in the
inbox and before it is answered: one short GET (SNS waits 15 s for the answer) needs no
worker round trip, and if it fails the answer is 503, so SNS sends the confirmation
again rather than the subscription staying pending unseen.

Both URLs come inside a callback, so both pass the relay's SSRF guard before they are
fetched (``relay.transport.addresses.check_url``), on top of the adapter's own rule
that they are https on ``sns.<region>.amazonaws.com``. No redirect is followed, the
answer is at most ``MAX_BYTES`` and the wait at most ``TIMEOUT`` seconds: the
certificate is fetched while SNS waits for its answer, once per URL per process.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from functools import partial
from typing import Any

from dlrhub.providers import aws_sns
from dlrhub.services.errors import InvalidInput
from dlrhub.services.relay.transport.addresses import check_url

TIMEOUT = 5.0
MAX_BYTES = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def guarded_open(url: str, *, allow_private: bool, timeout: float = TIMEOUT) -> bytes:
    """GET ``url`` once the SSRF guard allows it; raise ``OSError`` otherwise."""
    if not aws_sns.allowed_sns_url(url):
        raise OSError("not an https URL on sns.<region>.amazonaws.com")
    try:
        check_url(url, allow_private=allow_private)
    except InvalidInput as ex:
        raise OSError(str(ex)) from ex
    with _OPENER.open(url, timeout=timeout) as answer:
        body: bytes = answer.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise OSError(f"the answer is larger than {MAX_BYTES} bytes")
    return body


_visit: Callable[[str], bytes] = partial(guarded_open, allow_private=False)


def install(*, allow_private: bool) -> None:
    """Make SNS certificates and confirmations go through ``guarded_open``."""
    install_opener(partial(guarded_open, allow_private=allow_private))


def install_opener(opener: Callable[[str], bytes]) -> None:
    """Fetch certificates and confirm subscriptions with ``opener`` (tests give their own)."""
    global _visit
    _visit = opener
    aws_sns.CERTIFICATES.opener = opener


def confirm(url: str) -> bytes:
    """Confirm a subscription by GETting its SubscribeURL and return SNS's answer.

    Raise ``OSError`` on failure.
    """
    try:
        return aws_sns.confirm_subscription(url, _visit)
    except ValueError as ex:
        raise OSError(str(ex)) from ex
