"""The conformance kit: every adapter in the registry goes through the same checks.

Each registered slug must have ``tests/conformance/cases/<slug>.py`` (its ``KIT``); the
tests below then run on it without another line: its samples become exactly their
events, through the adapter and through the real endpoint; its answers are its own
forms; its signature vectors pass and its tampers are refused; the simulator's
callbacks come back as receipts; and the native relay re-sends a callback as it came
and judges the answer by the provider's rule. Hostile bodies are the fuzz's
(tests/functional/test_callback_fuzz.py), over the same registry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import falcon.testing
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from dlrhub.api.schemas.endpoints import EndpointCreate
from dlrhub.config import Settings
from dlrhub.config.redaction import mask_query_secrets
from dlrhub.models import DELIVERY_TABLE, InboundCallback, Receipt, utcnow
from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, Provider
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.endpoints import create_endpoint
from dlrhub.services.ingest import ingest
from dlrhub.services.insight.enrich import facts
from dlrhub.services.relay import lease
from dlrhub.services.relay.jobs import Outcome
from dlrhub.services.relay.policy.outcomes import accepted
from dlrhub.services.relay.transport.http import Sender
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.conformance.cases import has_case, load
from tests.conformance.kit import ProviderKit, Sample
from tests.customer import customer_server
from tests.factories import AccountFactory

SLUGS = sorted(PROVIDERS)
KITS = {slug: load(slug) for slug in SLUGS if has_case(slug)}
SAMPLES = [(kit, s) for kit in KITS.values() for s in kit.samples]
VECTORS = [(kit, v) for kit in KITS.values() for v in kit.vectors]
TAMPERS = [(kit, name) for kit in KITS.values() for name in kit.tampers]
MAX_SKEW = 300
# A URL for checks that need no endpoint; the endpoint tests use the app's own.
HUB = "https://hub.example.com"


def _ids(pairs: list[tuple[ProviderKit, Any]]) -> list[str]:
    return [f"{kit.slug}-{getattr(item, 'name', item)}" for kit, item in pairs]


@pytest.fixture(scope="module")
def sender() -> Iterator[Sender]:
    """The relay's real HTTP client, allowed to reach the loopback test server."""
    client = Sender(allow_private=True)
    yield client
    client.close()


# --- helpers --------------------------------------------------------------------------


def adapter_account(kit: ProviderKit, url: str, credentials: Mapping[str, str] | None = None
                    ) -> Account:
    """Return the account an adapter sees for the kit's credentials (option defaults)."""
    adapter = PROVIDERS[kit.slug]
    return Account(id="acc_kit", provider=kit.slug,
                   credentials=dict(kit.credentials if credentials is None else credentials),
                   timezone=ZoneInfo(adapter.default_timezone),
                   default_region=adapter.default_region,
                   options={k: o.default for k, o in adapter.options.items()},
                   callback_url=url)


def signed(kit: ProviderKit, sample: Sample, url: str, now: datetime) -> Sample:
    """Return the sample signed as the provider signs it for ``url`` (if it signs)."""
    if kit.signer is None or not sample.sign:
        return sample
    return kit.signer(sample, url, kit.credentials, now)


def headers_of(sample: Sample) -> dict[str, str]:
    """Return the sample's request headers, its content type among them."""
    out = dict(sample.headers)
    if sample.content_type and not any(k.lower() == "content-type" for k in out):
        out["Content-Type"] = sample.content_type
    return out


def request_of(sample: Sample, url: str) -> CallbackRequest:
    """Return the sample as the callback path hands it to an adapter."""
    query = f"?{sample.query}" if sample.query else ""
    return CallbackRequest(
        body=sample.body, headers={k.lower(): v for k, v in headers_of(sample).items()},
        content_type=sample.content_type.split(";")[0].strip().lower(),
        method=sample.method, path=urlsplit(url).path, query=sample.query,
        url=url + query)


def send(client: falcon.testing.TestClient, path: str, sample: Sample
         ) -> falcon.testing.Result:
    """Send the sample to the real endpoint, by its method, with its query."""
    return client.simulate_request(sample.method, path, body=sample.body,
                                   headers=headers_of(sample),
                                   query_string=sample.query or None)


@dataclass(frozen=True)
class Endpoint:
    """An account of the kit's provider: its callback path and URL, and its tenant."""

    path: str
    url: str
    tenant_id: str


def endpoint_of(settings: Settings, kit: ProviderKit) -> Endpoint:
    """Make an account of the kit's provider, with the kit's credentials."""
    new = AccountFactory(provider=kit.slug, credentials=dict(kit.credentials) or None)
    path = f"/v1/callbacks/{kit.slug}/{new.token}"
    return Endpoint(path, settings.effective_public_url + path, new.account.tenant_id)


