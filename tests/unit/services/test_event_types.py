"""The event-type catalogue: every type dlrhub relays, each example true to the code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dlrhub.api.schemas.events import OperationalEvent
from dlrhub.api.schemas.receipts import Event
from dlrhub.core.vocabulary import OPERATIONAL_EVENTS, EventType
from dlrhub.models import Endpoint
from dlrhub.services import ops_events
from dlrhub.services.event_types import event_types
from dlrhub.services.expectations.rules import missing_event

NOW = datetime(2026, 12, 2, 8, 10, tzinfo=UTC)


def _examples() -> dict[str, dict[str, Any]]:
    return {info.type: info.example for info in event_types()}


def test_every_event_type_is_described_with_an_example_of_its_own_type() -> None:
    infos = event_types()
    assert [i.type for i in infos] == [t.value for t in EventType]
    for info in infos:
        assert info.description.endswith(".")
        assert info.example["type"] == info.type


def test_each_example_is_an_event_as_the_api_documents_it() -> None:
    for info in event_types():
        schema = OperationalEvent if info.operational else Event
        schema.model_validate(info.example)
        assert info.operational == (info.type in OPERATIONAL_EVENTS)


def test_the_dead_delivery_example_has_what_the_relay_writes() -> None:
    endpoint = Endpoint(tenant_id="ten_1", url="https://hooks.example.com/dlr",
                        secret_encrypted="x")
    written = ops_events.delivery_dead(endpoint, "dlv_1", ["evt_1"], 8, 500, "HTTP 500", NOW)
    example = _examples()[EventType.delivery_dead.value]
    assert set(example["data"]) == set(written["details"])


def test_the_missing_receipt_example_has_what_the_sweep_writes() -> None:
    expectation = {"id": "exp_1", "tenant_id": "ten_1", "account_id": "acc_1",
                   "provider": "tencent", "message_id": "m-1", "reference": None,
                   "phone": "+8613800138000", "template": "otp",
                   "sent_at": NOW - timedelta(minutes=10), "deadline_at": NOW,
                   "horizon_at": NOW + timedelta(hours=72)}
    written = missing_event(expectation, NOW)
    example = _examples()[EventType.receipt_missing.value]
    assert set(example["details"]) == set(written["details"])
    assert example["status"] == written["status"]
