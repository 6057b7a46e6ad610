"""Mask the secrets of callback URLs wherever a path or a query is kept or written out.

The token in ``/v1/callbacks/{provider}/{token}`` is the only credential of providers
that do not sign, and ChuangLan puts a password in clear in the query (``pswd``):
neither the inbox nor a log line may hold them in clear.
"""

from __future__ import annotations

import re

MASK = "***"
# The segment after /callbacks/<provider>/, up to the next "/", "?", "#", quote or space:
# a path, a request line ("POST /v1/callbacks/x/tok?a=1 HTTP/1.1"), or a full URL.
_CALLBACK_TOKEN = re.compile(r"(/callbacks/[^/\s?#\"']+/)[^/\s?#\"']+")
# Query parameters that carry a password in clear (ChuangLan's pswd), in a bare query
# string or in a URL, a request line or a log message.
SECRET_QUERY_FIELDS = ("pswd", "password", "passwd", "pwd")
_QUERY_SECRET = re.compile(
    r"((?:^|[?&\s])(?:" + "|".join(SECRET_QUERY_FIELDS) + r")=)[^&\s#\"']*", re.IGNORECASE)


def mask_callback_tokens(text: str) -> str:
    """Return ``text`` with the token (and any password in the query) of every callback
    path in it replaced by ``***``."""
    if "/callbacks/" not in text:
        return text
    return mask_query_secrets(_CALLBACK_TOKEN.sub(r"\g<1>" + MASK, text))


def mask_query_secrets(query: str) -> str:
    """Return a query string (or a text holding one) with every password value masked."""
    if "=" not in query:
        return query
    return _QUERY_SECRET.sub(r"\g<1>" + MASK, query)
