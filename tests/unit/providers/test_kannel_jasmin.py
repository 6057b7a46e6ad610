"""Kannel's DLR types and Jasmin's answers: what the conformance kit does not vary."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from dlrhub.providers.base import Account, CallbackRequest, ParseError
from dlrhub.providers.jasmin import provider as jasmin
from dlrhub.providers.jasmin import status_of
from dlrhub.providers.kannel import provider as kannel

KANNEL = Account(id="acc_k", provider="kannel", default_region=None)
JASMIN = Account(id="acc_j", provider="jasmin", default_region=None)


def kannel_events(**fields: str) -> list[tuple[str, str | None, str | None]]:
    request = CallbackRequest(body=b"", headers={}, method="GET", query=urlencode(fields))
    events = [kannel.normalize(r, KANNEL) for r in kannel.extract(request, KANNEL)]
    return [(e.status, e.provider_status, e.error_code) for e in events]


@pytest.mark.parametrize(("dlr_type", "status"), [
    ("1", "delivered"), ("2", "failed"), ("4", "pending"), ("8", "pending"),
    ("16", "rejected"), ("9", "delivered"),  # 1|8: on the phone, whatever else it says
    ("18", "failed"),
    ("32", "pending"), ("33", "delivered"),  # 32: an intermediate report (gw/dlr.h)
])
def test_the_dlr_type_gives_the_status(dlr_type: str, status: str) -> None:
    assert kannel_events(type=dlr_type, id="m1")[0][0] == status


@pytest.mark.parametrize("dlr_type", ["0", "64", "abc", "", "-1", "1.0", "１"])
def test_a_type_that_is_no_dlr_type_is_refused(dlr_type: str) -> None:
    with pytest.raises(ParseError):
        kannel_events(type=dlr_type, id="m1")


def test_a_raw_that_is_not_a_receipt_leaves_the_type_to_decide() -> None:
    assert kannel_events(type="2", id="m1", raw="Message rejected by SMSC") == [
        ("failed", "2", None)]
    # a delivered type wins over a receipt text that says otherwise
    assert kannel_events(type="1", id="m1", raw="id:1 stat:UNDELIV err:027")[0][0] == \
        "delivered"


def test_a_query_that_is_neither_report_nor_reply_is_refused() -> None:
    for query in ({}, {"id": "m1"}, {"type": "1"}, {"text": "hi"}):
        with pytest.raises(ParseError):
            kannel_events(**query)


@pytest.mark.parametrize(("status", "body", "accepted"), [
    (200, b"ACK/Jasmin", True), (200, b"ACK/Jasmin\n", False), (200, b"ack/jasmin", False),
    (200, b"OK", False), (201, b"ACK/Jasmin", False), (500, b"ACK/Jasmin", False),
])
def test_jasmin_takes_only_exactly_ack_jasmin(status: int, body: bytes,
                                             accepted: bool) -> None:
    assert jasmin.accepts_answer(status, body) is accepted


def test_jasmin_refusals_are_not_an_ack() -> None:
    request = CallbackRequest(body=b"", headers={})
    refused = jasmin.answer(request, None, ok=False, status=400, reason="bad")
    assert (refused.status, refused.body) == (400, b"NACK/bad")
    assert jasmin.answer(request, None, ok=True).body == b"ACK/Jasmin"


@pytest.mark.parametrize(("message_status", "status"), [
    ("ESME_ROK", "pending"), ("esme_rok", "pending"), ("ESME_RTHROTTLED", "rejected"),
    ("DELIVRD", "delivered"), ("UNDELIV", "failed"), ("MK:0001", "failed"),
])
def test_jasmin_message_status(message_status: str, status: str) -> None:
    assert status_of(message_status) == status
