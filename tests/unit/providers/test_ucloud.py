"""UCloud USMS: every sample becomes exactly the expected events."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from dlrhub.providers.base import Account, CallbackRequest, Event, ParseError
from dlrhub.providers.ucloud import provider
from tests.fixtures import sample, seed

ACCOUNT = Account(id="acc_u", provider="ucloud")
# 1563867000 is 2019-07-23 07:30:00 UTC; 1573552778 is 2019-11-12 09:59:38 UTC.
RECEIPT_TIME = datetime(2019, 7, 23, 7, 30, 0, tzinfo=UTC)
REPLY_TIME = datetime(2019, 11, 12, 9, 59, 38, tzinfo=UTC)
USER_ID = "you man c define the content by yrself"


def events(body: bytes) -> list[Event]:
    request = CallbackRequest(body=body, headers={}, content_type="application/json")
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def check_sample_status_reports(got: list[Event]) -> None:
    ok, bad = got
    assert (ok.type, ok.status) == ("sms.status", "delivered")
    assert ok.message_id == "d0****f7-0fc3-****-****-9f73****6c6e"
    assert ok.reference == USER_ID
    # The masked number cannot be parsed and is kept as given.
    assert ok.phone == "185****9057"
    assert ok.provider_status == "Delivrd"
    assert (ok.error_code, ok.error_message) == (None, None)
    assert ok.segments == 2
    assert ok.reported_at == RECEIPT_TIME
    assert ok.submitted_at is None
    assert ok.text is None
    assert ok.raw["ReceiptResult"] == "发送成功"

    assert (bad.type, bad.status) == ("sms.status", "failed")
    assert bad.message_id == "d1****f7-0fc3-****-****-9f73****6c6e"
    assert bad.provider_status == "MSBLACK"
    assert (bad.error_code, bad.error_message) == ("MSBLACK", "手机在运营商防骚扰黑名单")
    assert bad.segments == 2
    assert bad.reported_at == RECEIPT_TIME


def test_status_report_sample_is_one_delivered_and_one_failed_event() -> None:
    check_sample_status_reports(events(sample("ucloud_dlr.json")))


def test_seed_document_sample_parses_the_same() -> None:
    doc = seed("002_feb392e455a20f69.txt")
    body = doc.split("```json")[1].split("```")[0].encode()
    check_sample_status_reports(events(body))


def test_reply_sample_is_two_inbound_events_with_text() -> None:
    first, second = events(sample("ucloud_mo.json"))
    assert (first.type, first.status) == ("sms.inbound", "received")
    assert first.text == "好的，可以了"
    assert first.phone == "185****9057"
    assert first.reference == USER_ID
    assert first.reported_at == REPLY_TIME
    assert first.message_id is None
    assert second.text == "收到，谢谢"
    assert second.raw["ExtendCode"] == "12346"


def test_reply_without_user_id_uses_the_extend_code_and_real_number_becomes_e164() -> None:
    body = orjson.dumps({"MsgType": "0", "Data": [
        {"ExtendCode": "12345", "Phone": "18512349057", "ReplyContent": "TD",
         "ReplyTime": 1573552778},
    ]})
    (event,) = events(body)
    assert event.reference == "12345"
    assert event.phone == "+8618512349057"


@pytest.mark.parametrize(("result", "status"), [
    ("Success", "delivered"),
    ("发送成功", "delivered"),
    ("Fail", "failed"),
    ("状态未知", "unknown"),
    ("Unknow", "unknown"),
    ("Unknown", "unknown"),
    ("Queued", "unknown"),
])
def test_receipt_results_map_to_statuses(result: str, status: str) -> None:
    body = orjson.dumps({"MsgType": "2", "Data": [
        {"SessionNo": "s1", "Phone": "18512349057", "ReceiptResult": result,
         "ReceiptCode": "UNKNOWN", "ReceiptDesc": "no report", "ReceiptTime": 1563867000},
    ]})
    (event,) = events(body)
    assert event.status == status
    if status == "delivered":
        assert event.error_code is None
    else:
        assert (event.error_code, event.error_message) == ("UNKNOWN", "no report")


def test_bare_array_is_read_record_by_record() -> None:
    body = orjson.dumps([
        {"SessionNo": "s1", "Phone": "18512349057", "ReceiptResult": "Success",
         "ReceiptCode": "Delivrd", "ReceiptTime": 1563867000, "CostCount": "1"},
        {"Phone": "18512349057", "ReplyContent": "ok", "ReplyTime": 1573552778},
    ])
    report, reply = events(body)
    assert (report.type, report.status, report.message_id) == ("sms.status", "delivered", "s1")
    assert report.segments == 1
    assert (reply.type, reply.text) == ("sms.inbound", "ok")


@pytest.mark.parametrize(("body", "why"), [
    (b"", "empty"),
    (b"{", "JSON"),
    (b'"text"', "object or an array"),
    (b'{"Data": []}', "MsgType"),
    (b'{"MsgType": 5, "Data": []}', "unknown MsgType 5"),
    (b'{"MsgType": "x", "Data": []}', "MsgType"),
    (b'{"MsgType": true, "Data": []}', "MsgType"),
    (b'{"MsgType": 2}', "Data"),
    (b'{"MsgType": 2, "Data": {}}', "array"),
    (b'{"MsgType": 2, "Data": [1]}', "record 0 must be an object"),
    (b'{"MsgType": 2, "Data": [{"SessionNo": "s", "Phone": "1"}]}', "ReceiptResult"),
    (b'{"MsgType": 0, "Data": [{"Phone": "1"}]}', "ReplyContent"),
    (b'[{"Phone": "1", "ReceiptResult": "Success"}]', "SessionNo"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(body)


def test_bad_time_is_a_parse_error_naming_the_field() -> None:
    body = orjson.dumps({"MsgType": 2, "Data": [
        {"SessionNo": "s1", "Phone": "1", "ReceiptResult": "Success", "ReceiptTime": "soon"},
    ]})
    with pytest.raises(ParseError, match="ReceiptTime"):
        events(body)


def test_answers_are_uclouds_own_forms() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, ok.content_type) == (200, "application/json")
    assert orjson.loads(ok.body) == {"code": 0, "message": "ok"}
    bad = provider.answer(request, None, ok=False, status=400, reason="broken")
    assert bad.status == 400
    assert orjson.loads(bad.body) == {"code": 1, "message": "broken"}


def test_simulated_status_reports_round_trip() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=20, seq=3, now=now)
    assert sim.content_type == "application/json"
    got = events(sim.body)
    assert len(got) == sim.records == 20
    assert {e.status for e in got} == {"delivered", "failed"}
    assert len({e.message_id for e in got}) == 20
    assert all(e.reported_at == now for e in got)
    assert got[0].phone == "+8613800000060"


def test_simulated_replies_round_trip() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=3, seq=1, now=now, kind="inbound")
    got = events(sim.body)
    assert len(got) == sim.records == 3
    assert {e.type for e in got} == {"sms.inbound"}
    assert got[0].text == "reply 1-0"
    assert got[0].reported_at == now
