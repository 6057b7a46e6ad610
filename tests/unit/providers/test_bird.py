"""Bird / MessageBird: the legacy GET report and its signature, Bird's signed webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.bird import bird_signature, legacy_signature, provider
from dlrhub.services.insight.reasons import classify

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
KEY = "PlLrKaqvZNRR5zAjm42ZT6q1SQxgbbGd"
ACCOUNT = Account(id="acc_b", provider="bird", credentials={"signing_key": KEY},
                  timezone=ZoneInfo("UTC"), default_region=None)
# MessageBird's own example (ruby-rest-api examples/signed_request_verification.rb).
LEGACY_QUERY = {"recipient": "31612345678", "reference": "FOO",
                "statusDatetime": "2019-01-11T09:17:11+00:00",
                "id": "eef0ab57a9e049be946f3821568c2b2e", "status": "delivered",
                "mccmnc": "20408", "ported": "1"}
LEGACY_TS = "1547198231"
LEGACY_SIG = "KVBdcVdz2lYMwcBLZCRITgxUfA/WkwSi+T3Wxl2HL6w="
URL = "https://hub.example.com/v1/callbacks/bird/tok"


def legacy(fields: dict[str, str], *, at: datetime = NOW, key: str = KEY) -> CallbackRequest:
    query = urlencode(fields)
    ts = str(int(at.timestamp()))
    return CallbackRequest(body=b"", method="GET", query=query, url=f"{URL}?{query}",
                           headers={"messagebird-request-timestamp": ts,
                                    "messagebird-signature": legacy_signature(key, ts, query,
                                                                              b"")})


def bird(doc: dict[str, object], *, at: datetime = NOW, url: str = URL) -> CallbackRequest:
    body = orjson.dumps(doc)
    ts = str(int(at.timestamp()))
    return CallbackRequest(body=body, content_type="application/json", url=url, headers={
        "messagebird-request-timestamp": ts,
        "messagebird-signature": bird_signature(KEY, ts, url, body)})


def events(request: CallbackRequest) -> list[Event]:
    provider.authenticate(request, ACCOUNT, NOW, 300)
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def test_messagebirds_own_legacy_example() -> None:
    query = urlencode(LEGACY_QUERY)
    assert legacy_signature(KEY, LEGACY_TS, query, b"") == LEGACY_SIG
    request = CallbackRequest(body=b"", method="GET", query=query, url=f"{URL}?{query}",
                              headers={"messagebird-request-timestamp": LEGACY_TS,
                                       "messagebird-signature": LEGACY_SIG})
    at = datetime.fromtimestamp(int(LEGACY_TS), UTC)
    provider.authenticate(request, ACCOUNT, at, 300)
    (event,) = [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]
    assert (event.status, event.message_id, event.phone, event.reference) == (
        "delivered", "eef0ab57a9e049be946f3821568c2b2e", "+31612345678", "FOO")
    assert event.reported_at == datetime(2019, 1, 11, 9, 17, 11, tzinfo=UTC)


def test_birds_signature_vector_of_ours() -> None:
    assert bird_signature("signing-key", "1700000000", "https://example.com/webhooks/bird",
                          b'{"event":"sms.outbound"}') == \
        "E8+Y6Za8TmLrkht4zX3XnKnSB1flx0APNJB5m5nvcLU="


@pytest.mark.parametrize(("status", "expected"), [
    ("scheduled", "pending"), ("sent", "pending"), ("buffered", "pending"),
    ("delivered", "delivered"), ("expired", "expired"), ("delivery_failed", "failed"),
])
def test_legacy_status_map(status: str, expected: str) -> None:
    (event,) = events(legacy({**LEGACY_QUERY, "status": status, "statusErrorCode": "MK:0005",
                              "statusReason": "unknown subscriber"}))
    assert event.status == expected
    failed = expected in ("failed", "expired")
    assert event.error_code == ("MK:0005" if failed else None)
    assert event.error_message == ("unknown subscriber" if failed else None)


def test_a_passed_through_carrier_code_is_classified_by_the_carrier() -> None:
    (event,) = events(legacy({**LEGACY_QUERY, "status": "delivery_failed",
                              "recipient": "8613812345678", "statusErrorCode": "MK:0005"}))
    assert event.phone == "+8613812345678"
    assert classify("bird", event.status, event.error_code, carrier="china_mobile",
                    country="CN").reason_class == "invalid_number"


def test_an_incoming_message_by_get() -> None:
    fields = {"id": "0b8c", "recipient": "3197010260000", "originator": "31612345678",
              "body": "Yes & no", "createdDatetime": "2026-03-04T05:06:07+00:00"}
    (event,) = events(legacy(fields))
    assert (event.type, event.phone, event.text, event.reported_at) == (
        "sms.inbound", "+31612345678", "Yes & no", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))


def test_birds_sms_webhook_and_other_events() -> None:
    doc = {"service": "channels", "event": "sms.outbound", "payload": {
        "id": "a1b2", "status": "delivery_failed", "reference": "order-1",
        "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
        "failure": {"code": 4, "source": {"name": "sms-messagebird", "code": "EXPIRED"}},
        "updatedAt": "2026-03-04T05:06:00.000Z"}}
    (event,) = events(bird(doc))
    assert (event.status, event.message_id, event.phone, event.error_code, event.reference) == (
        "failed", "a1b2", "+31612345678", "EXPIRED", "order-1")
    assert events(bird({"service": "contacts", "event": "contact.created",
                        "payload": {}})) == []


def test_tampered_stale_or_unsigned_reports_are_refused() -> None:
    good = legacy(LEGACY_QUERY)
    cases = [
        (CallbackRequest(body=b"", method="GET", query=good.query, url=good.url, headers={}),
         "MessageBird-Request-Timestamp"),
        (CallbackRequest(body=b"", method="GET", query=good.query, url=good.url,
                         headers={**good.headers, "messagebird-request-timestamp": "1"}),
         "300s"),
        (CallbackRequest(body=b"", method="GET", query=good.query + "&ported=0",
                         url=good.url, headers=good.headers), "does not match"),
        (CallbackRequest(body=b"", method="GET", query=good.query, url=good.url,
                         headers={**good.headers, "messagebird-signature": ""}), "missing"),
        (legacy(LEGACY_QUERY, key="another"), "does not match"),
        (legacy(LEGACY_QUERY, at=NOW - timedelta(seconds=301)), "300s"),
    ]
    for request, why in cases:
        with pytest.raises(AuthError, match=why):
            provider.authenticate(request, ACCOUNT, NOW, 300)
    with pytest.raises(AuthError, match="signing_key"):
        provider.authenticate(good, Account(id="a", provider="bird"), NOW, 300)


def test_birds_signature_covers_the_url_and_the_body() -> None:
    doc = {"event": "sms.outbound", "payload": {"id": "x", "status": "delivered"}}
    good = bird(doc)
    for request in (
        CallbackRequest(body=good.body, url="https://elsewhere.example/cb",
                        headers=good.headers, content_type="application/json"),
        CallbackRequest(body=good.body.replace(b"delivered", b"sent"), url=URL,
                        headers=good.headers, content_type="application/json"),
    ):
        with pytest.raises(AuthError, match="does not match"):
            provider.authenticate(request, ACCOUNT, NOW, 300)


@pytest.mark.parametrize(("method", "query", "body"), [
    ("GET", "status=delivered", b""), ("GET", "", b""), ("POST", "", b"{bad"),
    ("POST", "", b'{"event":"sms.outbound","payload":{"status":"sent"}}'),
])
def test_reports_missing_what_bird_sends_are_400(method: str, query: str, body: bytes) -> None:
    request = CallbackRequest(body=body, headers={}, method=method, query=query,
                              content_type="application/json")
    with pytest.raises(ParseError):
        provider.extract(request, ACCOUNT)


def test_simulation_is_a_signed_get() -> None:
    account = Account(id="a", provider="bird", credentials={"signing_key": "k"},
                      timezone=ZoneInfo("UTC"), default_region=None)
    for kind in ("status", "inbound"):
        sim = provider.simulate(account, count=3, seq=9, now=NOW, kind=kind)
        assert (sim.method, sim.body, sim.records) == ("GET", b"", 1)
        request = CallbackRequest(body=b"", method="GET", query=sim.query,
                                  headers={k.lower(): v for k, v in sim.headers.items()})
        provider.authenticate(request, account, NOW, 300)
        (event,) = [provider.normalize(r, account) for r in provider.extract(request, account)]
        assert event.type == ("sms.status" if kind == "status" else "sms.inbound")
    with pytest.raises(ValueError, match="signing_key"):
        provider.simulate(Account(id="a", provider="bird"), count=1, seq=1, now=NOW)
