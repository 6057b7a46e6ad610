"""GET /v1/analytics/delivery on both databases: a hand-computed set, validation, isolation.

The messages go through ``record_messages`` in batches, as ingest will send them (new,
then final), and the API's figures are checked against counts worked out by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.api.schemas.analytics import DeliveryReport as DeliveryReportSchema
from dlrhub.config import Settings
from dlrhub.core.vocabulary import ReasonClass, ReceiptStatus
from dlrhub.services import analytics
from dlrhub.services.analytics import (
    ExpectationFacts,
    MessageFacts,
    record_expectations,
    record_messages,
)
from dlrhub.services.analytics.buckets import EDGES, bucket_of
from dlrhub.services.keys import create_key
from dlrhub.services.runtime import Runtime
from tests.factories import TenantFactory

Client = falcon.testing.TestClient
PATH = "/v1/analytics/delivery"
RANGE = {"since": "2024-01-01T00:00:00Z", "until": "2024-01-03T00:00:00Z"}
S = ReceiptStatus


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def message(tenant_id: str, provider: str, carrier: str | None, template: str,
            anchor: datetime, status: S, reason: ReasonClass | None = None,
            handset: float | None = None, lag: float | None = None) -> MessageFacts:
    return MessageFacts(tenant_id=tenant_id, account_id=f"acc_{provider}", provider=provider,
                        country="CN" if carrier else None, carrier=carrier,
                        template=template, reason_class=reason, status=status,
                        final=status != S.pending, anchor_at=anchor,
                        handset_latency_s=handset, receipt_lag_s=lag)


def load(runtime: Runtime, tenant_id: str) -> None:
    """Record the hand-computed set: 7 messages and 3 expectations over two UTC days.

    msg  provider  carrier        template  UTC       Shanghai  final (handset / lag)
    m1   tencent   china_mobile   otp       01 10:10  01        delivered 4 s / 1 s
    m2   tencent   china_mobile   otp       01 10:20  01        failed invalid_number 20 / 2
    m3   tencent   china_telecom  promo     01 20:30  02        delivered 4 / 1
    m4   huawei    china_unicom   otp       01 11:00  01        (pending)
    m5   huawei    (masked)       otp       01 23:00  02        expired expired, - / -
    m6   tencent   china_mobile   otp       02 03:00  02        failed rate_limited - / 5
    m7   tencent   china_mobile   otp       02 09:00  02        delivered 4 / 1
    Expectations: e1 tencent mobile otp 01 10:10 (met), e2 tencent mobile otp 01 10:20
    (missing), e3 huawei otp 02 09:00 (missing, then met by a late receipt).
    """
    t = tenant_id
    m1 = message(t, "tencent", "china_mobile", "otp", at(1, 10, 10), S.pending)
    m2 = message(t, "tencent", "china_mobile", "otp", at(1, 10, 20), S.pending)
    m4 = message(t, "huawei", "china_unicom", "otp", at(1, 11), S.pending)
    e1 = ExpectationFacts(t, "acc_tencent", "tencent", "CN", "china_mobile", "otp",
                          at(1, 10, 10))
    e2 = replace(e1, anchor_at=at(1, 10, 20))
    e3 = ExpectationFacts(t, "acc_huawei", "huawei", None, None, "otp", at(2, 9))
    with runtime.sessions() as session:
        record_expectations(session, [(None, e1), (None, e2), (None, e3)])
        record_messages(session, [(None, m1), (None, m2), (None, m4)])
        session.commit()
        record_messages(session, [
            (m1, m1._replace(status=S.delivered, final=True, handset_latency_s=4.0,
                         receipt_lag_s=1.0)),
            (m2, m2._replace(status=S.failed, final=True,
                         reason_class=ReasonClass.invalid_number, handset_latency_s=20.0,
                         receipt_lag_s=2.0)),
            (None, message(t, "tencent", "china_telecom", "promo", at(1, 20, 30), S.delivered,
                           handset=4.0, lag=1.0)),
            (None, message(t, "huawei", None, "otp", at(1, 23), S.expired,
                           ReasonClass.expired)),
            (None, message(t, "tencent", "china_mobile", "otp", at(2, 3), S.failed,
                           ReasonClass.rate_limited, lag=5.0)),
            (None, message(t, "tencent", "china_mobile", "otp", at(2, 9), S.delivered,
                           handset=4.0, lag=1.0)),
        ])
        gone2, gone3 = replace(e2, missing=True), replace(e3, missing=True)
        record_expectations(session, [(e2, gone2), (e3, gone3)])
        session.commit()
        record_expectations(session, [(gone3, e3)])  # its receipt came late after all
        session.commit()


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Client:
    return falcon.testing.TestClient(create_app(settings, runtime=runtime))


@pytest.fixture
def tenant(runtime: Runtime) -> tuple[str, dict[str, str]]:
    """A tenant holding the hand-computed set, and its API key's header."""
    tenant_id = TenantFactory().id
    load(runtime, tenant_id)
    with runtime.sessions() as session:
        key = create_key(session, tenant_id=tenant_id, name="test")
        session.commit()
    return tenant_id, {"Authorization": f"Bearer {key.key}"}


