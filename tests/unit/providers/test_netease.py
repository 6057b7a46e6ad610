"""NetEase Yunxin SMS: samples become the expected events; CheckSum is verified."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.netease import checksum, provider
from tests.fixtures import sample, seed

SECRET = "demoAppSecret"
ACCOUNT = Account(id="acc_n", provider="netease",
                  credentials={"app_key": "demoAppKey", "app_secret": SECRET})
CUR_TIME = "1440570500855"
NOW = datetime.fromtimestamp(1440570500, UTC)
VECTOR_MD5 = "5c36f9159841dd9ab455fbe2eda6fb9f"
VECTOR_CHECKSUM = "3817c56078442171a3eeaba07b3b233a2992f470"
SEED_MD5 = "2d35ef62d088aa6a176ab5e92e30a967"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def vector_body() -> bytes:
    """Return the body of our self-computed vector (the second `# body=` line)."""
    lines = sample("netease_signature_vector_partial.txt").decode().splitlines()
    return next(line for line in lines if line.startswith("# body=")).removeprefix(
        "# body=").encode()


def lsys_body() -> bytes:
    """Return the exact lsys test body (the line after its `# body (exact bytes` note)."""
    lines = sample("netease_signature_vector_partial.txt").decode().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("# body (exact"))
    return lines[index + 1].encode()


def seed_request() -> CallbackRequest:
    doc = seed("003_3d417b0934fd974c.txt")
    block = doc.split("> NetEase云短信回调")[1].split("```http")[1].split("```")[0]
    head, body = block.strip().split("\n\n", 1)
    headers = {}
    for line in head.splitlines()[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return CallbackRequest(body=body.strip().encode(), headers=headers,
                           content_type="application/json")


def signed(body: bytes, **headers: str) -> CallbackRequest:
    base = {"appkey": "demoAppKey", "curtime": CUR_TIME,
            "md5": md5(body), "checksum": VECTOR_CHECKSUM}
    base.update({k.lower(): v for k, v in headers.items()})
    return CallbackRequest(body=body, headers=base, content_type="application/json")


def events(body: bytes) -> list[Event]:
    request = CallbackRequest(body=body, headers={}, content_type="application/json")
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def test_receipt_sample_is_two_delivered_events_in_utc() -> None:
    first, second = events(sample("netease_dlr.json"))
    assert first.type == second.type == "sms.status"
    assert first.status == second.status == "delivered"
    assert (first.message_id, second.message_id) == ("1490", "1491")
    assert first.phone == second.phone == "+8612345678945"
    assert (first.segments, second.segments) == (1, 2)
    assert first.provider_status == "DELIVRD"
    assert (first.error_code, first.error_message, first.reference) == (None, None, None)
    # 14:40:45 in Asia/Shanghai is 06:40:45 UTC.
    assert first.submitted_at == datetime(2017, 6, 2, 6, 40, 45, tzinfo=UTC)
    assert first.reported_at == datetime(2017, 6, 6, 2, 40, 30, tzinfo=UTC)
    assert second.submitted_at == datetime(2017, 6, 2, 6, 41, 0, tzinfo=UTC)
    # The sample reports the second receipt before it was sent; kept as given.
    assert second.reported_at == datetime(2017, 6, 2, 2, 41, 20, tzinfo=UTC)
    assert first.raw["templateId"] == 1234


def test_seed_document_sample_parses() -> None:
    request = seed_request()
    got = [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]
    assert [(e.message_id, e.status, e.segments) for e in got] == [
        ("1490", "delivered", 1), ("1491", "delivered", 2)]


def test_seed_md5_header_belongs_to_the_lsys_body_not_the_seed_body() -> None:
    request = seed_request()
    assert request.header("MD5") == SEED_MD5
    # The seed dropped the space after the opening brace of lsys's test body.
    assert lsys_body() == b"{ " + request.body[1:]
    assert md5(lsys_body()) == SEED_MD5
    assert md5(request.body) != SEED_MD5


def test_seed_headers_do_not_authenticate() -> None:
    request = seed_request()
    with_key = CallbackRequest(body=request.body,
                               headers=dict(request.headers) | {"appkey": "demoAppKey"})
    # Its CurTime is a date, not a Unix time.
    with pytest.raises(AuthError, match="CurTime"):
        provider.authenticate(with_key, ACCOUNT, NOW, 300)
    fresh = CallbackRequest(body=request.body,
                            headers=dict(with_key.headers) | {"curtime": CUR_TIME})
    # Its MD5 is of another body (see above).
    with pytest.raises(AuthError, match="MD5"):
        provider.authenticate(fresh, ACCOUNT, NOW, 300)


def test_lsys_body_authenticates_when_signed_with_a_known_secret() -> None:
    request = signed(lsys_body(), checksum=checksum(SECRET, SEED_MD5, CUR_TIME))
    assert request.header("md5") == SEED_MD5
    provider.authenticate(request, ACCOUNT, NOW, 300)
    # lsys's published CheckSum is for a redacted secret; ours is reproducible.
    assert checksum("f8b2f7500000", SEED_MD5, "2017-06-02 14:40:45") == (
        "b2a2390cdcba26a1dc6b7d8bd99b9e095681d325")


def test_self_computed_vector() -> None:
    body = vector_body()
    assert md5(body) == VECTOR_MD5
    assert checksum(SECRET, VECTOR_MD5, CUR_TIME) == VECTOR_CHECKSUM
    provider.authenticate(signed(body), ACCOUNT, NOW, 300)


def test_vector_passes_with_upper_case_digests() -> None:
    request = signed(vector_body(), md5=VECTOR_MD5.upper(),
                     checksum=checksum(SECRET, VECTOR_MD5.upper(), CUR_TIME).upper())
    provider.authenticate(request, ACCOUNT, NOW, 300)


def test_seconds_cur_time_is_accepted() -> None:
    request = signed(vector_body(), curtime="1440570500",
                     checksum=checksum(SECRET, VECTOR_MD5, "1440570500"))
    provider.authenticate(request, ACCOUNT, NOW, 300)


@pytest.mark.parametrize(("body", "headers", "why"), [
    (b'{"eventType":11,"objects":[]}', {}, "MD5 header is not"),
    (None, {"checksum": "0" * 40}, "CheckSum"),
    (None, {"md5": "0" * 32}, "MD5 header is not"),
    (None, {"curtime": "1440570500856"}, "CheckSum"),
    (None, {"appkey": "otherKey"}, "AppKey"),
    (None, {"curtime": "soon"}, "CurTime"),
])
def test_each_tampered_part_fails(body: bytes | None, headers: dict[str, str],
                                  why: str) -> None:
    request = signed(vector_body(), **headers)
    if body is not None:
        # A new body under the vector's own MD5 and CheckSum.
        request = CallbackRequest(body=body, headers=request.headers)
    with pytest.raises(AuthError, match=why):
        provider.authenticate(request, ACCOUNT, NOW, 300)


def test_tampered_body_with_its_own_md5_fails_on_checksum() -> None:
    body = vector_body().replace(b"DELIVRD", b"UNDELIV")
    request = signed(body)
    with pytest.raises(AuthError, match="CheckSum"):
        provider.authenticate(request, ACCOUNT, NOW, 300)


def test_wrong_secret_fails() -> None:
    account = Account(id="acc_n", provider="netease",
                      credentials={"app_key": "demoAppKey", "app_secret": "other"})
    with pytest.raises(AuthError, match="CheckSum"):
        provider.authenticate(signed(vector_body()), account, NOW, 300)


@pytest.mark.parametrize("offset", [301, -301])
def test_stale_or_future_cur_time_fails(offset: int) -> None:
    with pytest.raises(AuthError, match="CurTime"):
        provider.authenticate(signed(vector_body()), ACCOUNT,
                              NOW + timedelta(seconds=offset), 300)


@pytest.mark.parametrize("header", ["appkey", "curtime", "md5", "checksum"])
def test_missing_header_fails(header: str) -> None:
    full = signed(vector_body())
    request = CallbackRequest(body=full.body,
                              headers={k: v for k, v in full.headers.items() if k != header})
    with pytest.raises(AuthError):
        provider.authenticate(request, ACCOUNT, NOW, 300)


def test_account_without_credentials_fails() -> None:
    account = Account(id="acc_n2", provider="netease")
    with pytest.raises(AuthError, match="app_secret"):
        provider.authenticate(signed(vector_body()), account, NOW, 300)


def test_vector_body_has_a_numeric_event_type_and_parses() -> None:
    (event,) = events(vector_body())
    assert (event.message_id, event.phone, event.status) == ("1490", "+8613800138000",
                                                            "delivered")
    assert event.reported_at == datetime(2017, 6, 2, 6, 40, 50, tzinfo=UTC)


def test_failed_receipt_keeps_result_and_reason() -> None:
    body = orjson.dumps({"eventType": 11, "objects": [{
        "mobile": "13800138000", "sendid": 1492, "result": "UNDELIV", "reason": "blocked",
        "sendTime": "2024-01-02 03:04:05", "reportTime": "2024-01-02 03:04:09",
        "spliced": "1", "templateId": 9}]})
    (event,) = events(body)
    assert (event.status, event.provider_status) == ("failed", "UNDELIV")
    assert (event.error_code, event.error_message) == ("UNDELIV", "blocked")
    assert event.message_id == "1492"
    assert event.reported_at == datetime(2024, 1, 1, 19, 4, 9, tzinfo=UTC)


def test_reply_sample_placeholder_time_is_refused() -> None:
    request = CallbackRequest(body=sample("netease_mo.json"), headers={})
    (record,) = provider.extract(request, ACCOUNT)
    assert record.kind == "inbound"
    assert record.data["content"] == "用户回复内容"
    with pytest.raises(ParseError, match="receiveTime"):
        provider.normalize(record, ACCOUNT)


def test_reply_is_an_inbound_event() -> None:
    body = orjson.dumps({"eventType": 12, "objects": [
        {"mobile": "13800138000", "content": "用户回复内容",
         "receiveTime": "2024-01-02 03:04:05"}]})
    (event,) = events(body)
    assert (event.type, event.status) == ("sms.inbound", "received")
    assert (event.phone, event.text) == ("+8613800138000", "用户回复内容")
    assert event.reported_at == datetime(2024, 1, 1, 19, 4, 5, tzinfo=UTC)
    assert event.message_id is None


@pytest.mark.parametrize("body", [
    b'{"eventType": 1, "convType": "PERSON", "fromAccount": "a", "to": "b"}',
    b'{"eventType": "5", "objects": [{"x": 1}]}',
    b'{"eventType": 11, "objects": []}',
])
def test_other_events_and_empty_lists_carry_no_records(body: bytes) -> None:
    assert events(body) == []


@pytest.mark.parametrize(("body", "why"), [
    (b"", "empty"),
    (b"{", "JSON"),
    (b"[]", "object"),
    (b'{"objects": []}', "eventType"),
    (b'{"eventType": "eleven", "objects": []}', "eventType"),
    (b'{"eventType": 11}', "objects"),
    (b'{"eventType": 11, "objects": {}}', "objects"),
    (b'{"eventType": 11, "objects": [1]}', "object 0"),
    (b'{"eventType": 11, "objects": [{"mobile": "1", "result": "DELIVRD"}]}', "sendid"),
    (b'{"eventType": 11, "objects": [{"mobile": "1", "sendid": " ", "result": "x"}]}',
     "blank"),
    (b'{"eventType": 12, "objects": [{"mobile": "1"}]}', "content"),
    (b'{"eventType": 11, "objects": [{"mobile": "1", "sendid": "2", "result": "DELIVRD",'
     b' "sendTime": "2017/06/02"}]}', "sendTime"),
])
def test_structurally_invalid_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        events(body)


def test_answers_are_neteases_own_forms() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, orjson.loads(ok.body)) == (200, {"code": 200, "msg": "ok"})
    bad = provider.answer(request, ACCOUNT, ok=False, status=401, reason="bad CheckSum")
    assert (bad.status, orjson.loads(bad.body)) == (401, {"code": 401, "msg": "bad CheckSum"})


def received(headers: dict[str, str], body: bytes) -> CallbackRequest:
    return CallbackRequest(body=body, headers={k.lower(): v for k, v in headers.items()},
                           content_type="application/json")


def test_simulated_receipts_round_trip() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=20, seq=3, now=now)
    assert sim.headers["CurTime"] == str(int(now.timestamp() * 1000))
    request = received(dict(sim.headers), sim.body)
    provider.authenticate(request, ACCOUNT, now, 300)
    got = [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]
    assert len(got) == sim.records == 20
    assert {e.status for e in got} == {"delivered", "failed"}
    assert {e.reported_at for e in got} == {now}
    assert got[0].phone == "+8613800000060"


def test_simulated_replies_round_trip() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim = provider.simulate(ACCOUNT, count=2, seq=1, now=now, kind="inbound")
    request = received(dict(sim.headers), sim.body)
    provider.authenticate(request, ACCOUNT, now, 300)
    got = [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]
    assert [(e.type, e.text) for e in got] == [("sms.inbound", "reply 1-0"),
                                               ("sms.inbound", "reply 1-1")]


def test_simulate_needs_credentials() -> None:
    with pytest.raises(ValueError, match="app_secret"):
        provider.simulate(Account(id="x", provider="netease"), count=1, seq=1,
                          now=datetime.now(UTC))


@pytest.mark.parametrize("cur_time", ["²", "1440570500855²", "¹²³"])
def test_a_cur_time_of_non_ascii_digits_fails_as_unauthorized(cur_time: str) -> None:
    # isdigit() accepts "²" (a Latin-1 header byte), int() does not: a 401, not a crash.
    with pytest.raises(AuthError, match="CurTime"):
        provider.authenticate(signed(vector_body(), CurTime=cur_time), ACCOUNT, NOW, 300)
