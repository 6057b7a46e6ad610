"""The second wave's conformance-kit cases hold: samples, tampers and vectors, directly.

The kit's own runner checks every provider through the app; this checks the facts the
cases state against the adapters alone, so that a wrong case shows up here first.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.insight.reasons import classify
from tests.conformance.kit import ProviderKit, Sample

SLUGS = ["twilio", "telnyx", "plivo", "vonage", "vonage_messages", "bird", "infobip"]
URL = "https://hub.example.com/v1/callbacks/{slug}/tok"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def kit(slug: str) -> ProviderKit:
    found: ProviderKit = importlib.import_module(f"tests.conformance.cases.{slug}").KIT
    return found


def _request(s: Sample, url: str) -> CallbackRequest:
    return CallbackRequest(body=s.body, content_type=s.content_type, method=s.method,
                           query=s.query, url=f"{url}?{s.query}" if s.query else url,
                           headers={k.lower(): v for k, v in s.headers.items()})


def _account(k: ProviderKit, url: str) -> Account:
    adapter = PROVIDERS[k.slug]
    return Account(id="acc", provider=k.slug, credentials=k.credentials, callback_url=url,
                   timezone=ZoneInfo(adapter.default_timezone),
                   default_region=adapter.default_region)


def _value(slug: str, event: Any, name: str) -> Any:
    if name == "reason_class":
        verdict = classify(slug, event.status, event.error_code or event.provider_status)
        return None if verdict.reason_class is None else verdict.reason_class.value
    return getattr(event, name)


@pytest.mark.parametrize("slug", SLUGS)
def test_signed_samples_become_what_they_say(slug: str) -> None:
    k, adapter = kit(slug), PROVIDERS[slug]
    url = URL.format(slug=slug)
    account = _account(k, url)
    for s in k.samples:
        signed = k.signer(s, url, k.credentials, NOW) if k.signer and s.sign else s
        request = _request(signed, url)
        adapter.authenticate(request, account, NOW, 300)
        events = [adapter.normalize(r, account) for r in adapter.extract(request, account)]
        assert len(events) == len(s.expected), s.name
        for event, expected in zip(events, s.expected, strict=True):
            for name, value in expected.items():
                assert _value(slug, event, name) == value, (s.name, name)


@pytest.mark.parametrize("slug", SLUGS)
def test_tampered_samples_are_refused(slug: str) -> None:
    k, adapter = kit(slug), PROVIDERS[slug]
    url = URL.format(slug=slug)
    account = _account(k, url)
    assert k.tampers
    for name, tamper in k.tampers.items():
        for s in k.samples:
            request = _request(tamper(s, url, k.credentials, NOW), url)
            with pytest.raises(AuthError):  # noqa: PT012 - names the case that passed
                adapter.authenticate(request, account, NOW, 300)
                pytest.fail(f"{name} of {s.name} was accepted")


@pytest.mark.parametrize("slug", SLUGS)
def test_vectors_authenticate(slug: str) -> None:
    k, adapter = kit(slug), PROVIDERS[slug]
    for vector in k.vectors:
        account = Account(id="acc", provider=slug, credentials=vector.credentials)
        adapter.authenticate(vector.request, account, vector.now, 300)
