"""Signed callbacks of the second wave through the real endpoint: in, stored once, refused.

Each provider's sample is signed as the provider signs it, over the URL it calls
(``DLRHUB_PUBLIC_URL`` + path), posted to the app, ingested, and must become its
receipts with their reason class; a tampered copy must be refused in the provider's
own failure form and kept as rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import falcon.testing
import pytest
from sqlalchemy import select
from sqlmodel import Session

from dlrhub.config import Settings
from dlrhub.models import InboundCallback, Receipt, utcnow
from dlrhub.services.ingest import ingest
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.fixtures import sample
from tests.unit.providers import (
    test_bird,
    test_plivo,
    test_telnyx,
    test_twilio,
    test_vonage,
    test_vonage_messages,
)

# (the URL called, now, as another account of the provider) -> (body, headers)
Signer = Callable[[str, datetime, bool], tuple[bytes, dict[str, str]]]


@dataclass(frozen=True)
class Signed:
    """A provider's signed sample, and what it must become."""

    provider: str
    credentials: dict[str, str]
    content_type: str
    sign: Signer
    # (status, error_code, reason_class) of each receipt, in order
    receipts: list[tuple[str, str | None, str | None]]
    success: tuple[int, bytes | None]
    failure_type: str
    # A signed value and what a tampering sender changes it to.
    tamper: tuple[bytes, bytes]


def _twilio(url: str, now: datetime, foreign: bool) -> tuple[bytes, dict[str, str]]:
    request = test_twilio.signed(test_twilio.status_body(), url,
                                 token="another-token" if foreign else test_twilio.TOKEN)
    return request.body, dict(request.headers)


def _telnyx(url: str, now: datetime, foreign: bool) -> tuple[bytes, dict[str, str]]:
    request = test_telnyx.signed(sample("telnyx_message_finalized.json").strip(), at=now,
                                 **({"seed": test_telnyx.OTHER_SEED} if foreign else {}))
    return request.body, dict(request.headers)


def _plivo(url: str, now: datetime, foreign: bool) -> tuple[bytes, dict[str, str]]:
    request = test_plivo.signed(test_plivo.STATUS, url,
                                token="another-token" if foreign else test_plivo.TOKEN)
    return request.body, dict(request.headers)


def _vonage(url: str, now: datetime, foreign: bool) -> tuple[bytes, dict[str, str]]:
    request = test_vonage.signed(test_vonage.dlr(status="failed", **{"err-code": "6"}),
                                 at=now, secret="another" if foreign else test_vonage.SECRET)
    return request.body, dict(request.headers)


def _vonage_messages(url: str, now: datetime, foreign: bool) -> tuple[bytes, dict[str, str]]:
    request = test_vonage_messages.signed(
        test_vonage_messages.REJECTED, at=now,
        secret="another" if foreign else test_vonage_messages.SECRET)
    return request.body, dict(request.headers)


