"""Huawei Cloud SMS: samples become the expected events; AK/SK pushes are verified."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.huawei import apig_signature, canonical_request, provider
from tests.fixtures import sample, seed

ACCOUNT = Account(id="acc_h", provider="huawei")
FORM = "application/x-www-form-urlencoded"

# The official APIG worked example (huawei_apig_signature_vector.txt).
VECTOR_AK = "QTWAOYTTINDUT2QVKYUC"
VECTOR_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
VECTOR_DATE = "20191115T033655Z"
VECTOR_NOW = datetime(2019, 11, 15, 3, 36, 55, tzinfo=UTC)
VECTOR_PATH = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
VECTOR_QUERY = "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
VECTOR_HEADERS = {
    "content-type": "application/json",
    "host": "service.region.example.com",
    "x-sdk-date": VECTOR_DATE,
}
VECTOR_SIGNATURE = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
VECTOR_ACCOUNT = Account(id="acc_hv", provider="huawei",
                         credentials={"access_key": VECTOR_AK, "secret_key": VECTOR_SK})


def events(body: bytes, account: Account = ACCOUNT) -> list[Event]:
    request = CallbackRequest(body=body, headers={}, content_type=FORM)
    return [provider.normalize(r, account) for r in provider.extract(request, account)]


def vector_request(*, body: bytes = b"", method: str = "GET", path: str = VECTOR_PATH,
                   query: str = VECTOR_QUERY,
                   headers: dict[str, str] | None = None) -> CallbackRequest:
    """Return the official example as received, with the given parts changed."""
    received = dict(VECTOR_HEADERS)
    received["authorization"] = (f"SDK-HMAC-SHA256 Access={VECTOR_AK}, SignedHeaders="
                                 f"content-type;host;x-sdk-date, Signature={VECTOR_SIGNATURE}")
    received.update(headers or {})
    return CallbackRequest(body=body, headers=received, method=method, path=path, query=query)


def raw_http(name: str) -> CallbackRequest:
    """Read a sample written as a raw HTTP request."""
    head, _, body = sample(name).decode().partition("\n\n")
    start, *lines = head.splitlines()
    method, path, _ = start.split(" ")
    headers = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return CallbackRequest(body=body.strip().encode(), headers=headers,
                           content_type=headers.get("content-type", ""), method=method,
                           path=path)


def test_success_sample_is_one_delivered_event_in_utc() -> None:
    (event,) = events(sample("huawei_dlr_success.txt"))
    assert event.type == "sms.status"
    assert event.status == "delivered"
    assert event.message_id == "2ea20735-f856-4376-afbf-570bd70a46ee_11840135"
    assert event.provider_status == "DELIVRD"
    assert (event.error_code, event.error_message) == (None, None)
    assert event.reported_at == datetime(2018, 10, 31, 8, 43, 41, tzinfo=UTC)
    assert event.segments == 1
    assert event.part is None
    # `to` only comes with `extend`; neither is in the sample.
    assert (event.phone, event.reference) == (None, None)
    assert event.raw["source"] == "2"


def test_failed_sample_keeps_the_platform_code() -> None:
    (event,) = events(sample("huawei_dlr_failed.txt"))
    assert event.status == "failed"
    assert event.provider_status == "E200027"
    assert event.error_code == "E200027"
    assert event.error_message is None
    assert event.message_id == "2ea20735-f856-4376-afbf-570bd70a46ee_11840135"
    assert event.reported_at == datetime(2018, 10, 31, 8, 43, 41, tzinfo=UTC)


def test_signed_sample_body_parses_and_keeps_org_code() -> None:
    (event,) = events(raw_http("huawei_dlr_with_auth.txt").body)
    assert event.status == "delivered"
    assert event.message_id == "b9d9b4fe-ad0e-4a2a-a2c7-445505b674ac_6"
    assert event.reported_at == datetime(2018, 4, 13, 6, 31, 46, tzinfo=UTC)
    assert event.raw["orgCode"] == "000"


def test_seed_document_sample_parses() -> None:
    doc = seed("003_3d417b0934fd974c.txt")
    block = doc.split("> huawei云短信回调")[1].split("```http")[1].split("```")[0]
    body = block.strip().split("\n\n", 1)[1].strip().encode()
    (event,) = events(body)
    assert event.status == "delivered"
    assert event.message_id == "xxxxxxxxxxx"
    # The seed leaves the colons unencoded; the form reader does not mind.
    assert event.reported_at == datetime(2018, 4, 13, 6, 31, 46, tzinfo=UTC)
    assert event.segments is None


def test_uplink_sample_is_an_inbound_event() -> None:
    (event,) = events(sample("huawei_mo.txt").split(b"\n", 1)[1].strip())
    assert event.type == "sms.inbound"
    assert event.status == "received"
    assert event.message_id == "<uplink-id>"
    # The sample's number is masked, so it is kept as given.
    assert event.phone == "+86151****6789"
    assert event.text == "<urlencoded text>"
    assert event.reported_at == datetime(2018, 2, 12, 15, 30, 20, tzinfo=UTC)


def test_uplink_text_is_utf8_and_number_becomes_e164() -> None:
    body = b"smsMsgId=mo1&from=%2B8613800000000&to=10690&body=%E4%BD%A0%E5%A5%BD"
    (event,) = events(body)
    assert (event.phone, event.text, event.reported_at) == ("+8613800000000", "你好", None)


@pytest.mark.parametrize(("code", "status"), [
    ("DELIVRD", "delivered"), ("EXPIRED", "expired"), ("REJECTD", "rejected"),
    ("UNKNOWN", "unknown"), ("UNDELIV", "failed"), ("DELETED", "failed"),
    ("E200034", "failed"), ("MILIMIT", "failed"), ("LIMIT", "failed"), ("RTE_ERR", "failed"),
    ("ACCEPTD", "delivered"),
])
def test_status_table(code: str, status: str) -> None:
    (event,) = events(f"smsMsgId=m1&status={code}&statusDesc=why".encode())
    assert event.status == status
    assert event.provider_status == code
    if status == "delivered":
        assert (event.error_code, event.error_message) == (None, None)
    else:
        assert (event.error_code, event.error_message) == (code, "why")


@pytest.mark.parametrize(("setting", "status"), [
    ("pending", "pending"), ("failed", "failed"), ("delivered", "delivered"),
    ("bogus", "delivered"),
])
def test_acceptd_follows_the_account_option(setting: str, status: str) -> None:
    account = Account(id="acc_h2", provider="huawei", options={"acceptd_status": setting})
    (event,) = events(b"smsMsgId=m1&status=ACCEPTD", account)
    assert event.status == status
    assert event.error_code == (None if status == "delivered" else "ACCEPTD")


def test_acceptd_option_is_declared() -> None:
    option = provider.options["acceptd_status"]
    assert option.default == "delivered"
    assert option.choices == ("delivered", "pending", "failed")


@pytest.mark.parametrize("code", ["UNDELIV", "DELETED", "E200018", "E200027", "E200038",
                                  "MILIMIT", "LIMIT", "BEYOND"])
@pytest.mark.parametrize("setting", [None, "unknown"])
def test_the_tables_failures_are_failed_whatever_the_option(code: str,
                                                            setting: str | None) -> None:
    options = {} if setting is None else {"unlisted_status": setting}
    account = Account(id="acc_h3", provider="huawei", options=options)
    (event,) = events(f"smsMsgId=m1&status={code}".encode(), account)
    assert (event.status, event.error_code) == ("failed", code)


@pytest.mark.parametrize(("setting", "status"), [
    (None, "failed"), ("failed", "failed"), ("unknown", "unknown"), ("bogus", "failed"),
])
def test_a_code_outside_the_table_follows_the_account_option(setting: str | None,
                                                             status: str) -> None:
    options = {} if setting is None else {"unlisted_status": setting}
    account = Account(id="acc_h4", provider="huawei", options=options)
    for code in ("RTE_ERR", "E200017", "E200039"):  # outside the table's E200018…038
        (event,) = events(f"smsMsgId=m1&status={code}".encode(), account)
        assert (event.status, event.error_code) == (status, code)


def test_each_part_of_a_long_sms_is_its_own_record() -> None:
    body = (b"sequence=2&total=3&updateTime=2018-10-31T08%3A43%3A41Z&source=2"
            b"&smsMsgId=m1&status=DELIVRD&extend=order-7&to=%2B8613800000000")
    (event,) = events(body)
    assert (event.segments, event.part) == (3, "2")
    assert event.reference == "order-7"
    assert event.phone == "+8613800000000"


def test_zone_less_time_is_read_in_the_account_zone() -> None:
    (event,) = events(b"smsMsgId=m1&status=DELIVRD&updateTime=2018-10-31T08%3A43%3A41")
    assert event.reported_at == datetime(2018, 10, 31, 0, 43, 41, tzinfo=UTC)


@pytest.mark.parametrize(("body", "why"), [
    (b"", "neither"),
    (b"sequence=1&total=1", "neither"),
    (b"status=DELIVRD", "smsMsgId"),
    (b"smsMsgId=m1&status=", "status.*blank"),
    (b"smsMsgId=m1&body=hi", "from"),
    (b"smsMsgId=m1&from=%2B8613800000000", "body"),
    (b"a=%ff", "valid form"),
    (b"smsMsgId=m1&status=DELIVRD&total=x", "whole number"),
    (b"smsMsgId=m1&status=DELIVRD&updateTime=yesterday", "updateTime"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(body)


def test_canonical_request_matches_the_official_worked_example() -> None:
    text = sample("huawei_apig_signature_vector.txt").decode()
    lines = text.splitlines()
    start = lines.index("CanonicalRequest (lines joined by \\n):") + 1
    expected = "\n".join(lines[start:start + 9])
    canonical = canonical_request("GET", VECTOR_PATH, VECTOR_QUERY, VECTOR_HEADERS,
                                  ["content-type", "host", "x-sdk-date"], b"")
    assert canonical == expected
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a")
    assert apig_signature(VECTOR_SK, VECTOR_DATE, canonical) == VECTOR_SIGNATURE
    assert VECTOR_SIGNATURE in text


def test_canonical_request_sorts_and_encodes_like_the_sdk() -> None:
    canonical = canonical_request(
        "post", "/a b/", "b=2&a=x%20y&a=1&=skipped", {"host": " h ", "x-sdk-date": "d"},
        ["X-Sdk-Date", "Host"], b"body")
    assert canonical.split("\n") == [
        "POST", "/a%20b/", "a=1&a=x%20y&b=2", "host:h", "x-sdk-date:d", "",
        "host;x-sdk-date", hashlib.sha256(b"body").hexdigest(),
    ]


def test_official_example_authenticates() -> None:
    provider.authenticate(vector_request(), VECTOR_ACCOUNT, VECTOR_NOW, 300)


def test_no_space_after_commas_is_accepted() -> None:
    authorization = (f"SDK-HMAC-SHA256 Access={VECTOR_AK},SignedHeaders="
                     f"content-type;host;x-sdk-date,Signature={VECTOR_SIGNATURE}")
    request = vector_request(headers={"authorization": authorization})
    provider.authenticate(request, VECTOR_ACCOUNT, VECTOR_NOW, 300)


@pytest.mark.parametrize(("changes", "why"), [
    ({"body": b"x"}, "does not match"),
    ({"query": "limit=3&marker=13551d6b-755d-4757-b956-536f674975c0"}, "does not match"),
    ({"path": "/v1/other/vpcs"}, "does not match"),
    ({"method": "POST"}, "does not match"),
    ({"headers": {"host": "evil.example.com"}}, "does not match"),
    ({"headers": {"content-type": "text/plain"}}, "does not match"),
    ({"headers": {"x-sdk-date": "20191115T033656Z"}}, "does not match"),
    ({"headers": {"authorization": "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
                                   "SignedHeaders=content-type;host;x-sdk-date, "
                                   "Signature=" + "0" * 64}}, "does not match"),
    ({"headers": {"authorization": "SDK-HMAC-SHA256 Access=OTHER, SignedHeaders="
                                   "content-type;host;x-sdk-date, Signature="
                                   + VECTOR_SIGNATURE}}, "access_key"),
    ({"headers": {"authorization": f"Bearer {VECTOR_SIGNATURE}"}}, "Authorization"),
    ({"headers": {"x-sdk-date": "2019-11-15T03:36:55Z"}}, "X-Sdk-Date"),
])
def test_each_tampered_part_fails(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(AuthError, match=why):
        provider.authenticate(vector_request(**changes), VECTOR_ACCOUNT, VECTOR_NOW, 300)


def test_wrong_secret_fails() -> None:
    account = Account(id="acc_hv", provider="huawei",
                      credentials={"access_key": VECTOR_AK, "secret_key": "other"})
    with pytest.raises(AuthError, match="does not match"):
        provider.authenticate(vector_request(), account, VECTOR_NOW, 300)


@pytest.mark.parametrize("offset", [301, -301])
def test_stale_or_future_date_fails(offset: int) -> None:
    with pytest.raises(AuthError, match="X-Sdk-Date"):
        provider.authenticate(vector_request(), VECTOR_ACCOUNT,
                              VECTOR_NOW + timedelta(seconds=offset), 300)


def test_date_within_the_skew_passes() -> None:
    provider.authenticate(vector_request(), VECTOR_ACCOUNT,
                          VECTOR_NOW + timedelta(seconds=300), 300)


@pytest.mark.parametrize("header", ["authorization", "x-sdk-date", "host", "content-type"])
def test_missing_header_fails(header: str) -> None:
    full = vector_request()
    headers = {k: v for k, v in full.headers.items() if k != header}
    request = CallbackRequest(body=b"", headers=headers, method="GET", path=VECTOR_PATH,
                              query=VECTOR_QUERY)
    with pytest.raises(AuthError, match=r"(?i)missing"):
        provider.authenticate(request, VECTOR_ACCOUNT, VECTOR_NOW, 300)


def test_official_push_sample_needs_every_signed_header() -> None:
    request = raw_http("huawei_dlr_with_auth.txt")
    account = Account(id="acc_h3", provider="huawei",
                      credentials={"access_key": "exampleAk", "secret_key": "unknown"})
    now = datetime(2024, 12, 12, 7, 6, 53, tzinfo=UTC)
    # The sample signs content-length but its header list leaves it out.
    with pytest.raises(AuthError, match="content-length"):
        provider.authenticate(request, account, now, 300)
    headers = dict(request.headers) | {"content-length": str(len(request.body))}
    complete = CallbackRequest(body=request.body, headers=headers, path=request.path,
                               content_type=FORM)
    # Huawei does not publish the SK, so the signature itself cannot match.
    with pytest.raises(AuthError, match="does not match"):
        provider.authenticate(complete, account, now, 300)


def test_unsigned_pushes_pass_without_credentials() -> None:
    request = CallbackRequest(body=sample("huawei_dlr_success.txt"), headers={})
    provider.authenticate(request, ACCOUNT, datetime.now(UTC), 300)


def test_half_a_key_pair_is_refused() -> None:
    account = Account(id="acc_h4", provider="huawei", credentials={"access_key": "ak"})
    request = CallbackRequest(body=sample("huawei_dlr_success.txt"), headers={})
    with pytest.raises(AuthError, match="only one"):
        provider.authenticate(request, account, datetime.now(UTC), 300)


def test_answers_are_huaweis_own_forms() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, ok.content_type) == (200, "application/json")
    assert orjson.loads(ok.body) == {"returnCode": 0, "returnCodeDesc": "Success"}
    bad = provider.answer(request, ACCOUNT, ok=False, status=401, reason="bad signature")
    assert bad.status == 401
    assert orjson.loads(bad.body) == {"returnCode": 1, "returnCodeDesc": "bad signature"}


def received(sim_headers: dict[str, str], body: bytes, content_type: str, *,
             host: str = "localhost", path: str = "/") -> CallbackRequest:
    """Build the request a server would see for a simulated callback."""
    headers = {k.lower(): v for k, v in sim_headers.items()}
    headers |= {"content-type": content_type, "host": host}
    return CallbackRequest(body=body, headers=headers, content_type=content_type, path=path)


def test_simulated_unsigned_callback_round_trips() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=50, seq=4, now=now)
    assert (sim.records, sim.headers, sim.content_type) == (1, {}, FORM)
    request = received(dict(sim.headers), sim.body, sim.content_type)
    provider.authenticate(request, ACCOUNT, now, 300)
    (event,) = [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]
    assert (event.status, event.message_id, event.reported_at) == ("delivered", "sim-4_1", now)
    assert (event.phone, event.reference) == ("+8613800000004", "ref-4")
    failed = provider.simulate(ACCOUNT, count=1, seq=9, now=now)
    (bad,) = events(failed.body)
    assert (bad.status, bad.error_code) == ("failed", "E200027")


@pytest.mark.parametrize("kind", ["status", "inbound"])
def test_simulated_signed_callback_round_trips(kind: str) -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(VECTOR_ACCOUNT, count=1, seq=12, now=now, kind=kind,
                            host="hub.example.com:8443", path="/callbacks/tok_1")
    assert sim.headers["X-Sdk-Date"] == "20240506T070809Z"
    request = received(dict(sim.headers), sim.body, sim.content_type,
                       host="hub.example.com:8443", path="/callbacks/tok_1")
    provider.authenticate(request, VECTOR_ACCOUNT, now, 300)
    (event,) = [provider.normalize(r, VECTOR_ACCOUNT)
                for r in provider.extract(request, VECTOR_ACCOUNT)]
    if kind == "inbound":
        assert (event.type, event.text, event.phone) == ("sms.inbound", "reply 12",
                                                         "+8613900000012")
    else:
        assert (event.type, event.status) == ("sms.status", "delivered")
    # The signature binds the host and path it was made for.
    moved = received(dict(sim.headers), sim.body, sim.content_type,
                     host="hub.example.com:8443", path="/callbacks/tok_2")
    with pytest.raises(AuthError, match="does not match"):
        provider.authenticate(moved, VECTOR_ACCOUNT, now, 300)
