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
from typing import Any
from urllib.parse import urlencode

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
from tests.unit.providers import test_plivo, test_telnyx, test_twilio

# (body, the URL called, now) -> (headers, query)
Signer = Callable[[bytes, str, datetime], dict[str, str]]


@dataclass(frozen=True)
class Signed:
    """A provider's signed sample, and what it must become."""

    provider: str
    credentials: dict[str, str]
    body: bytes
    content_type: str
    sign: Signer
    # (status, error_code, reason_class) of each receipt, in order
    receipts: list[tuple[str, str | None, str | None]]
    success: tuple[int, bytes | None]
    failure_type: str
    # Signs as another account of the same provider would (another key or token).
    foreign: Signer


def _twilio(body: bytes, url: str, now: datetime) -> dict[str, str]:
    return dict(test_twilio.signed(body, url).headers)


def _twilio_other(body: bytes, url: str, now: datetime) -> dict[str, str]:
    return dict(test_twilio.signed(body, url, token="another-auth-token").headers)


def _telnyx(body: bytes, url: str, now: datetime) -> dict[str, str]:
    return dict(test_telnyx.signed(body, at=now).headers)


def _telnyx_other(body: bytes, url: str, now: datetime) -> dict[str, str]:
    return dict(test_telnyx.signed(body, at=now, seed=test_telnyx.OTHER_SEED).headers)


def _plivo(body: bytes, url: str, now: datetime) -> dict[str, str]:
    return dict(test_plivo.signed(test_plivo.STATUS, url).headers)


def _plivo_other(body: bytes, url: str, now: datetime) -> dict[str, str]:
    return dict(test_plivo.signed(test_plivo.STATUS, url, token="another").headers)


CASES = [
    Signed("twilio", {"auth_token": test_twilio.TOKEN}, test_twilio.status_body(),
           "application/x-www-form-urlencoded", _twilio,
           [("failed", "30007", "content_blocked")],
           (200, b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'),
           "text/plain; charset=utf-8", _twilio_other),
    Signed("telnyx", {"public_key": test_telnyx.VECTOR_KEY},
           sample("telnyx_message_finalized.json").strip(), "application/json", _telnyx,
           [("failed", "40002", "content_blocked")], (200, b'{"status":"ok"}'),
           "application/json", _telnyx_other),
    Signed("plivo", {"auth_token": test_plivo.TOKEN}, urlencode(test_plivo.STATUS).encode(),
           "application/x-www-form-urlencoded", _plivo,
           [("failed", "30", "content_blocked")], (200, b"<Response></Response>"),
           "text/plain; charset=utf-8", _plivo_other),
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


def _post(client: falcon.testing.TestClient, path: str, body: bytes, content_type: str,
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

    first = _post(client, path, case.body, case.content_type, case.sign(case.body, url,
                                                                       utcnow()))

    assert first.status_code == case.success[0], first.text
    if case.success[1] is not None:
        assert first.content == case.success[1]
    got = _ingest(runtime)
    assert [(r.status, r.error_code, r.reason_class) for r in got] == case.receipts

    again = _post(client, path, case.body, case.content_type, case.sign(case.body, url,
                                                                       utcnow()))
    assert again.status_code == case.success[0]
    assert len(_ingest(runtime)) == len(case.receipts)  # a retry is stored once


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
def test_a_tampered_sample_is_401_in_the_providers_form_and_kept_as_rejected(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        case: Signed) -> None:
    new = AccountFactory(provider=case.provider, credentials=case.credentials)
    path = f"/v1/callbacks/{case.provider}/{new.token}"
    headers: dict[str, Any] = case.sign(case.body, settings.effective_public_url + path,
                                        utcnow())
    foreign = case.foreign(case.body, settings.effective_public_url + path, utcnow())
    for sent, with_headers in ((case.body + b" ", headers), (case.body, foreign)):
        result = _post(client, path, sent, case.content_type, with_headers)
        assert result.status_code == 401, result.text
        assert result.headers["content-type"] == case.failure_type
    with runtime.sessions() as session:
        assert [r.state for r in _inbox(session)] == ["rejected", "rejected"]
