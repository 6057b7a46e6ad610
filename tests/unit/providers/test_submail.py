"""Submail SUBHOOK points the conformance kit does not cover: template reviews, the
account without a key, and the replay window that stands in for a body signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest
from dlrhub.providers.submail import provider as submail
from dlrhub.providers.submail import signature

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def _account(key: str = "k", **options: str) -> Account:
    return Account(id="a", provider="submail", credentials={"key": key} if key else {},
                   timezone=ZoneInfo("Asia/Shanghai"), options=options)


def _push(at: datetime, key: str = "k", **fields: str) -> CallbackRequest:
    token = "067ef7e2f286a9a56eabb07dc9657852"
    body = urlencode({**fields, "timestamp": str(int(at.timestamp())), "token": token,
                      "signature": signature(token, key)}).encode()
    return CallbackRequest(body=body, headers={}, content_type=FORM)


def test_a_template_review_is_acknowledged_and_gives_no_event() -> None:
    push = _push(NOW, events="template_reject", reason="签名不正确", template_id="H5OSN4")
    submail.authenticate(push, _account(), NOW, 300)
    assert submail.extract(push, _account()) == []
    assert submail.answer(push, None, ok=True).status == 200


def test_a_replayed_push_is_refused_unless_the_window_is_turned_off() -> None:
    old = _push(NOW - timedelta(hours=2), events="delivered", address="13800138000",
                send_id="s1")
    with pytest.raises(AuthError):
        submail.authenticate(old, _account(), NOW, 300)
    submail.authenticate(old, _account(timestamp_check="off"), NOW, 300)
    with pytest.raises(AuthError):
        submail.authenticate(_push(NOW, key="other", events="delivered"),
                             _account(timestamp_check="off"), NOW, 300)


def test_an_account_without_a_key_takes_unsigned_pushes_by_its_url_token() -> None:
    push = CallbackRequest(body=b"events=unknown&address=13800138000&send_id=s2",
                           headers={}, content_type=FORM)
    submail.authenticate(push, _account(key=""), NOW, 300)
    [event] = [submail.normalize(r, _account(key="")) for r in
               submail.extract(push, _account(key=""))]
    assert (event.status, event.message_id, event.reported_at) == ("unknown", "s2", None)
