"""Whatever values a provider puts in a record, its neighbours in the task are stored."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlmodel import Session

from dlrhub.models import InboundCallback, utcnow
from dlrhub.services.ingest import ingest
from dlrhub.services.runtime import Runtime
from tests.catalog import JSON, Case, cases
from tests.factories import AccountFactory, InboundCallbackFactory

# A poison record must fail alone on either database's bulk insert and savepoints.
pytestmark = pytest.mark.dialects

# The JSON samples whose records ingest parses without a signature (ingest never checks).
SAMPLES = [c for c in cases() if c.content_type == JSON and c.records]

# What a provider may send: NUL (GSM @), any text, integers far past 64 bits, floats.
values = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.text(alphabet="\x00@a", min_size=1, max_size=5),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from([2**31, 2**63, 2**64, 3_000_000_000]).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _objects(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        return [doc, *(o for v in doc.values() for o in _objects(v))]
    if isinstance(doc, list):
        return [o for v in doc for o in _objects(v)]
    return []


@st.composite
def poisoned(draw: st.DrawFn) -> tuple[Case, bytes]:
    case = draw(st.sampled_from(SAMPLES))
    doc = orjson.loads(case.body)
    objects = _objects(doc)
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(objects))
        if target:
            target[draw(st.sampled_from(sorted(target)))] = draw(values)
    # The standard encoder writes integers of any size, as a provider's JSON may.
    return case, json.dumps(doc, ensure_ascii=False).encode()


def _store(session: Session, account: Any, case: Case, body: bytes) -> str:
    headers = {k.lower(): v for k, v in case.headers(utcnow()).items()}
    row = InboundCallbackFactory.build(account=account, body=body, headers=headers)
    session.add(row)
    session.commit()
    return str(row.id)


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture,
                                  HealthCheck.too_slow])
@given(poisoned())
def test_no_record_strands_the_good_callbacks_of_its_task(
        runtime: Runtime, poison: tuple[Case, bytes]) -> None:
    case, body = poison
    new = AccountFactory(provider=case.provider, credentials=case.credentials or None)
    account = new.account
    with runtime.sessions() as session:
        # The sample as sent (three copies: the first stores it, the others dedupe).
        goods = [_store(session, account, case, case.body) for _ in range(3)]
        bad = _store(session, account, case, body)
        ingest(session, runtime.box, [goods[0], bad, *goods[1:]], now=utcnow())
        session.commit()
        session.expire_all()
        for inbox_id in goods:
            row = session.get(InboundCallback, inbox_id)
            assert row is not None
            assert row.state == "processed", row.reason
        row = session.get(InboundCallback, bad)
        assert row is not None
        # Stored, or refused with a reason and its attempt counted: never left as it was.
        assert row.attempts == 1
        assert row.state == "processed" or row.reason, row.state
