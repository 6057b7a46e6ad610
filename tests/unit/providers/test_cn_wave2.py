"""Yunpian, ChuangLan and Montnets: the edges the conformance kit does not vary."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, ParseError
from dlrhub.providers.chuanglan import provider as chuanglan
from dlrhub.providers.montnets import provider as montnets
from dlrhub.providers.montnets import pwd_digest
from dlrhub.providers.yunpian import provider as yunpian

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def test_yunpian_takes_success_or_zero() -> None:
    assert yunpian.accepts_answer(200, b"SUCCESS")
    assert yunpian.accepts_answer(200, b"0")
    assert not yunpian.accepts_answer(200, b"FAIL")
    assert not yunpian.accepts_answer(500, b"SUCCESS")


@pytest.mark.parametrize("value", [
    "[{\"sid\": 1" + "0" * 30 + ", \"mobile\": \"13800138000\", \"report_status\": \"SUCCESS\"}]",
    "not json", "{\"sid\": 1}", "[1]", "[{}]",
])
def test_yunpian_refuses_what_it_cannot_read_exactly(value: str) -> None:
    account = Account(id="a", provider="yunpian")
    request = CallbackRequest(body=urlencode({"sms_status": value}).encode(), headers={},
                              content_type=FORM)
    with pytest.raises(ParseError):
        yunpian.extract(request, account)


def test_chuanglan_refuses_an_account_without_its_credentials() -> None:
    request = CallbackRequest(body=b"", headers={}, method="GET",
                              query="receiver=&pswd=&msgid=1&status=DELIVRD")
    with pytest.raises(AuthError):
        chuanglan.authenticate(request, Account(id="a", provider="chuanglan"), NOW, 300)


def _push(userid: str, password: str, cmd: str = "RPT_REQ", seqid: int = 2**63 - 1) -> bytes:
    timestamp = "0102110405"
    return orjson.dumps({"cmd": cmd, "seqid": seqid, "userid": userid,
                         "pwd": pwd_digest(userid, password, timestamp),
                         "timestamp": timestamp, "rpts": []})


def _account(**options: str) -> Account:
    return Account(id="a", provider="montnets",
                   credentials={"userid": "J10003", "password": "pw"}, options=options)


def test_montnets_pwd_check_can_be_turned_off_but_not_the_userid() -> None:
    wrong_pwd = CallbackRequest(body=_push("J10003", "not-pw"), headers={})
    with pytest.raises(AuthError):
        montnets.authenticate(wrong_pwd, _account(), NOW, 300)
    montnets.authenticate(wrong_pwd, _account(pwd_check="off"), NOW, 300)
    wrong_user = CallbackRequest(body=_push("J99999", "pw"), headers={})
    with pytest.raises(AuthError):
        montnets.authenticate(wrong_user, _account(pwd_check="off"), NOW, 300)


def test_montnets_answers_echo_cmd_and_a_64_bit_seqid_exactly() -> None:
    request = CallbackRequest(body=_push("J10003", "pw"), headers={})
    ok = montnets.answer(request, None, ok=True)
    assert ok.body == (b'{"cmd":"RPT_RESP","seqid":9223372036854775807,"result":0,'
                       b'"desc":"success"}')
    refused = montnets.answer(request, None, ok=False, status=401, reason="no")
    assert orjson.loads(refused.body) == {"cmd": "RPT_RESP", "seqid": 2**63 - 1,
                                          "result": 1, "desc": "no"}
    assert not montnets.accepts_answer(refused.status, refused.body)
    mo = CallbackRequest(body=_push("J10003", "pw", cmd="MO_REQ"), headers={})
    assert montnets.extract(mo, _account()) == []
    assert orjson.loads(montnets.answer(mo, None, ok=True).body)["cmd"] == "MO_RESP"


def test_montnets_refuses_a_msgid_beyond_64_bits_rather_than_round_it() -> None:
    push = orjson.loads(_push("J10003", "pw"))
    body = orjson.dumps(push).replace(b'"rpts":[]', b'"rpts":[{"msgid":18446744073709551616,'
                                      b'"mobile":"13800138000","status":0}]')
    with pytest.raises(ParseError):
        montnets.extract(CallbackRequest(body=body, headers={}), _account())
