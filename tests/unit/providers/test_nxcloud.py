"""NXCloud DID SMS: samples become the expected events; ``sign`` is verified."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.nxcloud import provider, sign
from tests.fixtures import sample, seed

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
KEY = "fme2na3kdi3ki"
SECRET = "demoSecret123"
TS = "1690361994834"
NOW = datetime.fromtimestamp(1690361994, UTC)
SIGNED = Account(id="acc_x", provider="nxcloud",
                 credentials={"access_key": KEY, "access_secret": SECRET},
                 default_region=None)
UNSIGNED = Account(id="acc_x2", provider="nxcloud", default_region=None)

VECTOR = sample("nxcloud_did_signed_dr.txt").decode()
VECTOR_MD5, VECTOR_SHA256 = re.findall(r"(?:md5|sha256) = ([0-9a-f]+)", VECTOR)


def vector_body() -> bytes:
    """Return the body of our self-computed vector."""
    line = next(x for x in VECTOR.splitlines() if x.startswith("# body="))
    return line.removeprefix("# body=").encode()


def signed(body: bytes | None = None, **headers: str | None) -> CallbackRequest:
    base: dict[str, str | None] = {"accesskey": KEY, "action": "dr", "biztype": "4",
                                   "ts": TS, "sign": VECTOR_MD5}
    base.update({k.lower(): v for k, v in headers.items()})
    return CallbackRequest(body=vector_body() if body is None else body,
                           headers={k: v for k, v in base.items() if v is not None},
                           content_type=JSON)


def events(request: CallbackRequest, account: Account = UNSIGNED) -> list[Event]:
    return [provider.normalize(r, account) for r in provider.extract(request, account)]


def unsigned_sample_form() -> dict[str, str]:
    """Turn the doc's rendering of the unsigned form ("k:v,k:v") into its fields."""
    line = sample("nxcloud_did_form_unsigned.txt").decode().splitlines()[1]
    return dict(pair.split(":", 1) for pair in line.split(","))


def test_vector_values_are_the_samples() -> None:
    assert VECTOR_MD5 == "ae98623345686e2f3deff82f8ba388ad"
    assert VECTOR_SHA256.startswith("4be5208f")
    assert VECTOR_SHA256.endswith("8568")
    signed_string = (f"accessKey={KEY}&action=dr&bizType=4&ts={TS}&body=".encode()
                     + vector_body() + f"&accessSecret={SECRET}".encode())
    assert hashlib.md5(signed_string, usedforsecurity=False).hexdigest() == VECTOR_MD5
    assert sign(KEY, "dr", "4", TS, vector_body(), SECRET) == VECTOR_MD5
    assert sign(KEY, "dr", "4", TS, vector_body(), SECRET, "sha256") == VECTOR_SHA256


def test_empty_body_is_left_out_of_the_signed_string() -> None:
    expected = hashlib.md5(f"accessKey={KEY}&action=dr&bizType=4&ts={TS}"
                           f"&accessSecret={SECRET}".encode(), usedforsecurity=False).hexdigest()
    assert sign(KEY, "dr", "4", TS, b"", SECRET) == expected


def test_md5_vector_authenticates() -> None:
    provider.authenticate(signed(), SIGNED, NOW, 300)


@pytest.mark.parametrize(("algorithm", "value"), [
    ("sha256", VECTOR_SHA256), ("SHA256", VECTOR_SHA256), ("md5", VECTOR_MD5),
    ("sha1", VECTOR_MD5),
])
def test_algorithm_header_picks_the_digest(algorithm: str, value: str) -> None:
    provider.authenticate(signed(algorithm=algorithm, sign=value), SIGNED, NOW, 300)


def test_sign_is_compared_case_insensitively() -> None:
    provider.authenticate(signed(sign=VECTOR_MD5.upper()), SIGNED, NOW, 300)