def events_of(kit: ProviderKit, sample: Sample) -> list[Event]:
    """Parse and normalize a sample as the worker does."""
    adapter = PROVIDERS[kit.slug]
    url = f"{HUB}/v1/callbacks/{kit.slug}/tok"
    account = adapter_account(kit, url)
    request = request_of(signed(kit, sample, url, utcnow()), url)
    return [adapter.normalize(r, account) for r in adapter.extract(request, account)]


def reason_of(kit: ProviderKit, event: Event) -> tuple[str | None, bool | None]:
    """Return the reason class and retryable ingest gives the event (the dictionary's,
    or the provider's own flag in the record)."""
    row = {"phone": event.phone, "type": event.type.value, "provider": kit.slug,
           "status": event.status, "error_code": event.error_code,
           "provider_status": event.provider_status, "synthetic": False, "raw": event.raw}
    reason, retryable, _country, _carrier = facts(row, None)
    return reason, retryable


def value_of(kit: ProviderKit, event: Event, name: str, expected: Any) -> Any:
    """Return an event's field as the expectation states it (enums and times as text)."""
    if name == "reason_class":
        return reason_of(kit, event)[0]
    if name == "retryable":
        return reason_of(kit, event)[1]
    got = getattr(event, name)
    if isinstance(got, Enum) and isinstance(expected, str):
        return got.value
    if isinstance(got, datetime) and isinstance(expected, str):
        return got.isoformat()
    return got


