"""/metrics of the API process: the relay's backlog read at scrape, requests by route."""

from __future__ import annotations

from datetime import timedelta

import falcon.testing
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from dlrhub.models import Delivery, DeliveryStatus, Endpoint, make_engine, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.metrics import scrape_connection
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.fixtures import sample

pytestmark = pytest.mark.dialects


def scrape(client: falcon.testing.TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]],
                                                      float]:
    """Return every sample of /metrics by name and labels."""
    page = client.simulate_get("/metrics")
    assert page.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(page.text) for s in family.samples}


def value(page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float | None:
    return page.get((name, frozenset(labels.items())))


def test_the_relay_backlog_and_held_endpoints_are_read_at_scrape(
        client: falcon.testing.TestClient, runtime: Runtime, tx: NewAccount) -> None:
    empty = scrape(client)
    assert value(empty, "dlrhub_deliveries_pending") == 0
    assert value(empty, "dlrhub_deliveries_oldest_pending_seconds") == 0
    now = utcnow()
    tenant = tx.account.tenant_id
    with runtime.sessions() as session:
        up = Endpoint(tenant_id=tenant, url="https://example.com/a", secret_encrypted="x")
        tripped = Endpoint(tenant_id=tenant, url="https://example.com/b", secret_encrypted="x",
                           circuit_open_until=now + timedelta(minutes=5))
        off = Endpoint(tenant_id=tenant, url="https://example.com/c", secret_encrypted="x",
                       enabled=False, disabled_reason="failing for 5 days")
        session.add_all([up, tripped, off])
        session.flush()
        session.add_all([
            Delivery(tenant_id=tenant, endpoint_id=up.id, created_at=now - timedelta(minutes=10)),
            Delivery(tenant_id=tenant, endpoint_id=up.id, created_at=now - timedelta(minutes=1)),
            Delivery(tenant_id=tenant, endpoint_id=tripped.id, status=DeliveryStatus.dead),
            Delivery(tenant_id=tenant, endpoint_id=up.id, status=DeliveryStatus.succeeded,
                     created_at=now - timedelta(hours=1)),
        ])
        session.commit()

    page = scrape(client)
    assert value(page, "dlrhub_deliveries_pending") == 2
    assert value(page, "dlrhub_deliveries_dead") == 1
    # the oldest pending one, not the older one that succeeded
    assert 600 <= (value(page, "dlrhub_deliveries_oldest_pending_seconds") or 0) < 3600
    assert value(page, "dlrhub_endpoints_circuit_open") == 1
    assert value(page, "dlrhub_endpoints_disabled") == 1


def test_requests_are_counted_by_route_template_never_by_path(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    path = f"/v1/callbacks/tencent/{new.token}"
    before = scrape(client)
    assert client.simulate_post(path, body=sample("tencent_dlr_v2.json"),
                                headers={"Content-Type": "application/json"}
                                ).status_code == 200
    client.simulate_get("/v1/receipts/rcp_nope")  # 401: refused, still counted by route
    client.simulate_get(f"/nowhere/{new.token}")
    client.simulate_request("TRACE", "/healthz")

    text = client.simulate_get("/metrics").text
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert new.token not in text
    assert "/nowhere" not in text
    assert moved("dlrhub_http_requests_total", route="/v1/callbacks/{provider}/{token}",
                 method="POST", status="200") == 1
    assert moved("dlrhub_http_requests_total", route="/v1/receipts/{receipt_id}",
                 method="GET", status="401") == 1
    assert moved("dlrhub_http_requests_total", route="unmatched", method="GET",
                 status="404") == 1
    assert moved("dlrhub_http_requests_total", route="/healthz", method="other",
                 status="405") == 1
    assert moved("dlrhub_http_request_duration_seconds_count",
                 route="/v1/callbacks/{provider}/{token}", method="POST") == 1


def test_the_queues_are_read_at_scrape(client: falcon.testing.TestClient) -> None:
    page = scrape(client)
    # The embedded broker's folder: nothing sent yet.
    assert value(page, "dlrhub_queue_depth", queue="ingest") == 0
    assert value(page, "dlrhub_queue_depth", queue="relay") == 0


@pytest.mark.postgres
def test_a_scrape_gives_up_on_a_slow_database(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with scrape_connection(engine) as conn, pytest.raises(OperationalError):
            # What a scrape's read would meet in a database that has stopped answering.
            conn.execute(text("SELECT pg_sleep(30)"))
    finally:
        engine.dispose()