@pytest.mark.parametrize(("change", "why"), [
    ({"accessKey": "kGp5uFHN"}, "accessKey"),
    ({"action": "mo"}, "sign"),
    ({"bizType": "5"}, "sign"),
    ({"ts": "1690361994835"}, "sign"),
    ({"sign": "d8200fa495be3bcd5fda3bc25502131b"}, "sign"),
    ({"algorithm": "sha256"}, "sign"),
    ({"sign": VECTOR_SHA256}, "sign"),
    ({"ts": "1690361994"}, "13-digit"),
])
def test_each_tampered_header_fails(change: dict[str, str], why: str) -> None:
    with pytest.raises(AuthError, match=why):
        provider.authenticate(signed(None, **change), SIGNED, NOW, 300)


def test_tampered_body_fails() -> None:
    body = vector_body().replace(b"DELIVRD", b"UNDELIVR")
    with pytest.raises(AuthError, match="sign"):
        provider.authenticate(signed(body), SIGNED, NOW, 300)


def test_reformatted_body_fails() -> None:
    # The sign is over the raw bytes; the same JSON pretty-printed is another body.
    body = orjson.dumps(orjson.loads(vector_body()), option=orjson.OPT_INDENT_2)
    with pytest.raises(AuthError, match="sign"):
        provider.authenticate(signed(body), SIGNED, NOW, 300)


def test_wrong_secret_fails() -> None:
    account = Account(id="acc_x", provider="nxcloud",
                      credentials={"access_key": KEY, "access_secret": "other"})
    with pytest.raises(AuthError, match="sign"):
        provider.authenticate(signed(), account, NOW, 300)


@pytest.mark.parametrize("offset", [301, -301])
def test_stale_or_future_ts_fails(offset: int) -> None:
    with pytest.raises(AuthError, match="ts"):
        provider.authenticate(signed(), SIGNED, NOW + timedelta(seconds=offset), 300)


@pytest.mark.parametrize("header", ["accessKey", "ts", "bizType", "action", "sign"])
def test_missing_header_fails(header: str) -> None:
    with pytest.raises(AuthError, match="missing"):
        provider.authenticate(signed(**{header: None}), SIGNED, NOW, 300)


def test_unsigned_form_is_refused_when_the_account_has_a_key() -> None:
    request = CallbackRequest(body=urlencode(unsigned_sample_form()).encode(), headers={},
                              content_type=FORM)
    with pytest.raises(AuthError, match="missing"):
        provider.authenticate(request, SIGNED, NOW, 300)


def test_unsigned_form_passes_without_a_key() -> None:
    request = CallbackRequest(body=urlencode(unsigned_sample_form()).encode(), headers={},
                              content_type=FORM)
    provider.authenticate(request, UNSIGNED, NOW, 300)


def test_half_a_key_pair_is_refused() -> None:
    account = Account(id="acc_x3", provider="nxcloud", credentials={"access_secret": "s"})
    with pytest.raises(AuthError, match="only one"):
        provider.authenticate(signed(), account, NOW, 300)


def test_signed_receipt_vector_is_one_delivered_event() -> None:
    (event,) = events(signed(), SIGNED)
    assert event.type == "sms.status"
    assert event.status == "delivered"
    assert event.message_id == "fcf3432fd1834ccdac807a7cfb2d1fdf"
    assert event.phone == "+18184505018"
    assert event.provider_status == "DELIVRD"
    assert event.error_code is None
    assert event.price == "0.0360"
    assert event.segments == 1
    # receiveTime is the send time of a receipt; 14:54 in Asia/Shanghai is 06:54 UTC.
    assert event.submitted_at == datetime(2021, 2, 7, 6, 54, tzinfo=UTC)
    assert event.reported_at is None
    assert event.text is None
    assert event.raw["fromPhone"] == "+12347200160"


