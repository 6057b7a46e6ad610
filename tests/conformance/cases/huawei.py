"""Huawei Cloud SMS: form-encoded reports and uplinks, signed SDK-HMAC-SHA256 with AK/SK."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.huawei import (
    ALGORITHM,
    SDK_DATE_FORMAT,
    SIMULATED_SIGNED_HEADERS,
    apig_signature,
    canonical_request,
)
from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit, Sample, Signer, Vector

CREDENTIALS = {"access_key": "HWKITACCESSKEY000001", "secret_key": "hw-kit-secret-key"}
FORM = "application/x-www-form-urlencoded"


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign as APIG does: the content type, Host and X-Sdk-Date headers, path and body."""
    parts = urlsplit(url)
    sdk_date = now.astimezone(UTC).strftime(SDK_DATE_FORMAT)
    content_type = sample.content_type or FORM
    signed = {"content-type": content_type, "host": parts.netloc, "x-sdk-date": sdk_date}
    canonical = canonical_request(sample.method, parts.path or "/", sample.query, signed,
                                  SIMULATED_SIGNED_HEADERS, sample.body)
    signature = apig_signature(credentials["secret_key"], sdk_date, canonical)
    return sample.with_(content_type=content_type, headers={
        **sample.headers, "Host": parts.netloc, "X-Sdk-Date": sdk_date,
        "Authorization": f"{ALGORITHM} Access={credentials['access_key']}, SignedHeaders="
                         f"{';'.join(SIMULATED_SIGNED_HEADERS)}, Signature={signature}"})


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
        body=sample.body.replace(b"DELIVRD", b"E200027"))


def _other_key(sample: Sample, url: str, credentials: Mapping[str, str],
               now: datetime) -> Sample:
    return _sign(sample, url, {**credentials, "secret_key": "not-the-secret"}, now)


_DELIVERED = {"type": STATUS, "status": "delivered", "provider_status": "DELIVRD",
              "error_code": None, "segments": 1, "reason_class": None,
              "message_id": "2ea20735-f856-4376-afbf-570bd70a46ee_11840135",
              "reported_at": "2018-10-31T08:43:41+00:00"}

# Huawei's published APIG worked example (a GET of its API, signed with its AK/SK).
_VECTOR_HEADERS = {
    "content-type": "application/json", "host": "service.region.example.com",
    "x-sdk-date": "20191115T033655Z",
    "authorization": "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders="
                     "content-type;host;x-sdk-date, Signature="
                     "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"}

KIT = ProviderKit(
    slug="huawei",
    credentials=CREDENTIALS,
    samples=[
        catalog_sample("huawei-success", _DELIVERED),
        catalog_sample("huawei-failed", {**_DELIVERED, "status": "failed",
                                         "provider_status": "E200027",
                                         "error_code": "E200027",
                                         "reason_class": "gateway_or_protocol_error"}),
        catalog_sample("huawei-with-auth-body", {
            **_DELIVERED, "message_id": "b9d9b4fe-ad0e-4a2a-a2c7-445505b674ac_6",
            "reported_at": "2018-04-13T06:31:46+00:00"}),
        catalog_sample("huawei-mo", {"type": INBOUND, "status": "received",
                                     "message_id": "<uplink-id>", "phone": "+86151****6789",
                                     "text": "<urlencoded text>",
                                     "reported_at": "2018-02-12T15:30:20+00:00"}),
    ],
    signer=_sign,
    tampers={"body changed": _body_changed, "stale X-Sdk-Date": _stale,
             "no Authorization": _without("Authorization"),
             "no X-Sdk-Date": _without("X-Sdk-Date"), "another secret": _other_key},
    vectors=[Vector(
        name="apig-worked-example",
        request=CallbackRequest(
            body=b"", headers=_VECTOR_HEADERS, method="GET",
            path="/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            query="limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
            url="https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"),
        credentials={"access_key": "QTWAOYTTINDUT2QVKYUC",
                     "secret_key": "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"},
        now=datetime(2019, 11, 15, 3, 36, 55, tzinfo=UTC))],
)
