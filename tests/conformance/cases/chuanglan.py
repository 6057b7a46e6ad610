"""ChuangLan: GET pushes with ``receiver``/``pswd`` in the query, answered ``OK``.

Field names follow ChuangLan's international push (and the domestic 253 push's
``statusDesc``/``uid``); the signer adds the account's receiver and pswd as ChuangLan
does, and each tamper spoils them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

CREDENTIALS = {"account": "N1234567", "password": "s3cr3t&pa ss"}


def _with(sample: Sample, receiver: str | None, pswd: str | None) -> Sample:
    creds = {k: v for k, v in (("receiver", receiver), ("pswd", pswd)) if v is not None}
    return sample.with_(query=urlencode(creds) + ("&" if creds else "") + sample.query)


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Put the configured receiver and pswd first in the query, as ChuangLan sends them."""
    return _with(sample, credentials["account"], credentials["password"])


def _wrong_pswd(sample: Sample, url: str, credentials: Mapping[str, str],
                now: datetime) -> Sample:
    return _with(sample, credentials["account"], credentials["password"] + "x")


def _wrong_receiver(sample: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    return _with(sample, "N7654321", credentials["password"])


def _no_pswd(sample: Sample, url: str, credentials: Mapping[str, str],
             now: datetime) -> Sample:
    return _with(sample, credentials["account"], None)


def _get(name: str, fields: dict[str, str], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, method="GET", query=urlencode(fields), expected=expected)


_REPORT = {"msgid": "19010310383624256", "reportTime": "1901031038",
           "mobile": "13800138000", "notifyTime": "190103103856", "batchSeq": "",
           "uid": "order-1"}
_EVENT = {"type": STATUS, "message_id": "19010310383624256", "reference": "order-1",
          "phone": "+8613800138000", "reported_at": "2019-01-03T02:38:00+00:00"}

KIT = ProviderKit(
    slug="chuanglan",
    credentials=CREDENTIALS,
    samples=[
        _get("delivered", {**_REPORT, "status": "DELIVRD"},
             {**_EVENT, "status": "delivered", "provider_status": "DELIVRD",
              "error_code": None, "reason_class": None}),
        _get("blacklisted", {**_REPORT, "status": "MBBLACK", "statusDesc": "黑名单"},
             {**_EVENT, "status": "failed", "provider_status": "MBBLACK",
              "error_code": "MBBLACK"}),
        _get("rejected", {**_REPORT, "status": "REJECTD"},
             {**_EVENT, "status": "rejected", "error_code": "REJECTD"}),
        _get("reply", {"moTime": "190103103856", "mobile": "13800138000", "msg": "好的 TD",
                       "destcode": "10690001"},
             {"type": INBOUND, "status": "received", "phone": "+8613800138000",
              "text": "好的 TD", "reference": "10690001",
              "reported_at": "2019-01-03T02:38:56+00:00"}),
    ],
    signer=_sign,
    tampers={"another pswd": _wrong_pswd, "another receiver": _wrong_receiver,
             "no pswd": _no_pswd},
    success_body=b"OK",
)