def test_unsigned_form_sample_is_the_same_event() -> None:
    request = CallbackRequest(body=urlencode(unsigned_sample_form()).encode(), headers={},
                              content_type=FORM)
    (event,) = events(request)
    assert (event.type, event.status, event.message_id) == (
        "sms.status", "delivered", "fcf3432fd1834ccdac807a7cfb2d1fdf")
    assert (event.phone, event.price, event.segments) == ("+18184505018", "0.0360", 1)
    assert event.submitted_at == datetime(2021, 2, 7, 6, 54, tzinfo=UTC)


def test_unencoded_plus_in_a_form_still_gives_the_number() -> None:
    # A "+" left unencoded in a form reads as a space; the number survives it.
    body = (b"messageId=m1&type=1&toPhone=+18184505018&smsStatus=DELIVRD"
            b"&receiveTime=2021-02-07+14:54:00")
    request = CallbackRequest(body=body, headers={}, content_type=FORM)
    (event,) = events(request)
    assert event.phone == "+18184505018"
    assert event.submitted_at == datetime(2021, 2, 7, 6, 54, tzinfo=UTC)


def seed_body() -> bytes:
    doc = seed("004_836e64b1e21370f6.txt")
    return doc.split("--data-raw '")[1].split("'")[0].encode()


def test_seed_push_example_parses_by_its_action_header() -> None:
    # The seed's body has no `type`; the signed header says what it is.
    request = CallbackRequest(body=seed_body(), headers={"action": "dr"}, content_type=JSON)
    (event,) = events(request)
    assert (event.status, event.message_id) == ("delivered", "fcf3432fd1834ccdac807a7cfb2d1fdf")
    # Sent without "+", as NXCloud sends international numbers.
    assert event.phone == "+18184505018"
    assert event.submitted_at == datetime(2021, 2, 7, 6, 54, tzinfo=UTC)


def test_seed_push_example_does_not_verify_without_its_secret() -> None:
    headers = {"accesskey": "kGp5uFHN", "action": "dr", "biztype": "4",
               "ts": "1690361994834", "sign": "d8200fa495be3bcd5fda3bc25502131b"}
    account = Account(id="acc_x4", provider="nxcloud",
                      credentials={"access_key": "kGp5uFHN", "access_secret": "unknown"})
    request = CallbackRequest(body=seed_body(), headers=headers, content_type=JSON)
    with pytest.raises(AuthError, match="sign"):
        provider.authenticate(request, account, NOW, 300)


def test_uplink_message_is_an_inbound_event() -> None:
    doc = {"messageId": "mo1", "type": "0", "toPhone": "12347200160",
           "fromPhone": "18184505018", "content": "hello", "size": "1", "price": "0",
           "receiveTime": "2021-02-07 14:54:00", "smsStatus": ""}
    request = CallbackRequest(body=orjson.dumps(doc), headers={"action": "mo"},
                              content_type=JSON)
    (event,) = events(request)
    assert (event.type, event.status) == ("sms.inbound", "received")
    assert (event.message_id, event.phone, event.text) == ("mo1", "+18184505018", "hello")
    assert event.reported_at == datetime(2021, 2, 7, 6, 54, tzinfo=UTC)
    assert event.raw["toPhone"] == "12347200160"


@pytest.mark.parametrize(("value", "status", "code"), [
    ("DELIVRD", "delivered", None), ("UNDELIVR", "failed", "UNDELIVR"),
    ("EXPIRED", "unknown", None),
])
def test_status_table(value: str, status: str, code: str | None) -> None:
    body = urlencode({"messageId": "m1", "type": "1", "smsStatus": value}).encode()
    (event,) = events(CallbackRequest(body=body, headers={}, content_type=FORM))
    assert (event.status, event.provider_status, event.error_code) == (status, value, code)


def test_account_zone_overrides_the_guess() -> None:
    account = Account(id="acc_x5", provider="nxcloud", timezone=ZoneInfo("UTC"),
                      default_region=None)
    (event,) = events(signed(), account)
    assert event.submitted_at == datetime(2021, 2, 7, 14, 54, tzinfo=UTC)


