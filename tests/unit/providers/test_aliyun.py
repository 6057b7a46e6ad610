"""Aliyun SMS: every sample becomes exactly the expected events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from dlrhub.providers.aliyun import provider
from dlrhub.providers.base import Account, CallbackRequest, Event, ParseError
from tests.fixtures import sample, seed

ACCOUNT = Account(id="acc_a", provider="aliyun")
# 2017-01-01 00:00:00 in Asia/Shanghai.
NEW_YEAR = datetime(2016, 12, 31, 16, 0, 0, tzinfo=UTC)


def events(body: bytes) -> list[Event]:
    request = CallbackRequest(body=body, headers={}, content_type="application/json")
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def report(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "phone_number": "13811112222", "send_time": "2017-01-01 00:00:00",
        "report_time": "2017-01-01 00:00:05", "success": False, "err_code": "MK:0001",
        "err_msg": "用户接收失败", "sms_size": "2", "biz_id": "b1", "out_id": "o1",
    }
    record.update(changes)
    return record


def test_report_sample_is_one_delivered_event_in_utc() -> None:
    (event,) = events(sample("aliyun_smsreport.json"))
    assert (event.type, event.status) == ("sms.status", "delivered")
    assert event.message_id == "12345********"
    assert event.reference == "67890**"
    # The masked number cannot be parsed and is kept as given.
    assert event.phone == "1381111****"
    assert event.provider_status == "DELIVERED"
    assert (event.error_code, event.error_message) == (None, None)
    assert event.segments == 1
    assert event.submitted_at == NEW_YEAR
    assert event.reported_at == NEW_YEAR
    assert event.raw["err_msg"] == "用户接收成功"


def test_seed_document_samples_parse() -> None:
    doc = seed("003_3d417b0934fd974c.txt")
    blocks = [part.split("```")[0] for part in doc.split("```http")[1:]]
    ali = [b for b in blocks if "phone_number" in b]
    assert len(ali) == 2
    for block in ali:
        body = block.split("\n\n", 1)[1].encode()
        (event,) = events(body)
        assert (event.status, event.message_id, event.reference) == ("delivered", "12345",
                                                                      "67890")
        assert event.phone == "1381111****"
        assert event.reported_at == NEW_YEAR


def test_failed_report_keeps_code_and_message_and_real_number_becomes_e164() -> None:
    (event,) = events(orjson.dumps([report()]))
    assert event.status == "failed"
    assert event.provider_status == "MK:0001"
    assert (event.error_code, event.error_message) == ("MK:0001", "用户接收失败")
    assert event.phone == "+8613811112222"
    assert event.segments == 2
    assert event.submitted_at == NEW_YEAR
    assert event.reported_at == datetime(2016, 12, 31, 16, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(("success", "status"), [
    ("true", "delivered"), ("false", "failed"), ("TRUE", "delivered"),
])
def test_success_as_a_string_is_accepted(success: str, status: str) -> None:
    (event,) = events(orjson.dumps([report(success=success)]))
    assert event.status == status


def test_send_message_variant_keeps_biz_id_as_the_message_id() -> None:
    record = report(success=True, err_code="DELIVERED", message_id="m-9",
                    request_id="r-1", sign_name="dlrhub", template_code="SMS_1")
    (event,) = events(orjson.dumps([record]))
    assert event.message_id == "b1"
    assert event.raw["message_id"] == "m-9"
    assert event.raw["template_code"] == "SMS_1"


def test_reply_sample_is_an_inbound_event() -> None:
    (event,) = events(sample("aliyun_smsup.json"))
    assert (event.type, event.status) == ("sms.inbound", "received")
    assert event.text == "内容"
    assert event.phone == "1381111****"
    assert event.message_id == "1234567890"
    assert event.reference is None
    # 2017-09-01 00:00:00 in Asia/Shanghai.
    assert event.reported_at == datetime(2017, 8, 31, 16, 0, 0, tzinfo=UTC)
    assert (event.raw["sign_name"], event.raw["dest_code"]) == ("签名", "1234")


def test_international_report_sample_is_delivered_in_utc() -> None:
    (event,) = events(sample("aliyun_intl_smsreport.json"))
    assert (event.type, event.status) == ("sms.status", "delivered")
    assert event.message_id == "123450000****"
    assert event.phone == "8521111****"
    assert event.provider_status == "1"
    assert (event.error_code, event.error_message) == (None, None)
    assert event.segments == 2
    assert event.reference is None
    assert event.submitted_at == datetime(2021, 11, 25, 2, 25, 0, tzinfo=UTC)
    assert event.reported_at == datetime(2021, 11, 25, 2, 25, 33, tzinfo=UTC)
    assert event.raw["TaskId"] == "67890"


@pytest.mark.parametrize(("code", "status"), [
    ("1", "delivered"), ("2", "failed"), ("6", "expired"), ("9", "unknown"),
])
def test_international_statuses_and_numbers_with_country_code(code: str, status: str) -> None:
    record = {"To": "85261234567", "Status": code, "MessageId": "m1", "ErrorCode": "E1",
              "ErrorDescription": "gone", "SendDate": "Thu, 25 Nov 2021 10:25:00 +0000"}
    (event,) = events(orjson.dumps([record]))
    assert event.status == status
    assert event.phone == "+85261234567"
    assert event.submitted_at == datetime(2021, 11, 25, 10, 25, 0, tzinfo=UTC)
    if status == "delivered":
        assert event.error_code is None
    else:
        assert (event.error_code, event.error_message) == ("E1", "gone")


def test_mixed_batch_keeps_the_order_of_records() -> None:
    body = b"[" + b",".join([sample("aliyun_smsreport.json").strip()[1:-1],
                             sample("aliyun_smsup.json").strip()[1:-1],
                             sample("aliyun_intl_smsreport.json").strip()[1:-1]]) + b"]"
    got = events(body)
    assert [(e.type, e.message_id) for e in got] == [
        ("sms.status", "12345********"),
        ("sms.inbound", "1234567890"),
        ("sms.status", "123450000****"),
    ]


@pytest.mark.parametrize(("body", "why"), [
    (b"", "empty"),
    (b"[", "JSON"),
    (b'{"success": true}', "array"),
    (b"[1]", "record 0 must be an object"),
    (b'[{"phone_number": "1"}]', "record 0 is neither"),
    (orjson.dumps([report(), {"foo": 1}]), "record 1 is neither"),
    (b'[{"success": true, "phone_number": "1"}]', "biz_id"),
    (b'[{"success": "yes", "phone_number": "1", "biz_id": "b"}]', "success"),
    (b'[{"success": 1, "phone_number": "1", "biz_id": "b"}]', "success"),
    (b'[{"content": "hi"}]', "phone_number"),
    (b'[{"Status": "1", "MessageId": "m"}]', "To"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(body)


@pytest.mark.parametrize(("record", "why"), [
    (report(send_time="2017/01/01"), "send_time"),
    (report(sms_size="two"), "sms_size"),
    ({"To": "1", "Status": "1", "MessageId": "m", "ReceiveDate": "yesterday"}, "ReceiveDate"),
])
def test_bad_values_are_parse_errors_naming_the_field(record: dict[str, Any], why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(orjson.dumps([record]))


def test_answers_are_aliyuns_own_forms() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, ok.content_type) == (200, "application/json")
    assert orjson.loads(ok.body) == orjson.loads(sample("aliyun_ack.json"))
    assert orjson.loads(ok.body) == {"code": 0, "msg": "接收成功"}
    bad = provider.answer(request, None, ok=False, status=503, reason="storage down")
    assert bad.status == 503
    assert orjson.loads(bad.body) == {"code": 1, "msg": "storage down"}


@pytest.mark.parametrize("kind", ["status", "intl"])
def test_simulated_reports_round_trip(kind: str) -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=20, seq=3, now=now, kind=kind)
    assert sim.content_type == "application/json"
    got = events(sim.body)
    assert len(got) == sim.records == 20
    assert {e.status for e in got} == {"delivered", "failed"}
    assert len({e.message_id for e in got}) == 20
    assert all(e.reported_at == now and e.submitted_at == now for e in got)
    assert got[0].phone == ("+8613800000060" if kind == "status" else "+85200000060")


def test_simulated_replies_round_trip() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=2, seq=1, now=now, kind="inbound")
    got = events(sim.body)
    assert len(got) == sim.records == 2
    assert [e.text for e in got] == ["reply 1-0", "reply 1-1"]
    assert all(e.type == "sms.inbound" and e.reported_at == now for e in got)
