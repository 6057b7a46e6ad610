"""The operator hears of a tenant over its API rate limit, once per episode, signed."""

from __future__ import annotations

from datetime import datetime, timedelta

import falcon.testing
import orjson
import pytest
from sqlalchemy import select

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.models import API_REFUSAL_TABLE, TENANT_TABLE, utcnow
from dlrhub.services import admin_events
from dlrhub.services.ratelimit import RefusalLog
from dlrhub.services.relay.transport import signing
from dlrhub.services.runtime import Runtime
from tests.customer import customer_server
from tests.factories import AccountFactory
from tests.functional.test_receipts_api import key_for

pytestmark = [pytest.mark.dialects, pytest.mark.commits]


def _refusals(runtime: Runtime, tenant_id: str) -> int | None:
    with runtime.engine.connect() as conn:
        return conn.execute(select(API_REFUSAL_TABLE.c.refusals).where(
            API_REFUSAL_TABLE.c.tenant_id == tenant_id)).scalar_one_or_none()


def test_refusals_are_written_at_most_every_few_seconds_and_none_is_lost(
        runtime: Runtime) -> None:
    tenant_id = AccountFactory(provider="tencent").account.tenant_id
    clock = [100.0]
    log = RefusalLog(runtime.engine, every=5.0, clock=lambda: clock[0])
    for _ in range(7):  # the first is written at once, the next six wait
        log.note(tenant_id)
    assert _refusals(runtime, tenant_id) == 1
    clock[0] += 5.0
    log.note(tenant_id)  # the eighth writes the seven counted since
    assert _refusals(runtime, tenant_id) == 8


def test_a_key_refused_by_the_api_is_recorded_for_its_tenant(settings: Settings,
                                                             runtime: Runtime) -> None:
    tight = settings.model_copy(update={"api_rate_limit": 0.01,
                                        "api_rate_burst_seconds": 100})  # a burst of 1
    client = falcon.testing.TestClient(create_app(tight, runtime=runtime))
    new = AccountFactory(provider="tencent")
    headers = key_for(runtime, new.account.tenant_id)
    codes = [client.simulate_get("/v1/receipts", headers=headers).status_code
             for _ in range(3)]
    assert codes == [200, 429, 429]
    assert _refusals(runtime, new.account.tenant_id) == 1  # the second waits its turn


def test_the_admin_webhook_hears_of_a_limited_tenant_once_and_of_its_end(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    tenant_id = new.account.tenant_id
    RefusalLog(runtime.engine).note(tenant_id)
    secret = signing.new_secret()
    now = utcnow()
    with customer_server() as admin:
        hook = admin_events.AdminHook(admin.url, secret)

        def evaluate(at_minutes: float) -> list[str]:
            told = admin_events.evaluate_rate_limited(
                runtime.sessions, hook, window=300, now=now + timedelta(minutes=at_minutes))
            return [e["data"]["state"] for e in told]

        admin.answer_with((503, b"busy", {}), (200, b"ok", {}))
        assert evaluate(0) == []  # refused: told again at the next evaluation
        assert evaluate(1) == ["firing"]
        assert evaluate(2) == []  # still limited: nothing new
        assert evaluate(10) == ["resolved"]  # five quiet minutes
        assert evaluate(11) == []
    told = [orjson.loads(r.body) for r in admin.received]
    assert [e["data"]["state"] for e in told] == ["firing", "firing", "resolved"]
    assert {e["type"] for e in told} == {"admin.tenant_rate_limited"}
    assert told[1]["data"]["tenant_id"] == tenant_id
    with runtime.engine.connect() as conn:
        name = conn.execute(select(TENANT_TABLE.c.name).where(
            TENANT_TABLE.c.id == tenant_id)).scalar_one()
    assert told[1]["data"]["tenant_name"] == name
    for got, event in zip(admin.received, told, strict=True):
        signed_at = datetime.fromisoformat(event["timestamp"])
        signing.verify(secret, got.headers, got.body, signed_at)
