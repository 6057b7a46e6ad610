"""CloOpen: every sample, JSON and XML, becomes exactly the expected events."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from dlrhub.providers.base import Account, CallbackRequest, Event, ParseError
from dlrhub.providers.cloopen import provider
from tests.fixtures import sample, seed

ACCOUNT = Account(id="acc_c", provider="cloopen")
# 20130923010000 in Asia/Shanghai.
SENT = datetime(2013, 9, 22, 17, 0, 0, tzinfo=UTC)
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def events(body: bytes, content_type: str = "",
           account: Account = ACCOUNT) -> list[Event]:
    request = CallbackRequest(body=body, headers={}, content_type=content_type)
    return [provider.normalize(r, account) for r in provider.extract(request, account)]


def check_json_sample(event: Event) -> None:
    assert (event.type, event.status) == ("sms.status", "delivered")
    assert event.message_id == "4121908f3d1b4edb9210f0eb4742f62c"
    assert event.reference == "123"
    assert event.phone == "+8613912345678"
    assert event.provider_status == "DELIVRD"
    assert (event.error_code, event.error_message) == (None, None)
    assert event.segments == 2
    assert event.submitted_at == SENT
    assert event.reported_at == datetime(2013, 9, 22, 17, 0, 10, tzinfo=UTC)
    assert event.raw["spCode"] == "10690876"


@pytest.mark.parametrize("content_type", ["application/json",
                                          "application/json; charset=utf-8", ""])
def test_json_sample_is_one_delivered_event(content_type: str) -> None:
    (event,) = events(sample("cloopen_dlr_json.json"), content_type)
    check_json_sample(event)


def test_seed_document_sample_without_content_type_is_sniffed_as_json() -> None:
    doc = seed("003_3d417b0934fd974c.txt")
    block = doc.split("> CloOpen")[1].split("```http")[1].split("```")[0]
    body = block.split("\n\n", 1)[1].encode()
    (event,) = events(body)
    check_json_sample(event)


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=UTF-8", ""])
def test_xml_sample_is_one_delivered_event(content_type: str) -> None:
    (event,) = events(sample("cloopen_dlr_xml.txt"), content_type)
    assert (event.type, event.status) == ("sms.status", "delivered")
    # The third-party sample has a placeholder for the smsMessageSid.
    assert event.message_id == "smsMessageSid"
    assert event.phone == "+8613912345678"
    # No deliverCode in this sample: the status code stands in for it.
    assert event.provider_status == "0"
    assert event.error_code is None
    assert event.segments is None
    # appendCode is the signature's extension, not the sender's id; there is no reqId.
    assert event.reference is None
    assert event.submitted_at == SENT
    assert event.reported_at == datetime(2013, 9, 22, 17, 1, 1, tzinfo=UTC)
    assert event.raw["appendCode"] == "12345"
    assert event.raw["apiVersion"] == "2013-12-26"


def test_failed_report_uses_the_deliver_code() -> None:
    body = orjson.dumps({"Request": {
        "action": "SMSArrived", "smsType": "1", "content": "sid1", "fromNum": "13912345678",
        "status": "1", "deliverCode": "MK:0001", "recvTime": "20240101000000",
    }})
    (event,) = events(body, "application/json")
    assert event.status == "failed"
    assert (event.provider_status, event.error_code) == ("MK:0001", "MK:0001")
    assert event.reported_at == datetime(2023, 12, 31, 16, 0, 0, tzinfo=UTC)


def test_failed_report_without_deliver_code_uses_the_status() -> None:
    body = (b"<Request><action>SMSArrived</action><smsType>1</smsType><content>sid2</content>"
            b"<fromNum>13912345678</fromNum><status>-1</status></Request>")
    (event,) = events(body, "application/xml")
    assert (event.status, event.provider_status, event.error_code) == ("failed", "-1", "-1")


@pytest.mark.parametrize("content_type", ["application/json", "application/xml"])
def test_reply_is_an_inbound_event(content_type: str) -> None:
    fields = {"action": "SMSArrived", "smsType": "0", "content": "好的 TD",
              "fromNum": "13912345678", "recvTime": "20130923010101",
              "appendCode": "12345", "subAppend": "77"}
    if content_type == "application/json":
        body = orjson.dumps({"Request": fields})
    else:
        body = ("<Request>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
                + "</Request>").encode()
    (event,) = events(body, content_type)
    assert (event.type, event.status) == ("sms.inbound", "received")
    assert event.text == "好的 TD"
    assert event.phone == "+8613912345678"
    assert event.reference == "77"
    assert event.message_id is None
    assert event.reported_at == datetime(2013, 9, 22, 17, 1, 1, tzinfo=UTC)


def test_reply_without_sub_append_uses_the_append_code() -> None:
    body = orjson.dumps({"Request": {"action": "SMSArrived", "smsType": 0, "content": "hi",
                                     "fromNum": "13912345678", "appendCode": "12345"}})
    (event,) = events(body)
    assert event.reference == "12345"


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Request><action>SMSArrived</action><smsType>0</smsType><fromNum>1</fromNum>
<content>&lol2;</content></Request>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Request><action>SMSArrived</action><smsType>0</smsType><fromNum>1</fromNum>
<content>&x;</content></Request>"""


