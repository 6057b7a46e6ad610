"""Fetch what an AWS SNS callback points at: its signing certificate, its SubscribeURL.

Both URLs come inside a callback, so both pass the relay's SSRF guard before they are
fetched (``relay.transport.addresses.check_url``), on top of the adapter's own rule
that they are https on ``sns.<region>.amazonaws.com``. No redirect is followed, the
answer is at most ``MAX_BYTES`` and the wait at most ``TIMEOUT`` seconds: the
certificate is fetched while SNS waits for its answer, once per URL per process.
"""

from __future__ import annotations

import urllib.request
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


def install(*, allow_private: bool) -> None:
    """Make the SNS adapter fetch its certificates through ``guarded_open``."""
    aws_sns.CERTIFICATES.opener = partial(guarded_open, allow_private=allow_private)
