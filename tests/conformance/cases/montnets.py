"""Montnets: ``RPT_REQ`` pushes of reports, answered with an echo of ``cmd`` and ``seqid``.

The first sample is the push REFERENCE-2 builds from the field names of Montnets' demo
(``CallbackRequest``, ``Rpt``); the signer fills ``userid``, ``timestamp`` and ``pwd``
as the demo's scheme computes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson

from dlrhub.providers.montnets import pwd_digest
from tests.conformance.catalog import STATUS
from tests.conformance.kit import ProviderKit, Sample

CREDENTIALS = {"userid": "J10003", "password": "demo-password"}
JSON = "application/json"
_SHANGHAI = ZoneInfo("Asia/Shanghai")


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Fill userid, timestamp (MMddHHmmss, Beijing time) and pwd into the push."""
    push = orjson.loads(sample.body)
    timestamp = now.astimezone(_SHANGHAI).strftime("%m%d%H%M%S")
    push.update(userid=credentials["userid"], timestamp=timestamp,
                pwd=pwd_digest(credentials["userid"], credentials["password"], timestamp))
    return sample.with_(body=orjson.dumps(push))


def _other_password(sample: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    return _sign(sample, url, {**credentials, "password": "not-it"}, now)


def _other_userid(sample: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    return _sign(sample, url, {**credentials, "userid": "J99999"}, now)


def _no_pwd(sample: Sample, url: str, credentials: Mapping[str, str],
            now: datetime) -> Sample:
    signed = _sign(sample, url, credentials, now)
    push = orjson.loads(signed.body)
    del push["pwd"]
    return signed.with_(body=orjson.dumps(push))


def _push(*rpts: dict[str, object]) -> bytes:
    return orjson.dumps({"cmd": "RPT_REQ", "seqid": 123, "userid": "", "pwd": "",
                         "timestamp": "", "rpts": list(rpts)})


_DOCUMENTED = {"msgid": 9223372036854775807, "custid": "b3d0a2d", "pknum": 1, "pktotal": 1,
               "mobile": "138xxxxxxxx", "spno": "1000457", "exno": "0006",
               "stime": "2016-08-04 17:38:55", "rtime": "2016-08-04 17:38:59", "status": 0,
               "errcode": "DELIVRD", "errdesc": "success", "exdata": "", "type": 0}

KIT = ProviderKit(
    slug="montnets",
    credentials=CREDENTIALS,
    samples=[
        Sample(name="documented-report", body=_push(_DOCUMENTED), content_type=JSON,
               expected=[{"type": STATUS, "status": "delivered",
                          "message_id": "9223372036854775807", "reference": "b3d0a2d",
                          "phone": "138xxxxxxxx", "provider_status": "DELIVRD",
                          "error_code": None, "segments": 1, "part": None,
                          "submitted_at": "2016-08-04T09:38:55+00:00",
                          "reported_at": "2016-08-04T09:38:59+00:00",
                          "reason_class": None}]),
        Sample(name="parts-of-a-long-sms", content_type=JSON, body=_push(
            {**_DOCUMENTED, "msgid": 18446744073709551615, "mobile": "13800138000",
             "pknum": 2, "pktotal": 3, "status": 1, "errcode": "MK:0001",
             "errdesc": "failed"},
            {**_DOCUMENTED, "msgid": 18446744073709551615, "mobile": "13800138000",
             "pknum": 3, "pktotal": 3}),
            expected=[{"type": STATUS, "status": "failed",
                       "message_id": "18446744073709551615", "phone": "+8613800138000",
                       "error_code": "MK:0001", "segments": 3, "part": "2"},
                      {"type": STATUS, "status": "delivered",
                       "message_id": "18446744073709551615", "segments": 3,
                       "part": "3", "error_code": None}]),
    ],
    signer=_sign,
    tampers={"another password": _other_password, "another userid": _other_userid,
             "no pwd": _no_pwd},
    success_body=b'{"cmd":"RPT_RESP","seqid":123,"result":0,"desc":"success"}',
)
