"""No body, header set or content type makes the callback endpoint answer 500."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import falcon.testing
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dlrhub.providers.base import Account, CallbackError, CallbackRequest
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.storable import storable
from tests.catalog import Case, cases
from tests.conformance.cases import has_case, load
from tests.factories import AccountFactory

# Every registered provider, with the credentials of its conformance case (a provider
# without one fails the kit's own check).
KITS = [load(name) for name in sorted(PROVIDERS) if has_case(name)]
CREDENTIALS = {kit.slug: dict(kit.credentials) for kit in KITS if kit.credentials}
CASES = cases()
SAMPLES = [c.body for c in CASES] + [s.body for kit in KITS for s in kit.samples if s.body]
QUERIES = [s.query for kit in KITS for s in kit.samples if s.query]
XML_SAMPLES = [c.body for c in CASES if c.body.lstrip().startswith(b"<")]

content_types = st.sampled_from([
    "", "application/json", "application/json; charset=utf-8", "text/xml", "application/xml",
    "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
    "application/octet-stream", "*/*", ";;;", "application/json; charset=gbk",
])
header_names = st.sampled_from([
    "CurTime", "MD5", "CheckSum", "AppKey", "accessKey", "ts", "bizType", "action", "sign",
    "algorithm", "X-Sdk-Date", "Authorization", "X-Forwarded-For", "Content-Length",
])
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    st.integers(min_value=-(10**15), max_value=10**16).map(str),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(SAMPLES),
    st.sampled_from(SAMPLES).flatmap(
        lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda n: b[:n])),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                    inner, max_size=4),
        max_leaves=12,
    ).map(orjson.dumps),
)

# Query strings for providers that report by GET: theirs, cut, spoilt, or made up.
queries = st.one_of(
    st.just(""),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
    st.dictionaries(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
                    st.text(max_size=30), max_size=6).map(urlencode),
    *([st.sampled_from(QUERIES).flatmap(
        lambda q: st.integers(0, len(q)).map(lambda n: q[:n]))] if QUERIES else []),
)


@pytest.fixture
def endpoints(client: falcon.testing.TestClient) -> tuple[falcon.testing.TestClient,
                                                          dict[str, str]]:
    urls = {}
    for name in PROVIDERS:
        new = AccountFactory(provider=name, credentials=CREDENTIALS.get(name))
        urls[name] = f"/v1/callbacks/{name}/{new.token}"
    return client, urls


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@hsettings(max_examples=300, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(provider=st.sampled_from(sorted(PROVIDERS)), body=bodies, content_type=content_types,
       headers=st.dictionaries(header_names, header_values, max_size=6),
       method=st.sampled_from(["POST", "GET"]), query=queries)
def test_no_input_gets_a_server_error(
        endpoints: tuple[falcon.testing.TestClient, dict[str, str]], provider: str,
        body: bytes, content_type: str, headers: dict[str, str], method: str,
        query: str) -> None:
    client, urls = endpoints
    headers = {k: v for k, v in headers.items() if k != "Content-Length"}
    if content_type:
        headers["Content-Type"] = content_type
    # Falcon's test client takes a query without its "?" and refuses one that starts
    # with another (a real request "path??x" would carry the query "?x").
    result = client.simulate_request(method, urls[provider], body=body, headers=headers,
                                     query_string=query.lstrip("?") or None)
    assert result.status_code < 500, (result.status_code, result.text)


# --- hostile input: what a broken or malicious sender can put in a body ------------------

# Encoding names expat does not know, Python codecs that are not text encodings, and
# real encodings the bytes do not match.
ENCODINGS = ["x-unknown", "hex", "rot13", "base64", "zlib", "undefined", "mbcs", "utf-7",
             "utf-16", "utf-32", "cp037", "gbk", "big5", "latin-1", "ascii", "", "utf-8\x00"]
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"]
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00"]
ENTITY_TRICKS = [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b"<Request><content>&b;</content></Request>",
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Request><content>&x;'
    b"</content></Request>",
    b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><Request/>',
    b'<Request xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/>'
    b"</Request>",
    b"<Request><![CDATA[\x00]]></Request>",
    b"<Request>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Request>",
]
# Field values that parse as the right type but break a later step: times UTC cannot
# hold, counts no column holds, NULs PostgreSQL refuses, digits int() refuses.
HOSTILE_VALUES: list[Any] = [
    "0001-01-01 00:00:00", "00010101000000", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "9999-12-31 23:59:59", "Mon, 01 Jan 0001 00:00:00 +0800",
    "Fri, 31 Dec 9999 23:59:59 -1200", "9" * 40, 10**18, -(2**63), 2**64 - 1, 1e308, -1,
    "a\x00b", "\x00", "²", "１３８００１３８０００", "\u202e", "", " ", [], {}, True, None,
    "x" * 3000,
]


def _json_leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _json_leaves(v, (*path, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _json_leaves(v, (*path, i))]
    return [path]


def _with_value(case: Case, pick: int, value: Any) -> bytes:
    """Return the case's body with one field's value (chosen by ``pick``) replaced."""
    body = case.body
    if body.lstrip().startswith(b"<"):
        fields = list(re.finditer(rb"<(\w+)>([^<]*)</\1>", body))
        if not fields:
            return body
        m = fields[pick % len(fields)]
        new = str(value).replace("&", "&amp;").replace("<", "&lt;").encode(errors="replace")
        return body[:m.start(2)] + new + body[m.end(2):]
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
        if not pairs:
            return body
        index = pick % len(pairs)
        pairs[index] = (pairs[index][0], str(value))
        return urlencode(pairs).encode(errors="replace")
    leaves = _json_leaves(doc)
    path = leaves[pick % len(leaves)]
    if not path:
        return orjson.dumps(value)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return orjson.dumps(doc)


hostile_bodies = st.one_of(
    st.tuples(st.sampled_from(ENCODINGS), st.sampled_from(XML_SAMPLES)).map(
        lambda t: b'<?xml version="1.0" encoding="' + t[0].encode() + b'"?>'
        + re.sub(rb"^\s*<\?xml[^>]*\?>", b"", t[1])),
    st.tuples(st.sampled_from(BOMS), st.sampled_from(SAMPLES)).map(lambda t: t[0] + t[1]),
    st.tuples(st.sampled_from(SAMPLES), st.integers(0, 10**6), st.sampled_from(BAD_UTF8)).map(
        lambda t: t[0][:t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1):]),
    st.integers(1, 100_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 100_000).map(lambda n: b'{"Request": ' * n + b"1" + b"}" * n),
    st.integers(20, 5000).map(lambda n: b'[{"sid": 1' + b"0" * n + b"}]"),
    st.sampled_from(["1e999", "-1e999", "1e-999", "NaN", "Infinity", "0x10", "1_000"]).map(
        lambda n: b'{"eventType": ' + n.encode() + b"}"),
    st.sampled_from(ENTITY_TRICKS),
    st.tuples(st.sampled_from(CASES), st.integers(0, 10**6), st.sampled_from(HOSTILE_VALUES))
    .map(lambda t: _with_value(*t)),
)


def _provider_form(provider: str, body: bytes, content_type: str, status: int) -> str:
    """Return the content type of the provider's own answer with ``status``."""
    request = CallbackRequest(body=body, headers={}, content_type=content_type)
    return PROVIDERS[provider].answer(request, None, ok=status < 300, status=status,
                                      reason="x").content_type


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@hsettings(max_examples=400, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(provider=st.sampled_from(sorted(PROVIDERS)), body=hostile_bodies,
       content_type=st.sampled_from(["", "application/json", "application/xml", "text/xml",
                                     "application/x-www-form-urlencoded"]))
def test_hostile_bodies_are_accepted_or_refused_in_the_providers_form(
        endpoints: tuple[falcon.testing.TestClient, dict[str, str]], provider: str,
        body: bytes, content_type: str) -> None:
    client, urls = endpoints
    adapter = PROVIDERS[provider]
    # A content type the provider never sends is refused before any parser runs.
    media = content_type if content_type in adapter.content_types else ""
    headers = {"Content-Type": media} if media else {}
    result = client.simulate_post(urls[provider], body=body, headers=headers)
    assert result.status_code < 500, (result.status_code, result.text)
    assert result.headers.get("content-type") == \
        _provider_form(provider, body, media, result.status_code), result.text


@hsettings(max_examples=600, deadline=None)
@given(provider=st.sampled_from(sorted(PROVIDERS)), body=hostile_bodies,
       content_type=st.sampled_from(["", "application/json", "application/xml",
                                     "application/x-www-form-urlencoded"]))
def test_hostile_bodies_never_break_a_parser_or_the_normalizer(
        provider: str, body: bytes, content_type: str) -> None:
    """Every parser, normalizer and bound raises ``CallbackError`` (a 4xx, or ``failed``).

    The worker re-parses an accepted body and normalizes its records: anything else it
    raised would be retried as a bug and never become a receipt nor a reason.
    """
    adapter = PROVIDERS[provider]
    account = Account(id="acc", provider=provider)
    request = CallbackRequest(body=body, headers={}, content_type=content_type)
    try:
        for record in adapter.extract(request, account):
            # What the worker stores: each record normalized, then made storable.
            event = storable(adapter.normalize(record, account))
            for value in (event.message_id, event.phone, event.text, event.reference):
                assert value is None or "\x00" not in value, "PostgreSQL refuses NUL"
            assert event.segments is None or abs(event.segments) < 2**31
            for moment in (event.reported_at, event.submitted_at):
                assert moment is None or moment.tzinfo is not None
            orjson.dumps(dict(event.raw))  # the raw record can be stored as JSON
            assert "\\u0000" not in orjson.dumps(dict(event.raw)).decode()
        adapter.answer(request, account, ok=False, status=400, reason="x")
    except CallbackError:
        pass