def report(client: Client, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    result = client.simulate_get(PATH, headers=headers, params=RANGE | params)
    assert result.status_code == 200, result.text
    data: list[dict[str, Any]] = result.json["data"]
    return data


def figures(group: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(group[n] for n in names)


COUNTS = ("messages", "delivered", "failed", "expired", "rejected", "unknown", "pending",
          "final", "expected", "missing")


def in_bucket_of(value: float | None, seconds: float) -> bool:
    """Whether ``value`` lies in the latency bucket that ``seconds`` counts in."""
    i = bucket_of(seconds)
    return value is not None and EDGES[i - 1] <= value <= EDGES[i]


def test_the_whole_range_in_one_group(client: Client, tenant: tuple[str, dict[str, str]]
                                      ) -> None:
    (everything,) = report(client, tenant[1])
    assert figures(everything, *COUNTS) == (7, 3, 2, 1, 0, 0, 1, 6, 3, 1)
    assert everything["delivery_rate"] == 0.5
    assert everything["reasons"] == {"invalid_number": 1, "rate_limited": 1, "expired": 1}
    # handset latencies 4, 4, 4, 20 s: p50 and p90 among the 4 s, p99 the 20 s
    latency = everything["handset_latency"]
    assert in_bucket_of(latency["p50"], 4.0)
    assert in_bucket_of(latency["p90"], 20.0)
    assert in_bucket_of(latency["p99"], 20.0)
    # lags 1, 2, 1, 5, 1 s (m6 gave a lag without a handset latency)
    assert in_bucket_of(everything["receipt_lag"]["p50"], 1.0)
    assert in_bucket_of(everything["receipt_lag"]["p99"], 5.0)


def test_groups_by_provider_and_carrier(client: Client, tenant: tuple[str, dict[str, str]]
                                        ) -> None:
    by_provider = {g["provider"]: g for g in report(client, tenant[1], group_by="provider")}
    assert figures(by_provider["tencent"], *COUNTS) == (5, 3, 2, 0, 0, 0, 0, 5, 2, 1)
    assert by_provider["tencent"]["delivery_rate"] == 0.6
    assert figures(by_provider["huawei"], *COUNTS) == (2, 0, 0, 1, 0, 0, 1, 1, 1, 0)
    assert by_provider["huawei"]["delivery_rate"] == 0.0
    assert by_provider["huawei"]["handset_latency"] == {"p50": None, "p90": None, "p99": None}

    groups = report(client, tenant[1], group_by="provider,carrier")
    keyed = {(g["provider"], g["carrier"]): figures(g, "messages", "delivered", "expected")
             for g in groups}
    assert keyed == {("huawei", None): (1, 0, 1), ("huawei", "china_unicom"): (1, 0, 0),
                     ("tencent", "china_mobile"): (4, 2, 2),
                     ("tencent", "china_telecom"): (1, 1, 0)}
    unicom = next(g for g in groups if g["carrier"] == "china_unicom")
    assert unicom["delivery_rate"] is None  # nothing final yet


def test_days_in_utc_and_in_shanghai(client: Client, tenant: tuple[str, dict[str, str]]
                                     ) -> None:
    utc = {g["day"]: figures(g, "messages", "delivered", "expected", "missing")
           for g in report(client, tenant[1], group_by="day")}
    assert utc == {"2024-01-01": (5, 2, 2, 1), "2024-01-02": (2, 1, 1, 0)}
    shanghai = {g["day"]: figures(g, "messages", "delivered", "expected", "missing")
                for g in report(client, tenant[1], group_by="day", tz="Asia/Shanghai")}
    assert shanghai == {"2024-01-01": (3, 1, 2, 1), "2024-01-02": (4, 2, 1, 0)}


def test_hours_templates_and_reasons(client: Client, tenant: tuple[str, dict[str, str]]
                                     ) -> None:
    hours = report(client, tenant[1], group_by="hour")
    assert [(g["hour"], g["messages"]) for g in hours] == [
        ("2024-01-01T10:00:00Z", 2), ("2024-01-01T11:00:00Z", 1), ("2024-01-01T20:00:00Z", 1),
        ("2024-01-01T23:00:00Z", 1), ("2024-01-02T03:00:00Z", 1), ("2024-01-02T09:00:00Z", 1)]
    groups = report(client, tenant[1], group_by="template,reason_class")
    keyed = {(g["template"], g["reason_class"]): figures(g, "messages", "failed", "expired")
             for g in groups}
    assert keyed == {("otp", None): (3, 0, 0), ("otp", "invalid_number"): (1, 1, 0),
                     ("otp", "rate_limited"): (1, 1, 0), ("otp", "expired"): (1, 0, 1),
                     ("promo", None): (1, 0, 0)}
    assert all(set(g) & {"reasons", "provider", "hour", "day"} == set() for g in groups)


def test_filters_narrow_every_figure(client: Client, tenant: tuple[str, dict[str, str]]
                                     ) -> None:
    (mobile,) = report(client, tenant[1], carrier="china_mobile")
    assert figures(mobile, "messages", "delivered", "failed", "expected", "missing") == (
        4, 2, 2, 2, 1)
    assert mobile["reasons"] == {"invalid_number": 1, "rate_limited": 1}
    (failed_fast,) = report(client, tenant[1], reason_class="rate_limited")
    assert figures(failed_fast, "messages", "failed") == (1, 1)
    assert report(client, tenant[1], provider="nxcloud") == []


def test_a_range_off_whole_days_agrees_with_its_hours(
        client: Client, tenant: tuple[str, dict[str, str]]) -> None:
    # day rows for 2024-01-02, hour rows for 01 10:00-24:00 and 03 00:00-05:00
    params = {"since": "2024-01-01T10:15:00+00:00", "until": "2024-01-03T05:00:00Z"}
    result = client.simulate_get(PATH, headers=tenant[1], params=params)
    assert result.json["since"] == "2024-01-01T10:00:00Z"
    (whole,) = result.json["data"]
    hours = client.simulate_get(PATH, headers=tenant[1],
                                params=params | {"group_by": "hour"}).json["data"]
    assert whole["messages"] == sum(g["messages"] for g in hours) == 7
    assert whole["delivered"] == sum(g["delivered"] for g in hours) == 3
    later = client.simulate_get(PATH, headers=tenant[1], params={
        "since": "2024-01-01T11:00:00Z", "until": "2024-01-02T05:00:00Z"}).json["data"]
    assert later[0]["messages"] == 4  # m4, m3, m5, m6


def test_a_zone_with_daylight_saving_counts_each_hour_in_its_local_day(
        client: Client, runtime: Runtime) -> None:
    tenant_id = TenantFactory().id
    # New York moves to UTC-4 at 2024-03-10 07:00 UTC: 03:30 UTC is still the 9th there,
    # 04:30 UTC is the 10th after the change (00:30 EDT)
    moments = [datetime(2024, 3, 10, 3, 30, tzinfo=UTC), datetime(2024, 3, 11, 4, 30, tzinfo=UTC)]
    with runtime.sessions() as session:
        record_messages(session, [(None, message(tenant_id, "tencent", "china_mobile", "otp",
                                                 m, S.delivered)) for m in moments])
        session.commit()
        result = analytics.delivery(session, tenant_id=tenant_id, group_by="day",
                                    tz="America/New_York",
                                    since=datetime(2024, 3, 9, tzinfo=UTC),
                                    until=datetime(2024, 3, 12, tzinfo=UTC))
    assert [(g["day"], g["messages"]) for g in result.data] == [("2024-03-09", 1),
                                                                ("2024-03-11", 1)]


def test_another_tenant_sees_none_of_it(client: Client, runtime: Runtime,
                                        tenant: tuple[str, dict[str, str]]) -> None:
    other = TenantFactory().id
    with runtime.sessions() as session:
        key = create_key(session, tenant_id=other, name="other")
        session.commit()
    headers = {"Authorization": f"Bearer {key.key}"}
    assert report(client, headers) == []
    assert report(client, headers, account_id="acc_tencent") == []
    assert client.simulate_get(PATH, params=RANGE).status_code == 401


@pytest.mark.parametrize(("params", "field"), [
    ({"group_by": "provider,colour"}, "group_by"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2024-06-01T00:00:00Z"}, "since"),
    ({"since": "2024-01-02T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until"),
    ({"since": "2024-01-02T00:00:00"}, "since"),
    ({"reason_class": "bad_luck"}, "reason_class"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_queries_are_problems_naming_the_field(
        client: Client, tenant: tuple[str, dict[str, str]], params: dict[str, str],
        field: str) -> None:
    result = client.simulate_get(PATH, headers=tenant[1], params=params)
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["field"] == field


def test_too_many_groups_is_refused(client: Client, tenant: tuple[str, dict[str, str]],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analytics.query, "MAX_GROUPS", 3)
    assert len(report(client, tenant[1], group_by="day")) == 2
    result = client.simulate_get(PATH, headers=tenant[1], params=RANGE | {"group_by": "hour"})
    assert result.status_code == 422
    assert "narrow" in result.json["detail"]


def test_large_batches_and_several_in_one_transaction_add_up(runtime: Runtime) -> None:
    tenant_id = TenantFactory().id
    carriers = ("china_mobile", "china_unicom", "china_telecom", None)
    batch = [(None, message(tenant_id, "tencent", carriers[i % 4], f"tpl_{i % 7}",
                            at(1, i % 24, i % 60), S.delivered if i % 5 else S.failed,
                            None if i % 5 else ReasonClass.network_error,
                            handset=float(i % 90), lag=1.0))
             for i in range(3000)]
    with runtime.sessions() as session:
        # two batches in one transaction: the second must not add the first's rows again
        record_messages(session, batch[:1000])
        record_messages(session, batch[1000:])
        session.commit()
        result = analytics.delivery(session, tenant_id=tenant_id, group_by="carrier",
                                    since=at(1, 0), until=at(2, 0))
    by_carrier = {g["carrier"]: (g["messages"], g["failed"]) for g in result.data}
    assert by_carrier == {"china_mobile": (750, 150), "china_unicom": (750, 150),
                          "china_telecom": (750, 150), None: (750, 150)}


@pytest.mark.parametrize("group_by", ["", "provider,carrier", "day", "hour,reason_class",
                                      "template,account_id,country"])
def test_the_answer_is_what_its_schema_documents(
        client: Client, tenant: tuple[str, dict[str, str]], group_by: str) -> None:
    # The resource writes the service's figures directly (a schema round trip of 10,000
    # groups cost more than the query): they must be exactly what the schema says.
    result = client.simulate_get(PATH, headers=tenant[1],
                                 params=RANGE | ({"group_by": group_by} if group_by else {}))
    assert result.status_code == 200, result.text
    documented = DeliveryReportSchema.model_validate(result.json).model_dump(
        mode="json", exclude_unset=True)
    assert result.json["data"]
    assert result.json == documented
