"""What an attempt's answer means for its delivery, and when an endpoint is disabled.

Pure decisions over plain values: no database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlrhub.models import DeliveryStatus, Endpoint
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.relay.policy.outcomes import DISABLE_AFTER, judge, note_failure

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def job(attempts: int = 0, *, policy: object = "standard", provider: str | None = None) -> Job:
    return Job("dlv_1", "ep_1", "http://127.0.0.1:9/", b"{}", {}, 10.0, attempts, policy,
               provider)


def answer(status: int | None, body: bytes = b"", retry_after: str | None = None) -> Outcome:
    error = "ClientConnectorError: refused" if status is None else None
    return Outcome(status, 1.0, error, body.decode(), retry_after, body)


def test_a_2xx_succeeds() -> None:
    verdict = judge(job(), answer(204), NOW)
    assert (verdict.status, verdict.retry_in, verdict.error, verdict.unavailable) == (
        DeliveryStatus.succeeded, None, None, False)


def test_no_answer_or_a_5xx_is_retried_on_the_policy_and_counts_against_the_circuit() -> None:
    refused = judge(job(1, policy={"waits": [10, 60]}), answer(None), NOW)
    assert (refused.status, refused.retry_in, refused.unavailable) == (
        DeliveryStatus.pending, 60.0, True)
    assert refused.error == "ClientConnectorError: refused"
    busy = judge(job(0, policy={"waits": [10, 60]}), answer(503, b"down"), NOW)
    assert (busy.status, busy.retry_in, busy.error) == (DeliveryStatus.pending, 10.0,
                                                        "HTTP 503: down")


def test_out_of_tries_is_dead_and_a_final_4xx_is_failed_at_once() -> None:
    dead = judge(job(2, policy={"waits": [10, 60]}), answer(500), NOW)
    assert (dead.status, dead.retry_in) == (DeliveryStatus.dead, None)
    refused = judge(job(0), answer(400, b"bad"), NOW)
    assert (refused.status, refused.retry_in, refused.unavailable) == (
        DeliveryStatus.failed, None, False)


def test_a_429_waits_at_least_its_retry_after() -> None:
    verdict = judge(job(0, policy={"waits": [1]}), answer(429, retry_after="120"), NOW)
    assert (verdict.status, verdict.retry_in) == (DeliveryStatus.pending, 120.0)


def test_a_native_delivery_is_judged_by_its_providers_rule() -> None:
    tencent = job(provider="tencent")
    assert judge(tencent, answer(200, b'{"result":0}'), NOW).status == DeliveryStatus.succeeded
    # A 200 the provider would retry is the endpoint being unavailable, not a refusal.
    retried = judge(tencent, answer(200, b'{"result":1}'), NOW)
    assert (retried.status, retried.unavailable) == (DeliveryStatus.pending, True)


def test_an_endpoint_failing_for_five_days_is_disabled_with_a_reason() -> None:
    ep = Endpoint(tenant_id="ten_1", url="http://127.0.0.1:9/", secret_encrypted="x")
    note_failure(ep, NOW)
    note_failure(ep, NOW + DISABLE_AFTER - timedelta(seconds=1))
    assert (ep.failing_since, ep.enabled) == (NOW, True)
    note_failure(ep, NOW + DISABLE_AFTER)
    assert ep.enabled is False
    assert ep.disabled_reason is not None
    assert "PATCH" in ep.disabled_reason