def receipts(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(select(func.count()).select_from(Receipt)).scalar_one()


def ingest_all(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = _pending(session)
        ingest(session, runtime.box, ids, now=utcnow())
        session.commit()


def _pending(session: Session) -> list[str]:
    return list(session.execute(select(InboundCallback.id).where(
        InboundCallback.state == "pending")).scalars())


def failure_form(adapter: Provider, sample: Sample, status: int) -> str:
    """Return the content type of the provider's own failure answer with ``status``."""
    request = CallbackRequest(body=sample.body, headers={}, method=sample.method,
                              content_type=sample.content_type.split(";")[0].strip().lower(),
                              query=sample.query)
    return adapter.answer(request, None, ok=False, status=status, reason="x").content_type


# --- every provider has its case --------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_every_registered_provider_has_its_conformance_case(slug: str) -> None:
    assert has_case(slug), f"tests/conformance/cases/{slug}.py is missing (see the README)"
    kit = KITS[slug]
    assert kit.slug == slug
    assert kit.samples, "a provider needs at least one sample"
    assert all(s.expected for s in kit.samples), "every sample says what it becomes"
    assert {s.method for s in kit.samples} <= PROVIDERS[slug].methods
    if kit.signer is not None:
        assert kit.tampers, "a provider that signs shows how a spoilt signature fails"


# --- samples: parsed exactly, then through the real endpoint ----------------------------


@pytest.mark.parametrize(("kit", "sample"), SAMPLES, ids=_ids(SAMPLES))
def test_sample_becomes_exactly_its_events(kit: ProviderKit, sample: Sample) -> None:
    events = events_of(kit, sample)
    assert len(events) == len(sample.expected)
    for event, expected in zip(events, sample.expected, strict=True):
        got = {name: value_of(kit, event, name, want) for name, want in expected.items()}
        assert got == dict(expected)


@pytest.mark.parametrize(("kit", "sample"), SAMPLES, ids=_ids(SAMPLES))
def test_sample_is_answered_in_the_providers_form_and_becomes_its_receipts(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        kit: ProviderKit, sample: Sample) -> None:
    adapter = PROVIDERS[kit.slug]
    at = endpoint_of(settings, kit)
    path, url = at.path, at.url

    result = send(client, path, signed(kit, sample, url, utcnow()))

    assert 200 <= result.status_code < 300, result.text
    if kit.success_body is not None:
        assert result.content == kit.success_body
    # A hub relaying natively to another hub would take this answer as success.
    assert adapter.accepts_answer(result.status_code, result.content)
    ingest_all(runtime)
    assert receipts(runtime) == len(sample.expected)


@pytest.mark.parametrize(("kit", "sample"), SAMPLES, ids=_ids(SAMPLES))
def test_a_refused_sample_is_answered_in_the_providers_failure_form(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        kit: ProviderKit, sample: Sample) -> None:
    adapter = PROVIDERS[kit.slug]
    url = endpoint_of(settings, kit).url
    path = f"/v1/callbacks/{kit.slug}/not-a-token"

    result = send(client, path, signed(kit, sample, url, utcnow()))

    assert result.status_code == 404, result.text
    assert result.headers.get("content-type") == failure_form(adapter, sample, 404)
    assert not adapter.accepts_answer(result.status_code, result.content)
    assert receipts(runtime) == 0


# --- signatures: published vectors pass, spoilt requests are refused -------------------


@pytest.mark.parametrize(("kit", "vector"), VECTORS, ids=_ids(VECTORS))
def test_signature_vector_authenticates(kit: ProviderKit, vector: Any) -> None:
    adapter = PROVIDERS[kit.slug]
    account = adapter_account(kit, vector.request.url.split("?")[0], vector.credentials)
    account = replace(account, options={**account.options, **vector.options})
    adapter.authenticate(vector.request, account, vector.now, MAX_SKEW)


@pytest.mark.parametrize(("kit", "tamper"), TAMPERS, ids=_ids(TAMPERS))
def test_a_tampered_callback_is_refused_401_in_the_providers_form(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        kit: ProviderKit, tamper: str) -> None:
    adapter = PROVIDERS[kit.slug]
    sample = next(s for s in kit.samples if s.sign)
    at = endpoint_of(settings, kit)
    path, url = at.path, at.url
    spoilt = kit.tampers[tamper](sample, url, kit.credentials, utcnow())

    result = send(client, path, spoilt)

    assert result.status_code == 401, result.text
    assert result.headers.get("content-type") == failure_form(adapter, spoilt, 401)
    with pytest.raises(AuthError):
        adapter.authenticate(request_of(spoilt, url), adapter_account(kit, url), utcnow(),
                             MAX_SKEW)
    ingest_all(runtime)
    assert receipts(runtime) == 0


# --- the simulator speaks the provider: its callbacks come back as receipts ------------


@pytest.mark.parametrize("kind", ["status", "inbound"])
@pytest.mark.parametrize("slug", sorted(KITS))
def test_simulated_callbacks_round_trip_through_the_endpoint(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        slug: str, kind: str) -> None:
    kit = KITS[slug]
    adapter = PROVIDERS[slug]
    at = endpoint_of(settings, kit)
    path, url = at.path, at.url
    batch = min(3, adapter.batch_limit or 3)
    sim = build_callback(slug, url, seq=7, batch=batch, kind=kind, credentials=kit.credentials)
    headers = {**sim.headers, "Host": urlsplit(url).netloc}
    if sim.content_type:
        headers["Content-Type"] = sim.content_type

    result = client.simulate_request(sim.method, path, body=sim.body, headers=headers,
                                     query_string=sim.query or None)

    assert 200 <= result.status_code < 300, result.text
    assert adapter.accepts_answer(result.status_code, result.content)
    ingest_all(runtime)
    assert receipts(runtime) == sim.records


# --- native relay: the callback goes on as it came, judged by the provider's rule ------


@pytest.mark.parametrize("slug", sorted(KITS))
def test_native_relay_resends_the_callback_as_it_came_and_judges_like_the_provider(
        client: falcon.testing.TestClient, runtime: Runtime, settings: Settings,
        sender: Sender, slug: str) -> None:
    kit = KITS[slug]
    adapter = PROVIDERS[slug]
    sample = kit.samples[0]
    at = endpoint_of(settings, kit)
    path, url = at.path, at.url
    sent = signed(kit, sample, url, utcnow())
    with customer_server() as customer:
        with runtime.sessions() as session:
            create_endpoint(session, runtime.box, tenant_id=at.tenant_id,
                            allow_private=True,
                            spec=EndpointCreate.model_validate(
                                {"url": customer.url, "format": "native"}))
            session.commit()
        ours = send(client, path, sent)
        assert 200 <= ours.status_code < 300, ours.text
        ingest_all(runtime)
        refusal = adapter.answer(request_of(sent, url), None, ok=False, status=400,
                                 reason="not now")
        # The provider's own success answer (as the hub gives it), then its refusal.
        customer.answer_with(
            (ours.status_code, ours.content, {"Content-Type": ours.headers["content-type"]}),
            (refusal.status, refusal.body, {"Content-Type": refusal.content_type}))

        with runtime.sessions() as session:
            ids = list(session.execute(select(DELIVERY_TABLE.c.id)).scalars())
            claimed = lease.claim(session, runtime.box, ids, utcnow())
            session.commit()
        (job,) = claimed.jobs
        (took,) = sender.send([job])
        (refused,) = sender.send([job])

    first = customer.received[0]
    assert first.body == sent.body
    assert first.method == sent.method
    # Byte for byte, but for a password in the query, which the hub never keeps
    # (ChuangLan's pswd): the receiver gets it masked.
    query = mask_query_secrets(sent.query)
    assert first.path == "/hook" + (f"?{query}" if query else "")
    if sent.content_type:
        assert first.headers["content-type"] == sent.content_type
    assert accepted(job, took), took
    assert not accepted(job, refused)
    # Any 2xx is not enough where the provider checks the body.
    if kit.success_body is not None:
        assert not accepted(job, Outcome(200, 1.0, None, "ok", None, b"ok"))

