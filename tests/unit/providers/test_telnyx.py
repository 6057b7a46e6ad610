"""Telnyx: Ed25519 over ``timestamp|body``, one event per recipient, the status map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.telnyx import (
    SIMULATOR_PUBLIC_KEY,
    SIMULATOR_SEED,
    provider,
    seed_public_key,
    sign,
)
from dlrhub.services.insight.reasons import classify
from tests.fixtures import sample

JSON = "application/json"
# wave2-vectors.out: RFC 8032 test 1's key, our body and timestamp.
VECTOR_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
VECTOR_TS = "1700000000"
VECTOR_BODY = (b'{"data":{"event_type":"message.finalized",'
               b'"id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"}}')
VECTOR_SIG = ("STNOPf93DazYw4XnVt/oBxb4mh9JPIz2pERmOBdIfi7ITS40JDuZSoZYf8D5l8oSwBl5tEPry1KLaR/"
              "mh5N8BA==")
OTHER_SEED = bytes(range(32))
NOW = datetime(2026, 3, 4, 5, 6, 30, tzinfo=UTC)
ACCOUNT = Account(id="acc_x", provider="telnyx", credentials={"public_key": VECTOR_KEY},
                  timezone=ZoneInfo("UTC"), default_region=None)


def vectors() -> dict[str, str]:
    out = {}
    for line in sample("wave2-vectors.out").decode().splitlines():
        name, value, _ok = (part.strip(" '") for part in line.strip("()").split(", "))
        out[name] = value
    return out


def signed(body: bytes, *, at: datetime = NOW, seed: bytes = SIMULATOR_SEED,
           **headers: str) -> CallbackRequest:
    ts = str(int(at.timestamp()))
    base = {"telnyx-timestamp": ts, "telnyx-signature-ed25519": sign(seed, ts, body)}
    base |= {k.replace("_", "-"): v for k, v in headers.items()}
    return CallbackRequest(body=body, headers=base, content_type=JSON)


def events(request: CallbackRequest) -> list[Event]:
    provider.authenticate(request, ACCOUNT, NOW, 300)
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def finalized(**to: str) -> bytes:
    doc = orjson.loads(sample("telnyx_message_finalized.json"))
    doc["data"]["payload"]["to"][0] |= to
    return orjson.dumps(doc)


def test_the_vector_of_rfc_8032s_key() -> None:
    got = vectors()
    assert got["telnyx_pubkey_b64"] == VECTOR_KEY == SIMULATOR_PUBLIC_KEY
    assert got["telnyx_sig_b64"] == VECTOR_SIG
    assert seed_public_key(SIMULATOR_SEED) == VECTOR_KEY
    assert sign(SIMULATOR_SEED, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    request = CallbackRequest(body=VECTOR_BODY, content_type=JSON, headers={
        "telnyx-timestamp": VECTOR_TS, "telnyx-signature-ed25519": VECTOR_SIG})
    provider.authenticate(request, ACCOUNT, datetime.fromtimestamp(1700000000, UTC), 300)


def test_the_sample_becomes_one_filtered_failure() -> None:
    (event,) = events(signed(sample("telnyx_message_finalized.json").strip()))
    assert (event.type, event.status, event.provider_status) == (
        "sms.status", "failed", "delivery_failed")
    assert event.message_id == "40385f64-5717-4562-b3fc-2c963f66afa6"
    assert event.phone == "+13125550123"
    assert (event.error_code, event.segments) == ("40002", 1)
    assert event.error_message == "The message was blocked by the carrier's spam filter."
    assert event.submitted_at == datetime(2026, 3, 4, 5, 6, 2, tzinfo=UTC)
    assert event.reported_at == datetime(2026, 3, 4, 5, 6, 9, tzinfo=UTC)
    # The event's id and time: what tells a retry from a new event.
    assert event.raw["id"] == "4ee8c3a6-4995-4309-a3c6-38e3db9ea4be"
    assert event.raw["occurred_at"] == "2026-03-04T05:06:09.123456+00:00"
    assert classify("telnyx", event.status, event.error_code).reason_class == "content_blocked"


@pytest.mark.parametrize(("status", "expected"), [
    ("queued", "pending"), ("sending", "pending"), ("sent", "pending"),
    ("delivered", "delivered"), ("sending_failed", "failed"), ("delivery_failed", "failed"),
    ("delivery_unconfirmed", "unknown"), ("expired", "expired"), ("something_new", "pending"),
])
def test_status_map(status: str, expected: str) -> None:
    (event,) = events(signed(finalized(status=status)))
    assert event.status == expected
    assert event.error_code == (None if expected in ("pending", "delivered") else "40002")


def test_every_recipient_of_a_group_message_gets_its_event() -> None:
    doc = orjson.loads(sample("telnyx_message_finalized.json"))
    doc["data"]["payload"]["to"].append({"phone_number": "+13125550124",
                                         "status": "delivered"})
    got = events(signed(orjson.dumps(doc)))
    assert [(e.phone, e.status) for e in got] == [("+13125550123", "failed"),
                                                   ("+13125550124", "delivered")]


def test_an_inbound_message_and_other_event_types() -> None:
    doc = {"data": {"event_type": "message.received", "id": "e1",
                    "occurred_at": "2026-03-04T05:06:07Z",
                    "payload": {"id": "m1", "from": {"phone_number": "+13125550123"},
                                "to": [{"phone_number": "+13125550100"}], "text": "YES",
                                "parts": 1}}}
    (event,) = events(signed(orjson.dumps(doc)))
    assert (event.type, event.message_id, event.phone, event.text, event.reported_at) == (
        "sms.inbound", "m1", "+13125550123", "YES", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    other = {"data": {"event_type": "number_order.complete", "id": "e2", "payload": {}}}
    assert events(signed(orjson.dumps(other))) == []


@pytest.mark.parametrize(("headers", "at", "why"), [
    ({"telnyx_signature_ed25519": VECTOR_SIG}, NOW, "does not match"),
    ({"telnyx_signature_ed25519": "not base64!"}, NOW, "does not match"),
    ({"telnyx_signature_ed25519": ""}, NOW, "missing"),
    ({"telnyx_timestamp": "soon"}, NOW, "telnyx-timestamp"),
    ({}, NOW - timedelta(seconds=301), "300s"),
    ({}, NOW + timedelta(seconds=301), "300s"),
])
def test_bad_or_stale_signatures_are_refused(headers: dict[str, str], at: datetime,
                                             why: str) -> None:
    request = signed(sample("telnyx_message_finalized.json"), at=at, **headers)
    with pytest.raises(AuthError, match=why):
        provider.authenticate(request, ACCOUNT, NOW, 300)


def test_a_tampered_body_or_timestamp_or_another_key_is_refused() -> None:
    good = signed(finalized())
    for request in (
        CallbackRequest(body=finalized(status="delivered"), headers=good.headers),
        CallbackRequest(body=good.body, headers={
            **good.headers, "telnyx-timestamp": str(int(NOW.timestamp()) + 1)}),
        signed(finalized(), seed=OTHER_SEED),
    ):
        with pytest.raises(AuthError, match="does not match"):
            provider.authenticate(request, ACCOUNT, NOW, 300)


def test_an_account_key_that_is_no_key_is_refused_not_a_crash() -> None:
    for bad in ("not-base64", "AAAA"):
        account = Account(id="a", provider="telnyx", credentials={"public_key": bad})
        with pytest.raises(AuthError, match="public_key"):
            provider.authenticate(signed(finalized()), account, NOW, 300)


@pytest.mark.parametrize("body", [
    b"{}", b'{"data":[]}', b'{"data":{"event_type":"message.finalized"}}',
    b'{"data":{"event_type":"message.finalized","payload":{"id":"m","to":[]}}}',
    b'{"data":{"event_type":"message.finalized","payload":{"id":"m","to":[{"status":"sent"}]}}}',
    b'{"data":{"event_type":"message.received","payload":{"id":"m","from":"+1"}}}',
])
def test_bodies_missing_what_telnyx_sends_are_400(body: bytes) -> None:
    with pytest.raises(ParseError):
        provider.extract(CallbackRequest(body=body, headers={}, content_type=JSON), ACCOUNT)


def test_simulation_needs_the_simulators_key() -> None:
    sim = provider.simulate(ACCOUNT, count=3, seq=9, now=NOW)
    request = CallbackRequest(body=sim.body, content_type=sim.content_type,
                              headers=dict(sim.headers))
    (event,) = events(request)
    assert (event.status, event.error_code, sim.records) == ("failed", "40008", 1)
    inbound = provider.simulate(ACCOUNT, count=1, seq=2, now=NOW, kind="inbound")
    assert events(CallbackRequest(body=inbound.body, headers=dict(inbound.headers),
                                  content_type=JSON))[0].type == "sms.inbound"
    real = Account(id="a", provider="telnyx",
                   credentials={"public_key": seed_public_key(OTHER_SEED)})
    with pytest.raises(ValueError, match="simulator"):
        provider.simulate(real, count=1, seq=1, now=NOW)


def test_answers() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, orjson.loads(ok.body)) == (200, {"status": "ok"})
    bad = provider.answer(request, ACCOUNT, ok=False, status=401, reason="why")
    assert (bad.status, orjson.loads(bad.body)) == (401, {"status": "error", "reason": "why"})
