"""Vonage SMS API: receipts by GET, form or JSON; ``sig`` in every method; err-codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.vonage import provider, signature
from dlrhub.services.insight.reasons import classify
from tests.fixtures import sample

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
SECRET = "secret"
UNSIGNED = Account(id="acc_v", provider="vonage", timezone=ZoneInfo("UTC"),
                   default_region=None)
VECTOR = {"a": "1", "b": "2", "timestamp": "1461605396"}
VECTOR_AT = datetime.fromtimestamp(1461605396, UTC)


def account(method: str | None = None, secret: str = SECRET) -> Account:
    creds = {"signature_secret": secret} | ({"signature_method": method} if method else {})
    return Account(id="acc_v", provider="vonage", credentials=creds,
                   timezone=ZoneInfo("UTC"), default_region=None)


def vector_value(prefix: str) -> str:
    for line in sample("vonage_signature_vector.txt").decode().splitlines():
        if line.startswith(prefix):
            return line.rsplit(" ", 1)[1]
    raise KeyError(prefix)


def dlr(**changes: str) -> dict[str, str]:
    return {**orjson.loads(sample("vonage_dlr.json")), **changes}


def signed(fields: dict[str, str], *, method: str = "md5hash", secret: str = SECRET,
           at: datetime = NOW, how: str = "json") -> CallbackRequest:
    fields = {**fields, "timestamp": str(int(at.timestamp())), "nonce": "n-1"}
    fields["sig"] = signature(fields, secret, method)
    if how == "get":
        return CallbackRequest(body=b"", headers={}, method="GET", query=urlencode(fields))
    if how == "form":
        return CallbackRequest(body=urlencode(fields).encode(), headers={}, content_type=FORM)
    return CallbackRequest(body=orjson.dumps(fields), headers={}, content_type=JSON)


def events(request: CallbackRequest, acc: Account | None = None) -> list[Event]:
    acc = acc or account()
    provider.authenticate(request, acc, NOW, 300)
    return [provider.normalize(r, acc) for r in provider.extract(request, acc)]


def test_the_official_md5hash_vector_and_our_hmac_sha256() -> None:
    assert signature(VECTOR, SECRET) == vector_value("md5hash") == \
        "6af838ef94998832dbfc29020b564830"
    assert signature(VECTOR, SECRET, "sha256") == vector_value("# hmac-sha256")
    request = CallbackRequest(body=b"", headers={}, method="GET", query=urlencode(
        {**VECTOR, "sig": "6AF838EF94998832DBFC29020B564830"}))
    provider.authenticate(request, account(), VECTOR_AT, 300)


def test_ampersands_and_equals_in_values_are_signed_as_underscores() -> None:
    assert signature({"text": "a&b=c"}, SECRET) == signature({"text": "a_b_c"}, SECRET)


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("how", ["json", "form", "get"])
def test_a_signed_receipt_passes_in_every_method_and_transport(method: str, how: str) -> None:
    (event,) = events(signed(dlr(), method=method, how=how), account(method))
    assert (event.status, event.message_id) == ("delivered", "0B00000127FDBC63")


def test_the_documented_receipt() -> None:
    (event,) = events(CallbackRequest(body=sample("vonage_dlr.json").strip(), headers={},
                                      content_type=JSON), UNSIGNED)
    assert (event.type, event.status, event.provider_status) == (
        "sms.status", "delivered", "delivered")
    assert (event.message_id, event.phone, event.price) == (
        "0B00000127FDBC63", "+447547232824", "0.03330000")
    assert event.error_code is None
    # scts 1810251310: the carrier's minute, in the account's zone (UTC).
    assert event.reported_at == datetime(2018, 10, 25, 13, 10, tzinfo=UTC)
    assert event.raw["network-code"] == "23410"


@pytest.mark.parametrize(("status", "expected"), [
    ("delivered", "delivered"), ("accepted", "pending"), ("buffered", "pending"),
    ("expired", "expired"), ("failed", "failed"), ("undelivered", "failed"),
    ("rejected", "rejected"), ("unknown", "unknown"),
])
def test_status_map(status: str, expected: str) -> None:
    (event,) = events(signed(dlr(status=status, **{"err-code": "6"})))
    assert event.status == expected
    assert event.error_code == (None if expected in ("delivered", "pending") else "6")


@pytest.mark.parametrize(("code", "reason_class"), [
    ("2", "unreachable_powered_off"), ("3", "invalid_number"), ("4", "blacklisted"),
    ("6", "content_blocked"), ("8", "network_error"), ("14", "carrier_unspecified_block"),
    ("15", "suspended_or_no_credit"), ("99", "other_unknown"),
])
def test_err_codes_get_their_class_even_on_a_mainland_number(code: str,
                                                             reason_class: str) -> None:
    assert classify("vonage", "failed", code, carrier="china_mobile", country="CN"
                    ).reason_class == reason_class


def test_client_ref_is_the_reference() -> None:
    (event,) = events(signed(dlr(status="failed", **{"client-ref": "order-7",
                                                     "err-code": "2"})))
    assert (event.reference, event.error_code, event.status) == ("order-7", "2", "failed")


@pytest.mark.parametrize(("change", "why"), [
    ({"sig": "0" * 32}, "sig does not match"),
    ({"status": "failed"}, "sig does not match"),
    ({"sig": None}, "no sig"),
    ({"timestamp": "soon"}, "timestamp"),
    ({"timestamp": None}, "timestamp"),
])
def test_tampered_or_unsigned_receipts_are_refused(change: dict[str, str | None],
                                                   why: str) -> None:
    fields = orjson.loads(signed(dlr()).body)
    for key, value in change.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    request = CallbackRequest(body=orjson.dumps(fields), headers={}, content_type=JSON)
    with pytest.raises(AuthError, match=why):
        provider.authenticate(request, account(), NOW, 300)


def test_stale_another_secret_or_method_is_refused() -> None:
    for request, acc in (
        (signed(dlr(), at=NOW - timedelta(seconds=301)), account()),
        (signed(dlr(), secret="other"), account()),
        (signed(dlr(), method="sha1"), account("sha256")),
    ):
        with pytest.raises(AuthError):
            provider.authenticate(request, acc, NOW, 300)
    with pytest.raises(AuthError, match="signature_method must be one of"):
        provider.authenticate(signed(dlr()), account("crc32"), NOW, 300)
    half = Account(id="a", provider="vonage", credentials={"signature_method": "md5"})
    with pytest.raises(AuthError, match="no signature_secret"):
        provider.authenticate(signed(dlr()), half, NOW, 300)


def test_an_unsigned_account_takes_any_receipt() -> None:
    request = CallbackRequest(body=b"", headers={}, method="GET", query=urlencode(dlr()))
    assert [e.status for e in events(request, UNSIGNED)] == ["delivered"]


def test_an_inbound_message() -> None:
    fields = {"msisdn": "447700900001", "to": "447700900000",
              "messageId": "0A0000000123ABCD", "text": "Hello & bye", "type": "text",
              "keyword": "HELLO", "message-timestamp": "2026-03-04 05:06:07"}
    (event,) = events(signed(fields, how="form"))
    assert (event.type, event.phone, event.text, event.message_id, event.reported_at) == (
        "sms.inbound", "+447700900001", "Hello & bye", "0A0000000123ABCD",
        datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))


@pytest.mark.parametrize("body", [b"{}", b"[]", b"status=delivered", b"msisdn=1&text=x",
                                  b"{bad"])
def test_callbacks_without_what_vonage_sends_are_400(body: bytes) -> None:
    with pytest.raises(ParseError):
        provider.extract(CallbackRequest(body=body, headers={}), UNSIGNED)


def test_answers_and_simulation() -> None:
    request = CallbackRequest(body=b"", headers={})
    assert provider.answer(request, None, ok=True).body == b"OK"
    assert provider.answer(request, None, ok=False, status=401, reason="x").status == 401
    for acc in (UNSIGNED, account("sha512")):
        for kind in ("status", "inbound"):
            sim = provider.simulate(acc, count=4, seq=9, now=NOW, kind=kind)
            got = events(CallbackRequest(body=sim.body, headers={},
                                         content_type=sim.content_type), acc)
            assert len(got) == sim.records == 1
