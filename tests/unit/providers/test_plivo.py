"""Plivo: X-Plivo-Signature-V3 (and V2) over the URL and params, statuses, answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.plivo import provider, v2_signature, v3_base, v3_signature
from dlrhub.services.insight.reasons import classify
from tests.fixtures import sample

FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
TOKEN = "my_auth_token"
ACCOUNT = Account(id="acc_p", provider="plivo", credentials={"auth_token": TOKEN},
                  timezone=ZoneInfo("UTC"), default_region=None)
V2_ACCOUNT = replace(ACCOUNT, options={"signature_v2": "accept"})
# Our V3 vector (wave2-vectors.out), from the algorithm of Plivo's Python library.
V3_URL = "https://example.com/dlr?tenant=t1"
V3_NONCE = "05429567804466091622"
V3_PARAMS = {"MessageUUID": "db3ce55a-7f1d-11e1-8ea7-1231380bc196", "Status": "delivered",
             "To": "14155551234", "From": "14155550000", "ErrorCode": ""}
URL = "https://hub.example.com/v1/callbacks/plivo/tok"
STATUS = {"MessageUUID": "0936ec98-7c4c-11e4-9bd8-22000afa12b9", "From": "14155550000",
          "To": "447700900123", "Type": "sms", "Status": "undelivered", "ErrorCode": "30",
          "Units": "2", "TotalRate": "0.0050", "TotalAmount": "0.0100", "MCC": "234",
          "MNC": "10", "Sequence": "3", "ParentMessageUUID": "0936ec98-7c4c-11e4-9bd8-22000afa12b9",
          "PartInfo": "", "QueuedTime": "2026-03-04 05:05:58.120000",
          "SentTime": "2026-03-04 05:06:00.350000",
          "DeliveryReportTime": "2026-03-04 05:06:05.000000"}


def vectors() -> dict[str, str]:
    out = {}
    for line in sample("wave2-vectors.out").decode().splitlines():
        name, rest = line.strip("()").split(", ", 1)
        out[name.strip("'")] = rest.rsplit(", ", 1)[0].strip("'")
    return out


def signed(fields: dict[str, str], url: str = URL, *, nonce: str = "12345678901234567890",
           token: str = TOKEN, method: str = "POST") -> CallbackRequest:
    query = url.partition("?")[2]
    body = b"" if method == "GET" else urlencode(fields).encode()
    headers = {"x-plivo-signature-v3": v3_signature(token, method, url,
                                                    {} if method == "GET" else fields, nonce),
               "x-plivo-signature-v3-nonce": nonce}
    return CallbackRequest(body=body, headers=headers, content_type="" if method == "GET"
                           else FORM, method=method, url=url, query=query)


def events(request: CallbackRequest) -> list[Event]:
    provider.authenticate(request, ACCOUNT, NOW, 300)
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def test_the_v3_vector() -> None:
    got = vectors()
    assert v3_base("POST", V3_URL, V3_PARAMS) + "." + V3_NONCE == got["plivo_v3_ours_base"]
    assert v3_signature(TOKEN, "POST", V3_URL, V3_PARAMS, V3_NONCE) == got["plivo_v3_ours_sig"]
    assert got["plivo_v3_ours_sig"] == "IVwxqnDMvXyY1ClSSCOOSGshshRxbyB9058F4poZKkA="
    request = CallbackRequest(body=urlencode(V3_PARAMS).encode(), content_type=FORM,
                              url=V3_URL, query="tenant=t1", headers={
                                  "x-plivo-signature-v3": got["plivo_v3_ours_sig"],
                                  "x-plivo-signature-v3-nonce": V3_NONCE})
    provider.authenticate(request, ACCOUNT, NOW, 300)


@pytest.mark.parametrize(("url", "nonce", "expected"), [
    ("https://answer.url", "12345", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc="),
    ("https://answer.url:8000", "24725744043720739450",
     "LDphWoWimP4QM5AoWI1uwP6WmlWtt5ITPZjXIWYvCNU="),
])
def test_plivos_v2_vectors(url: str, nonce: str, expected: str) -> None:
    assert v2_signature(TOKEN, url, nonce) == expected
    request = CallbackRequest(body=urlencode(STATUS).encode(), content_type=FORM, url=url,
                              headers={"x-plivo-signature-v2": expected,
                                       "x-plivo-signature-v2-nonce": nonce})
    # V2 alone signs no body: refused unless the account accepts it
    with pytest.raises(AuthError, match="signature_v2=accept"):
        provider.authenticate(request, ACCOUNT, NOW, 300)
    provider.authenticate(request, V2_ACCOUNT, NOW, 300)
    # ...and then the body is not what it signs: another body passes too (why it is off)
    provider.authenticate(replace(request, body=b"MessageUUID=x&Status=delivered"),
                          V2_ACCOUNT, NOW, 300)


def test_one_of_several_v3_signatures_is_enough() -> None:
    request = signed(STATUS)
    several = f"c29tZXRoaW5nIGVsc2U=, {request.headers['x-plivo-signature-v3']}"
    provider.authenticate(CallbackRequest(body=request.body, content_type=FORM, url=URL,
                                          headers={**request.headers,
                                                   "x-plivo-signature-v3": several}),
                          ACCOUNT, NOW, 300)


@pytest.mark.parametrize(("change", "why"), [
    ({"body": urlencode({**STATUS, "Status": "delivered"}).encode()}, "V3 header does not"),
    ({"url": URL + "?x=1"}, "V3 header does not"),
    ({"headers": {"x-plivo-signature-v3": "x"}}, "Nonce header is missing"),
    ({"headers": {}}, "V3 header is missing"),
    ({"headers": {"x-plivo-signature-v2": "x", "x-plivo-signature-v2-nonce": "1"}},
     "V2 header does not"),
])
def test_tampered_or_unsigned_callbacks_are_refused(change: dict[str, object], why: str) -> None:
    good = signed(STATUS)
    fields = {"body": good.body, "headers": good.headers, "url": good.url,
              "content_type": FORM} | change
    # A V2 signature is only looked at where the account accepts V2 alone.
    account = V2_ACCOUNT if "V2" in why else ACCOUNT
    with pytest.raises(AuthError, match=why):
        provider.authenticate(CallbackRequest(**fields), account, NOW, 300)  # type: ignore[arg-type]


def test_another_accounts_token_and_an_account_without_one_are_refused() -> None:
    with pytest.raises(AuthError, match="does not match"):
        provider.authenticate(signed(STATUS, token="other"), ACCOUNT, NOW, 300)
    with pytest.raises(AuthError, match="no auth_token"):
        provider.authenticate(signed(STATUS), Account(id="a", provider="plivo"), NOW, 300)


def test_an_undelivered_message_with_its_code_sequence_and_times() -> None:
    (event,) = events(signed(STATUS))
    assert (event.type, event.status, event.provider_status) == (
        "sms.status", "failed", "undelivered")
    assert (event.message_id, event.phone) == (STATUS["MessageUUID"], "+447700900123")
    assert (event.error_code, event.segments) == ("30", 2)
    assert event.submitted_at == datetime(2026, 3, 4, 5, 6, 0, 350000, tzinfo=UTC)
    assert event.reported_at == datetime(2026, 3, 4, 5, 6, 5, tzinfo=UTC)
    assert event.raw["Sequence"] == "3"
    assert classify("plivo", event.status, event.error_code).reason_class == "content_blocked"


@pytest.mark.parametrize(("status", "expected"), [
    ("queued", "pending"), ("sent", "pending"), ("delivered", "delivered"),
    ("read", "delivered"), ("failed", "failed"), ("undelivered", "failed"),
    ("rejected", "rejected"), ("Delivered", "delivered"),
])
def test_status_map(status: str, expected: str) -> None:
    (event,) = events(signed({**STATUS, "Status": status}))
    assert event.status == expected
    assert event.error_code == ("30" if expected in ("failed", "rejected") else None)


def test_a_status_callback_by_get_is_signed_over_its_query() -> None:
    url = f"{URL}?{urlencode(STATUS)}"
    (event,) = events(signed(STATUS, url, method="GET"))
    assert (event.status, event.error_code) == ("failed", "30")


def test_an_incoming_message() -> None:
    fields = {"From": "447700900123", "To": "14155550000", "Text": "STOP", "Type": "sms",
              "MessageUUID": "5b40a428-bfc7-4daf-9d06-726c558bf3b8", "Units": "1"}
    (event,) = events(signed(fields))
    assert (event.type, event.status, event.phone, event.text, event.segments) == (
        "sms.inbound", "received", "+447700900123", "STOP", 1)


@pytest.mark.parametrize("body", [b"", b"Status=sent", b"Text=hi", b"From=1", b"a=%ff"])
def test_bodies_without_what_plivo_sends_are_400(body: bytes) -> None:
    with pytest.raises(ParseError):
        provider.extract(CallbackRequest(body=body, headers={}, content_type=FORM), ACCOUNT)


def test_answers_and_simulation() -> None:
    request = CallbackRequest(body=b"", headers={})
    ok = provider.answer(request, ACCOUNT, ok=True)
    assert (ok.status, ok.body, ok.content_type) == (200, b"<Response></Response>",
                                                     "application/xml")
    bad = provider.answer(request, ACCOUNT, ok=False, status=401, reason="no")
    assert (bad.status, bad.body) == (401, b"no")
    account = Account(id="a", provider="plivo", credentials={"auth_token": "t"},
                      callback_url=URL, timezone=ZoneInfo("UTC"), default_region=None)
    for kind in ("status", "inbound"):
        sim = provider.simulate(account, count=2, seq=9, now=NOW, kind=kind)
        request = CallbackRequest(body=sim.body, content_type=sim.content_type, url=URL,
                                  headers={k.lower(): v for k, v in sim.headers.items()})
        provider.authenticate(request, account, NOW, 300)
        v2_only = CallbackRequest(body=sim.body, content_type=sim.content_type, url=URL,
                                  headers={k.lower(): v for k, v in sim.headers.items()
                                           if "V3" not in k})
        with pytest.raises(AuthError, match="signature_v2"):
            provider.authenticate(v2_only, account, NOW, 300)
        provider.authenticate(v2_only, replace(account, options={"signature_v2": "accept"}),
                              NOW, 300)
        assert len(provider.extract(request, account)) == sim.records == 1
    with pytest.raises(ValueError, match="auth_token"):
        provider.simulate(Account(id="a", provider="plivo"), count=1, seq=1, now=NOW)
