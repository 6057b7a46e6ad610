"""NXCLOUD (DID SMS): JSON or form pushes, signed with accessKey, ts, action and sign."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from dlrhub.providers.nxcloud import sign
from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit, Sample, Signer

CREDENTIALS = {"access_key": "fme2na3kdi3ki", "access_secret": "demoSecret123"}


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign as NXCLOUD does over accessKey, action, bizType, ts and the body."""
    ts = str(int(now.timestamp() * 1000))
    action = sample.headers.get("action", "dr")
    return sample.with_(headers={
        **sample.headers, "accessKey": credentials["access_key"], "ts": ts, "bizType": "4",
        "action": action,
        "sign": sign(credentials["access_key"], action, "4", ts, sample.body,
                     credentials["access_secret"])})


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
    return _sign(sample, url, credentials, now).with_(
        body=sample.body.replace(b"DELIVRD", b"UNDELIV"))


def _other_secret(sample: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    return _sign(sample, url, {**credentials, "access_secret": "not-the-secret"}, now)


_DELIVERED = {"type": STATUS, "status": "delivered",
              "message_id": "fcf3432fd1834ccdac807a7cfb2d1fdf", "phone": "+18184505018",
              "provider_status": "DELIVRD", "error_code": None, "segments": 1,
              "submitted_at": "2021-02-07T06:54:00+00:00", "reason_class": None}
_UPLINK = {"type": INBOUND, "status": "received",
           "message_id": "fcf3432fd1834ccdac807a7cfb2d1fdf", "text": "test from wang haha",
           "reported_at": "2021-02-07T06:54:00+00:00"}

KIT = ProviderKit(
    slug="nxcloud",
    credentials=CREDENTIALS,
    samples=[
        catalog_sample("nxcloud-signed-dr", _DELIVERED, headers={"action": "dr"}),
        catalog_sample("nxcloud-seed-004", _DELIVERED, headers={"action": "dr"}),
        catalog_sample("nxcloud-signed-mo", {**_UPLINK, "phone": "+12347200160"},
                       headers={"action": "mo"}),
        catalog_sample("nxcloud-form-unsigned", _DELIVERED, headers={"action": "dr"}),
        catalog_sample("nxcloud-form-unsigned-mo", {**_UPLINK, "phone": "+18184505018"},
                       headers={"action": "mo"}),
    ],
    signer=_sign,
    tampers={"body changed": _body_changed, "stale ts": _stale, "no sign": _without("sign"),
             "no accessKey": _without("accessKey"), "another secret": _other_secret},
)
