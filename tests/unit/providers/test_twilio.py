"""Twilio: X-Twilio-Signature over the URL and params, the status map, the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.twilio import body_hash, provider, signature
from dlrhub.services.insight.reasons import classify
from tests.fixtures import sample

FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
TOKEN = "12345"
ACCOUNT = Account(id="acc_t", provider="twilio", credentials={"auth_token": TOKEN},
                  timezone=ZoneInfo("UTC"), default_region=None)
UNSIGNED = Account(id="acc_u", provider="twilio", timezone=ZoneInfo("UTC"),
                   default_region=None)
# Twilio's published vector (twilio_signature_vector.txt).
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}
URL = "https://hub.example.com/v1/callbacks/twilio/tok"


def vector_line(key: str) -> str:
    for line in sample("twilio_signature_vector.txt").decode().splitlines():
        if line.startswith(f"{key} = "):
            return line.rsplit(" = ", 1)[1]
    raise KeyError(key)


def status_body() -> bytes:
    lines = sample("twilio_status_failed.txt").decode().splitlines()
    return next(line for line in lines if not line.startswith("#")).encode()


def signed(body: bytes, url: str = URL, *, token: str = TOKEN, **headers: str
           ) -> CallbackRequest:
    params = parse_qsl(body.decode(), keep_blank_values=True)
    base = {"x-twilio-signature": signature(token, url, params),
            "i-twilio-idempotency-token": "b4c0ffee-0000-4000-8000-000000000001"}
    base |= {k.lower().replace("_", "-"): v for k, v in headers.items()}
    return CallbackRequest(body=body, headers=base, content_type=FORM, url=url,
                           query=url.partition("?")[2])


def events(request: CallbackRequest, account: Account = ACCOUNT) -> list[Event]:
    provider.authenticate(request, account, NOW, 300)
    return [provider.normalize(r, account) for r in provider.extract(request, account)]


def test_the_published_vector() -> None:
    assert signature(TOKEN, VECTOR_URL, VECTOR_PARAMS.items()) == vector_line("signature")
    assert signature(TOKEN, VECTOR_URL, VECTOR_PARAMS.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    request = CallbackRequest(body=urlencode(VECTOR_PARAMS).encode(), content_type=FORM,
                              headers={"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
                              url=VECTOR_URL, query="foo=1&bar=2")
    provider.authenticate(request, ACCOUNT, NOW, 300)


def test_the_published_body_hash_vector_signs_a_json_body() -> None:
    body = b'{"property": "value", "boolean": true}'
    assert body_hash(body) == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = f"{URL}?bodySHA256={body_hash(body)}"
    headers = {"x-twilio-signature": signature(TOKEN, url, ())}
    request = CallbackRequest(body=body, headers=headers, content_type="application/json",
                              url=url)
    provider.authenticate(request, ACCOUNT, NOW, 300)
    tampered = CallbackRequest(body=body.replace(b"true", b"false"), headers=headers,
                               content_type="application/json", url=url)
    with pytest.raises(AuthError, match="bodySHA256"):
        provider.authenticate(tampered, ACCOUNT, NOW, 300)


@pytest.mark.parametrize(("signed_url", "called_url"), [
    ("https://hub.example.com:443/cb", "https://hub.example.com/cb"),
    ("https://hub.example.com/cb", "https://hub.example.com:443/cb"),
])
def test_a_default_port_shown_or_dropped_still_matches(signed_url: str, called_url: str
                                                       ) -> None:
    body = status_body()
    request = CallbackRequest(body=body, content_type=FORM, url=called_url,
                              headers=signed(body, signed_url).headers)
    provider.authenticate(request, ACCOUNT, NOW, 300)


@pytest.mark.parametrize(("change", "why"), [
    ({"body": b"MessageStatus=delivered"}, "does not match"),
    ({"url": URL + "?x=1"}, "does not match"),
    ({"headers": {}}, "missing"),
    ({"headers": {"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}}, "does not match"),
])
def test_tampered_or_unsigned_callbacks_are_refused(change: dict[str, object], why: str) -> None:
    good = signed(status_body())
    fields = {"body": good.body, "headers": good.headers, "url": good.url,
              "content_type": FORM} | change
    with pytest.raises(AuthError, match=why):
        provider.authenticate(CallbackRequest(**fields), ACCOUNT, NOW, 300)  # type: ignore[arg-type]


def test_another_accounts_token_is_refused() -> None:
    with pytest.raises(AuthError, match="does not match"):
        provider.authenticate(signed(status_body(), token="other"), ACCOUNT, NOW, 300)


def test_an_account_without_auth_token_takes_unsigned_callbacks() -> None:
    request = CallbackRequest(body=status_body(), headers={}, content_type=FORM, url=URL)
    (event,) = events(request, UNSIGNED)
    assert event.status == "failed"


def test_the_captured_failure_becomes_a_filtered_message() -> None:
    (event,) = events(signed(status_body()))
    assert (event.type, event.status, event.provider_status) == ("sms.status", "failed", "failed")
    assert event.message_id == "SM0123456789abcdef0123456789abcdef"
    assert event.phone == "+14155550100"
    assert event.error_code == "30007"
    # RawDlrDoneDate 2303092021: the carrier's minute, read in the account's zone (UTC).
    assert event.reported_at == datetime(2023, 3, 9, 20, 21, tzinfo=UTC)
    assert event.raw["I-Twilio-Idempotency-Token"] == "b4c0ffee-0000-4000-8000-000000000001"
    verdict = classify("twilio", event.status, event.error_code)
    assert verdict.reason_class == "content_blocked"


@pytest.mark.parametrize(("status", "expected"), [
    ("delivered", "delivered"), ("read", "delivered"), ("undelivered", "failed"),
    ("failed", "failed"), ("canceled", "failed"), ("queued", "pending"), ("sent", "pending"),
    ("accepted", "pending"), ("scheduled", "pending"), ("sending", "pending"),
])
def test_status_map(status: str, expected: str) -> None:
    body = urlencode({"MessageSid": "SM1", "MessageStatus": status, "To": "+14155550100",
                      "ErrorCode": "30003"}).encode()
    (event,) = events(signed(body))
    assert event.status == expected
    assert event.error_code == ("30003" if expected == "failed" else None)


@pytest.mark.parametrize(("code", "reason_class"), [
    ("30001", "rate_limited"), ("30003", "unreachable_powered_off"),
    ("30004", "blacklisted"), ("30005", "invalid_number"), ("30006", "invalid_number"),
    ("30007", "content_blocked"), ("30008", "other_unknown"), ("21610", "blacklisted"),
    ("30034", "content_blocked"),
])
def test_error_codes_get_their_class(code: str, reason_class: str) -> None:
    assert classify("twilio", "failed", code, carrier="china_mobile", country="CN"
                    ).reason_class == reason_class


def test_an_incoming_message_is_inbound_by_post_or_get() -> None:
    fields = {"MessageSid": "SM9", "SmsStatus": "received", "Body": "STOP please",
              "From": "+14155550123", "To": "+14155550199", "NumSegments": "1"}
    (event,) = events(signed(urlencode(fields).encode()))
    assert (event.type, event.status, event.text, event.phone, event.segments) == (
        "sms.inbound", "received", "STOP please", "+14155550123", 1)
    query = urlencode(fields)
    url = f"{URL}?{query}"
    get = CallbackRequest(body=b"", method="GET", query=query, url=url, headers={
        "x-twilio-signature": signature(TOKEN, url, ())})
    assert [e.text for e in events(get)] == ["STOP please"]


@pytest.mark.parametrize("body", [b"MessageStatus=sent", b"To=%2B1415", b"", b"a=%ff"])
def test_bodies_without_what_twilio_sends_are_400(body: bytes) -> None:
    request = CallbackRequest(body=body, headers={}, content_type=FORM)
    with pytest.raises(ParseError):
        provider.extract(request, UNSIGNED)


def test_answers_are_empty_twiml_or_the_reason() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, ok.content_type) == (200, "text/xml")
    assert ok.body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    bad = provider.answer(request, ACCOUNT, ok=False, status=401, reason="nope")
    assert (bad.status, bad.body) == (401, b"nope")
    assert provider.accepts_answer(204, b"")
    assert not provider.accepts_answer(500, b"")


def test_simulated_callbacks_are_signed_over_the_accounts_url() -> None:
    account = Account(id="a", provider="twilio", credentials={"auth_token": "tk"},
                      callback_url=URL, timezone=ZoneInfo("UTC"), default_region=None)
    for kind in ("status", "inbound"):
        sim = provider.simulate(account, count=1, seq=19, now=NOW, kind=kind)
        request = CallbackRequest(body=sim.body, content_type=sim.content_type, url=URL,
                                  headers={k.lower(): v for k, v in sim.headers.items()})
        got = events(request, account)
        assert len(got) == sim.records == 1
        assert got[0].type == ("sms.status" if kind == "status" else "sms.inbound")
        assert got[0].raw["I-Twilio-Idempotency-Token"]
