"""Mask the secret token of callback URLs wherever a path is kept or written out.

The token in ``/v1/callbacks/{provider}/{token}`` is the only credential of providers
that do not sign: neither the inbox nor a log line may hold it in clear.
"""

from __future__ import annotations

import re

MASK = "***"
# The segment after /callbacks/<provider>/, up to the next "/", "?", "#", quote or space:
# a path, a request line ("POST /v1/callbacks/x/tok?a=1 HTTP/1.1"), or a full URL.
_CALLBACK_TOKEN = re.compile(r"(/callbacks/[^/\s?#\"']+/)[^/\s?#\"']+")


def mask_callback_tokens(text: str) -> str:
    """Return ``text`` with the token of every callback path in it replaced by ``***``."""
    if "/callbacks/" not in text:
        return text
    return _CALLBACK_TOKEN.sub(r"\g<1>" + MASK, text)