CASES = [
    Signed("twilio", {"auth_token": test_twilio.TOKEN}, "application/x-www-form-urlencoded",
           _twilio, [("failed", "30007", "content_blocked")],
           (200, b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'),
           "text/plain; charset=utf-8", (b"ErrorCode=30007", b"ErrorCode=30003")),
    Signed("telnyx", {"public_key": test_telnyx.VECTOR_KEY}, "application/json", _telnyx,
           [("failed", "40002", "content_blocked")], (200, b'{"status":"ok"}'),
           "application/json", (b'"40002"', b'"40008"')),
    Signed("plivo", {"auth_token": test_plivo.TOKEN}, "application/x-www-form-urlencoded",
           _plivo, [("failed", "30", "content_blocked")], (200, b"<Response></Response>"),
           "text/plain; charset=utf-8", (b"ErrorCode=30", b"ErrorCode=80")),
    Signed("vonage", {"signature_secret": test_vonage.SECRET, "signature_method": "md5hash"},
           "application/json", _vonage,
           [("failed", "6", "content_blocked")], (200, b"OK"), "text/plain; charset=utf-8",
           (b'"err-code":"6"', b'"err-code":"2"')),
    Signed("vonage_messages", {"signature_secret": test_vonage_messages.SECRET},
           "application/json", _vonage_messages, [("rejected", "1050", "blacklisted")],
           (200, b"OK"), "text/plain; charset=utf-8", (b'"title":"1050"', b'"title":"1040"')),
]


def _inbox(session: Session) -> list[InboundCallback]:
    session.expire_all()
    return list(session.execute(select(InboundCallback)).scalars())


def _ingest(rt: Runtime) -> list[Receipt]:
    with rt.sessions() as session:
        ids = [r.id for r in _inbox(session) if r.state == "pending"]
        ingest(session, rt.box, ids, now=utcnow())
        session.commit()
        return list(session.execute(select(Receipt).order_by(Receipt.id)).scalars())


def _post(client: falcon.testing.TestClient, path: str, content_type: str, body: bytes,
          headers: dict[str, str]) -> falcon.testing.Result:
    return client.simulate_post(path, body=body,
                                headers={"Content-Type": content_type} | headers)


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
def test_a_signed_sample_is_accepted_and_becomes_its_receipts_once(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        case: Signed) -> None:
    new = AccountFactory(provider=case.provider, credentials=case.credentials)
    path = f"/v1/callbacks/{case.provider}/{new.token}"
    url = settings.effective_public_url + path

    first = _post(client, path, case.content_type, *case.sign(url, utcnow(), False))

    assert first.status_code == case.success[0], first.text
    if case.success[1] is not None:
        assert first.content == case.success[1]
    got = _ingest(runtime)
    assert [(r.status, r.error_code, r.reason_class) for r in got] == case.receipts

    again = _post(client, path, case.content_type, *case.sign(url, utcnow(), False))
    assert again.status_code == case.success[0]
    assert len(_ingest(runtime)) == len(case.receipts)  # a retry is stored once


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
def test_a_tampered_sample_is_401_in_the_providers_form_and_kept_as_rejected(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        case: Signed) -> None:
    new = AccountFactory(provider=case.provider, credentials=case.credentials)
    path = f"/v1/callbacks/{case.provider}/{new.token}"
    url = settings.effective_public_url + path
    body, headers = case.sign(url, utcnow(), False)
    old, new_value = case.tamper
    assert old in body
    tampered = (body.replace(old, new_value, 1), headers)
    for sent in (tampered, case.sign(url, utcnow(), True)):
        result = _post(client, path, case.content_type, *sent)
        assert result.status_code == 401, result.text
        assert result.headers["content-type"] == case.failure_type
    with runtime.sessions() as session:
        assert [r.state for r in _inbox(session)] == ["rejected", "rejected"]


def test_a_legacy_messagebird_report_by_get_is_stored_once_and_a_tampered_one_refused(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="bird", credentials={"signing_key": test_bird.KEY})
    path = f"/v1/callbacks/bird/{new.token}"
    fields = {**test_bird.LEGACY_QUERY, "status": "delivery_failed",
              "recipient": "8613812345678", "statusErrorCode": "MK:0005"}

    def get(query: str, headers: dict[str, str]) -> falcon.testing.Result:
        return client.simulate_get(path, query_string=query, headers=headers)

    signed = test_bird.legacy(fields, at=utcnow())
    for _ in range(2):  # MessageBird's retry is stored once
        result = get(signed.query, dict(signed.headers))
        assert (result.status_code, result.content) == (200, b"OK")
    got = _ingest(runtime)
    # MK:0005 passed through from a China Mobile number: its carrier says why.
    assert [(r.status, r.error_code, r.reason_class) for r in got] == [
        ("failed", "MK:0005", "invalid_number")]

    tampered = get(signed.query.replace("MK%3A0005", "MK%3A0001"), dict(signed.headers))
    assert tampered.status_code == 401
    assert tampered.headers["content-type"] == "text/plain; charset=utf-8"
