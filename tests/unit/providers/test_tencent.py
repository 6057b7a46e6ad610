"""Tencent Cloud SMS: every sample becomes exactly the expected events."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from dlrhub.providers.base import Account, CallbackRequest, ParseError
from dlrhub.providers.tencent import provider
from tests.fixtures import sample, seed

ACCOUNT = Account(id="acc_t", provider="tencent")


def events(body: bytes) -> list:
    request = CallbackRequest(body=body, headers={}, content_type="application/json")
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def test_status_report_sample_is_one_delivered_event_in_utc() -> None:
    (event,) = events(sample("tencent_dlr_v2.json"))
    assert event.type == "sms.status"
    assert event.status == "delivered"
    assert event.message_id == "xxxxxxx"
    assert event.provider_status == "DELIVRD"
    assert event.error_code is None
    # 08:03:04 in Asia/Shanghai is 00:03:04 UTC.
    assert event.reported_at == datetime(2015, 10, 17, 0, 3, 4, tzinfo=UTC)
    # The masked number cannot be parsed and is kept as given.
    assert event.phone == "13xxxxxxxxx"


def test_seed_document_sample_parses() -> None:
    doc = seed("000_3e68b1973ff21b1c.txt")
    body = doc.split("```json")[1].split("```")[0].encode()
    (event,) = events(body)
    assert event.status == "delivered"
    assert event.message_id == "xxxxxxx"


def test_the_japanese_pages_english_sample_is_the_same_report() -> None:
    doc = seed("001_105049233a113fb9.txt")
    body = doc.split("Sample request:")[1].split("Response Parameters")[0].encode()
    (event,) = events(body)
    assert (event.type, event.status, event.message_id) == ("sms.status", "delivered",
                                                            "xxxxxxx")
    assert (event.provider_status, event.error_code) == ("DELIVRD", None)
    assert event.reported_at == datetime(2015, 10, 17, 0, 3, 4, tzinfo=UTC)
    assert event.phone == "13xxxxxxxxx"


def test_ext_is_the_reference() -> None:
    (event,) = events(sample("tencent_dlr_v3_with_ext.json"))
    assert event.reference is not None
    assert event.reference.startswith("<SessionContext")


def test_failure_keeps_code_and_description_and_real_number_becomes_e164() -> None:
    body = orjson.dumps([{
        "user_receive_time": "2024-01-02 03:04:05", "nationcode": "852", "mobile": "61234567",
        "report_status": "FAIL", "errmsg": "MK:0001", "description": "blocked", "sid": "s1",
    }])
    (event,) = events(body)
    assert (event.status, event.error_code, event.error_message) == ("failed", "MK:0001",
                                                                      "blocked")
    assert event.phone == "+85261234567"


@pytest.mark.parametrize("name", ["tencent_mo_reply.json", "tencent_mo_legacy_intl.json"])
def test_replies_are_inbound_events_with_text(name: str) -> None:
    (event,) = events(sample(name))
    assert event.type == "sms.inbound"
    assert event.status == "received"
    assert event.text == "用户回复的内容"
    assert event.reported_at == datetime.fromtimestamp(1457336869, UTC)


@pytest.mark.parametrize(("body", "why"), [
    (b"", "empty"),
    (b"[1]", "object"),
    (b'[{"sid": "1"}]', "mobile"),
    (b'"text"', "array"),
    (b"{", "JSON"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(body)


def test_answers_are_tencents_own_forms() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, orjson.loads(ok.body)) == (200, {"result": 0, "errmsg": "OK"})
    bad = provider.answer(request, ACCOUNT, ok=False, status=400, reason="broken")
    assert bad.status == 400
    assert orjson.loads(bad.body) == {"result": 1, "errmsg": "broken"}


def test_simulated_callbacks_round_trip() -> None:
    sim = provider.simulate(ACCOUNT, count=20, seq=3, now=datetime.now(UTC))
    got = events(sim.body)
    assert len(got) == sim.records == 20
    assert {e.status for e in got} == {"delivered", "failed"}