@pytest.mark.parametrize("body", [BOMB, EXTERNAL, b'<!DOCTYPE Request><Request/>'])
def test_xml_with_a_doctype_or_entities_is_refused(body: bytes) -> None:
    with pytest.raises(ParseError, match="not valid XML"):
        events(body, "application/xml")


@pytest.mark.parametrize(("body", "content_type", "why"), [
    (b"", "application/json", "empty"),
    (b"  ", "application/xml", "empty"),
    (b"{", "application/json", "JSON"),
    (b"<Request><action>", "application/xml", "not valid XML"),
    (b"<Request", "", "not valid XML"),
    (b"[]", "", "the body must be an object"),
    (b'{"request": {}}', "", "'Request' is missing"),
    (b'{"Request": []}', "", "'Request' must be an object"),
    (b"<Response><statuscode>0</statuscode></Response>", "", "<Request>"),
    (b'{"Request": {"smsType": "1"}}', "", "'action' is missing"),
    (b'{"Request": {"action": "CallAuth", "smsType": "1"}}', "", "unknown action 'CallAuth'"),
    (b'{"Request": {"action": "SMSArrived", "smsType": "2"}}', "", "unknown smsType '2'"),
    (b'{"Request": {"action": "SMSArrived", "smsType": "1", "content": "s", "fromNum": "1"}}',
     "", "'status' is missing"),
    (b'{"Request": {"action": "SMSArrived", "smsType": "0", "content": "hi"}}',
     "", "'fromNum' is missing"),
    (b"<Request><action>SMSArrived</action><smsType>1</smsType><content/>"
     b"<fromNum>1</fromNum><status>0</status></Request>", "", "'content' is blank"),
    (b'{"Request": {"action": "SMSArrived", "smsType": "1", "content": "s", "fromNum": "1",'
     b' "status": "0", "recvTime": "2013-09-23"}}', "", "recvTime"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(
        body: bytes, content_type: str, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(body, content_type)


def with_answer(value: str | None) -> Account:
    options = {} if value is None else {"answer": value}
    return Account(id="acc_c", provider="cloopen", options=options)


JSON_REQUEST = CallbackRequest(body=sample("cloopen_dlr_json.json"), headers={},
                               content_type="application/json")
XML_REQUEST = CallbackRequest(body=sample("cloopen_dlr_xml.txt"), headers={},
                              content_type="application/xml")
SNIFFED_XML = CallbackRequest(body=b"  " + sample("cloopen_dlr_xml.txt"), headers={})


def test_option_is_declared_with_auto_as_default() -> None:
    option = provider.options["answer"]
    assert option.default == "auto"
    assert option.choices == ("auto", "xml", "json", "empty")
    assert option.help


@pytest.mark.parametrize("account", [with_answer(None), with_answer("auto"), None])
def test_auto_answers_xml_to_xml_and_json_to_json(account: Account | None) -> None:
    for request in (XML_REQUEST, SNIFFED_XML):
        ok = provider.answer(request, account, ok=True)
        assert (ok.status, ok.content_type) == (200, "application/xml")
        assert ok.body == sample("cloopen_ack_xml.txt").strip()
    ok = provider.answer(JSON_REQUEST, account, ok=True)
    assert (ok.status, ok.content_type) == (200, "application/json")
    assert orjson.loads(ok.body) == {"statusCode": "000000"}


def test_forced_forms_ignore_the_request_form() -> None:
    xml = provider.answer(JSON_REQUEST, with_answer("xml"), ok=True)
    assert xml.body == f"{XML_HEAD}<Response><statuscode>000000</statuscode></Response>".encode()
    json = provider.answer(XML_REQUEST, with_answer("json"), ok=True)
    assert orjson.loads(json.body) == {"statusCode": "000000"}
    empty = provider.answer(XML_REQUEST, with_answer("empty"), ok=True)
    assert (empty.status, empty.body) == (200, b"")


def test_failures_carry_a_non_zero_code_and_the_reason() -> None:
    bad = provider.answer(XML_REQUEST, with_answer("auto"), ok=False, status=400,
                          reason="field 'status' is <missing> & more")
    assert (bad.status, bad.content_type) == (400, "application/xml")
    assert bad.body.decode() == (
        f"{XML_HEAD}<Response><statuscode>111111</statuscode>"
        "<statusmsg>field 'status' is &lt;missing&gt; &amp; more</statusmsg></Response>")
    bad = provider.answer(JSON_REQUEST, with_answer("json"), ok=False, status=503,
                          reason="storage down")
    assert bad.status == 503
    assert orjson.loads(bad.body) == {"statusCode": "111111", "statusMsg": "storage down"}
    # "empty" only says how to acknowledge; a failure still says why, in the request's form.
    bad = provider.answer(JSON_REQUEST, with_answer("empty"), ok=False, status=400,
                          reason="broken")
    assert (bad.status, orjson.loads(bad.body)) == (400, {"statusCode": "111111",
                                                          "statusMsg": "broken"})


def test_unknown_option_value_falls_back_to_auto() -> None:
    ok = provider.answer(XML_REQUEST, with_answer("yaml"), ok=True)
    assert ok.content_type == "application/xml"


def test_simulated_status_reports_round_trip_one_record_each() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    got: list[Event] = []
    for seq in range(20):
        sim = provider.simulate(ACCOUNT, count=5, seq=seq, now=now)
        assert (sim.records, sim.content_type) == (1, "application/json")
        got += events(sim.body, sim.content_type)
    assert len(got) == 20
    assert {e.status for e in got} == {"delivered", "failed"}
    assert len({e.message_id for e in got}) == 20
    assert all(e.reported_at == now and e.submitted_at == now for e in got)
    assert got[3].phone == "+8613800000003"


def test_simulated_xml_account_gets_xml_and_replies_round_trip() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    account = with_answer("xml")
    sim = provider.simulate(account, count=1, seq=4, now=now, kind="inbound")
    assert sim.content_type == "application/xml"
    assert sim.body.startswith(b"<?xml")
    (event,) = events(sim.body, sim.content_type, account)
    assert (event.type, event.text, event.reported_at) == ("sms.inbound", "reply 4", now)
    sim = provider.simulate(ACCOUNT, count=1, seq=4, now=now, kind="inbound")
    (event,) = events(sim.body, sim.content_type)
    assert (event.type, event.text) == ("sms.inbound", "reply 4")


@pytest.mark.parametrize("encoding", ["x-unknown", "hex", "rot13", "base64", "mbcs"])
def test_an_unusable_xml_encoding_is_a_parse_error(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?><Request/>'.encode()
    with pytest.raises(ParseError, match="encoding"):
        events(body, "application/xml")


def test_a_time_utc_cannot_hold_is_a_parse_error() -> None:
    body = orjson.loads(sample("cloopen_dlr_json.json"))
    body["Request"]["dateSent"] = "00010101000000"  # 8 h before year 1 in UTC
    with pytest.raises(ParseError, match="dateSent"):
        events(orjson.dumps(body), "application/json")


def test_a_json_body_with_a_utf8_bom_is_read() -> None:
    (event,) = events(b"\xef\xbb\xbf" + sample("cloopen_dlr_json.json"), "application/json")
    check_json_sample(event)