def test_content_type_is_sniffed_when_missing() -> None:
    request = CallbackRequest(body=vector_body(), headers={"action": "dr"})
    assert [e.message_id for e in events(request)] == ["fcf3432fd1834ccdac807a7cfb2d1fdf"]


@pytest.mark.parametrize(("body", "content_type", "action", "why"), [
    (b"", JSON, "dr", "empty"),
    (b"[]", JSON, "dr", "object"),
    (b"{", JSON, "dr", "JSON"),
    (b'{"messageId": "m1", "smsStatus": "DELIVRD"}', JSON, None, "neither"),
    (b'{"messageId": "m1", "type": "2"}', JSON, "mtsend", "neither"),
    (b'{"type": "1", "smsStatus": "DELIVRD"}', JSON, None, "messageId"),
    (b'{"messageId": " ", "type": "1", "smsStatus": "DELIVRD"}', JSON, None, "blank"),
    (b'{"messageId": "m1", "type": "1"}', JSON, None, "smsStatus"),
    (b"messageId=m1&type=1", FORM, None, "smsStatus"),
    (b"a=%ff", FORM, None, "valid form"),
    (b'{"messageId": "m1", "smsStatus": "DELIVRD", "size": "x"}', JSON, "dr", "size"),
    (b'{"messageId": "m1", "smsStatus": "DELIVRD", "receiveTime": "2021/02/07"}', JSON,
     "dr", "receiveTime"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(
        body: bytes, content_type: str, action: str | None, why: str) -> None:
    headers = {"action": action} if action else {}
    request = CallbackRequest(body=body, headers=headers, content_type=content_type)
    with pytest.raises(ParseError, match=why):
        events(request)


def test_answers_are_nxclouds_own_forms() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, SIGNED, ok=True)
    assert (ok.status, ok.body) == (200, b"success")
    assert ok.content_type.startswith("text/plain")
    bad = provider.answer(request, SIGNED, ok=False, status=401, reason="bad sign")
    assert (bad.status, bad.body) == (401, b"error")


def received(headers: dict[str, str], body: bytes, content_type: str) -> CallbackRequest:
    return CallbackRequest(body=body, headers={k.lower(): v for k, v in headers.items()},
                           content_type=content_type)


@pytest.mark.parametrize(("kind", "event_type"), [("status", "sms.status"),
                                                  ("inbound", "sms.inbound")])
def test_simulated_signed_pushes_round_trip(kind: str, event_type: str) -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(SIGNED, count=10, seq=5, now=now, kind=kind)
    assert (sim.records, sim.content_type) == (1, JSON)
    assert sim.headers["action"] == ("mo" if kind == "inbound" else "dr")
    request = received(dict(sim.headers), sim.body, sim.content_type)
    provider.authenticate(request, SIGNED, now, 300)
    (event,) = events(request, SIGNED)
    assert event.type == event_type
    assert event.phone == "+18180000005"
    assert event.message_id == f"sim{5:029d}"


def test_simulated_unsigned_push_round_trips() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(UNSIGNED, count=1, seq=9, now=now)
    assert (sim.headers, sim.content_type) == ({}, FORM)
    request = received({}, sim.body, sim.content_type)
    provider.authenticate(request, UNSIGNED, now, 300)
    (event,) = events(request)
    assert (event.status, event.error_code) == ("failed", "UNDELIVR")
    assert event.submitted_at == now


def test_a_json_body_after_a_utf8_bom_without_content_type_is_read_as_json() -> None:
    plain = CallbackRequest(body=vector_body(), headers={"action": "dr"})
    with_bom = CallbackRequest(body=b"\xef\xbb\xbf" + vector_body(), headers={"action": "dr"})
    assert events(with_bom) == events(plain)
