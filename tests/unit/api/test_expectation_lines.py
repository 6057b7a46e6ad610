"""A line of an expectation stream becomes what the service takes, field for field."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import orjson
import pytest

from dlrhub.api.resources.expectations import parse_line
from dlrhub.api.schemas.expectations import ExpectationCreate
from dlrhub.services.errors import InvalidInput
from dlrhub.services.expectations.register import NewExpectation


def test_every_field_of_the_api_reaches_the_service() -> None:
    assert set(ExpectationCreate.model_fields) == {
        f.name for f in dataclasses.fields(NewExpectation)}


def test_a_line_is_read_whole() -> None:
    line = orjson.dumps({"account_id": "acc_1", "message_id": "m", "phone": "+8613800000001",
                         "sent_at": "2026-12-02T10:00:00Z", "deadline_seconds": 60,
                         "template": "otp", "reference": "order-1"})

    assert parse_line(line) == NewExpectation(
        account_id="acc_1", message_id="m", phone="+8613800000001",
        sent_at=datetime(2026, 12, 2, 10, tzinfo=UTC), deadline_seconds=60,
        template="otp", reference="order-1")


@pytest.mark.parametrize(("line", "field"), [
    (b"{", "line"), (b'{"account_id": "a"}', "message_id"),
    (b'{"account_id": "a", "message_id": "m", "deadline_seconds": 0}', "deadline_seconds")])
def test_a_bad_line_names_what_is_wrong(line: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_line(line)
    assert caught.value.field == field
