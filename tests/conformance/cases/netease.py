"""NetEase Yunxin SMS: JSON events, signed with AppKey, CurTime, MD5 and CheckSum headers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta

from dlrhub.providers.netease import checksum
from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit, Sample, Signer

CREDENTIALS = {"app_key": "demoAppKey", "app_secret": "demoAppSecret"}


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign as NetEase does: CheckSum = SHA1(AppSecret + MD5(body) + CurTime)."""
    cur = str(int(now.timestamp() * 1000))
    md5 = hashlib.md5(sample.body, usedforsecurity=False).hexdigest()
    return sample.with_(headers={
        **sample.headers, "AppKey": credentials["app_key"], "CurTime": cur, "MD5": md5,
        "CheckSum": checksum(credentials["app_secret"], md5, cur)})


def _without(name: str) -> Signer:
    def tamper(sample: Sample, url: str, credentials: Mapping[str, str],
               now: datetime) -> Sample:
        done = _sign(sample, url, credentials, now)
        return done.with_(headers={k: v for k, v in done.headers.items() if k != name})
    return tamper


def _stale(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return _sign(sample, url, credentials, now - timedelta(hours=1))


def _body_changed(sample: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    return _sign(sample, url, credentials, now).with_(body=sample.body.replace(b"1490",
                                                                               b"1499"))


def _other_secret(sample: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    return _sign(sample, url, {**credentials, "app_secret": "not-the-secret"}, now)


def _other_app(sample: Sample, url: str, credentials: Mapping[str, str],
               now: datetime) -> Sample:
    return _sign(sample, url, {**credentials, "app_key": "anotherAppKey"}, now)


_REPORT = {"type": STATUS, "status": "delivered", "phone": "+8612345678945",
           "provider_status": "DELIVRD", "error_code": None, "reason_class": None}
_REPORTS = (
    {**_REPORT, "message_id": "1490", "segments": 1,
     "submitted_at": "2017-06-02T06:40:45+00:00", "reported_at": "2017-06-06T02:40:30+00:00"},
    {**_REPORT, "message_id": "1491", "segments": 2,
     "submitted_at": "2017-06-02T06:41:00+00:00", "reported_at": "2017-06-02T02:41:20+00:00"},
)

KIT = ProviderKit(
    slug="netease",
    credentials=CREDENTIALS,
    samples=[
        catalog_sample("netease-dlr", *_REPORTS),
        catalog_sample("netease-seed-003", *_REPORTS),
        catalog_sample("netease-mo", {"type": INBOUND, "status": "received",
                                      "phone": "+8613800138000", "text": "用户回复内容",
                                      "reported_at": "2024-01-01T19:04:05+00:00"}),
    ],
    signer=_sign,
    tampers={"body changed": _body_changed, "stale CurTime": _stale,
             "no CheckSum": _without("CheckSum"), "no MD5": _without("MD5"),
             "another secret": _other_secret, "another AppKey": _other_app},
)
