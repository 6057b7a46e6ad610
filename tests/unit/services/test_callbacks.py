"""Receiving a callback when the database goes away between the look-up and the INSERT."""

from __future__ import annotations

import orjson
from sqlalchemy import create_engine, func, select

from dlrhub.models import InboundCallback, utcnow
from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.registry import get_provider
from dlrhub.services.accounts import TokenDirectory
from dlrhub.services.callbacks import CallbackLimits, receive_callback
from dlrhub.services.runtime import Runtime
from tests.catalog import cases
from tests.factories import AccountFactory

TENCENT = next(c for c in cases() if c.id == "tencent-dlr-v2")


def test_a_database_lost_after_the_token_lookup_is_a_503_in_the_providers_form(
        runtime: Runtime) -> None:
    # The token is still in the directory's cache when the database goes away: the
    # failure is the inbox INSERT's, and the provider must be told to send it again.
    new = AccountFactory(provider="tencent")
    directory = TokenDirectory(runtime.engine, runtime.box, ttl=60)
    assert directory.find(new.token) is not None
    gone = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 2})
    request = CallbackRequest(body=TENCENT.body, headers={}, content_type=TENCENT.content_type)

    result = receive_callback(gone, directory, get_provider("tencent"), new.token, request,
                              content_length=len(request.body),
                              limits=CallbackLimits(1 << 20, 300), now=utcnow())

    assert (result.answer.status, result.outcome, result.inbox_id) == (503, "unavailable", None)
    assert orjson.loads(result.answer.body)["result"] != 0
    with runtime.sessions() as session:
        stored = session.execute(select(func.count()).select_from(InboundCallback))
        assert stored.scalar_one() == 0
