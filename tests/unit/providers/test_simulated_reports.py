"""Each adapter renders a scenario's planned reports in its provider's own form.

For every provider and every reason class of a mix that holds all twelve, the rendered
callback is authenticated and normalized as the hub would, and must give back the
planned status, code, phone, message id, segments, part and the times the provider
carries; ingest's look-up then gives it the class the plan says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dlrhub.models import ReasonClass
from dlrhub.providers.base import Account, CallbackRequest, Event, PlannedReport
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.insight.numbers import locate
from dlrhub.services.insight.reasons import classify
from dlrhub.services.simulation import mix
from dlrhub.services.simulation.plan import plan

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
SECRETS = {"netease": {"app_key": "key", "app_secret": "secret"},
           "nxcloud": {"access_key": "ak", "access_secret": "as"},
           "huawei": {"access_key": "ak", "secret_key": "sk"},
           "chuanglan": {"account": "N1", "password": "pw"},
           "montnets": {"userid": "J1", "password": "pw"},
           "baidu": {"token": "token"},
           "twilio": {"auth_token": "token"},
           "telnyx": {"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
           "plivo": {"auth_token": "token"},
           "vonage": {"signature_secret": "secret", "signature_method": "sha256"},
           "vonage_messages": {"signature_secret": "secret"},
           "bird": {"signing_key": "key"},
           "infobip": {"username": "u", "password": "p"}}
# What each provider's report carries of the times (the others it cannot say).
TIMES = {"tencent": ("reported_at",), "ucloud": ("reported_at",),
         "huawei": ("reported_at",), "nxcloud": ("submitted_at",),
         "aliyun": ("submitted_at", "reported_at"),
         "netease": ("submitted_at", "reported_at"),
         "cloopen": ("submitted_at", "reported_at"),
         # the SMPP done date to the second (Kannel); Jasmin's is to the minute
         "kannel": ("reported_at",), "jasmin": (), "yunpian": ("reported_at",),
         "chuanglan": ("reported_at",), "montnets": ("submitted_at", "reported_at"),
         "baidu": ("submitted_at", "reported_at"), "qiniu": ("reported_at",),
         "submail": ("reported_at",), "volcengine": ("submitted_at", "reported_at"),
         # RawDlrDoneDate has minute precision: the planned second is not carried.
         "twilio": (),
         "telnyx": ("submitted_at", "reported_at"),
         "plivo": ("submitted_at", "reported_at"),
         # scts has minute precision: the planned second is not carried.
         "vonage": (),
         "vonage_messages": ("reported_at",),
         "bird": ("reported_at",),
         "infobip": ("submitted_at", "reported_at"),
         "africastalking": (),
         "sinch": ("reported_at",),
         "aws_sns": ("submitted_at", "reported_at")}
EVERY_CLASS = mix.build("clean", failures=dict.fromkeys(ReasonClass, 7), parts=20,
                        late=5, out_of_order=5)


def _account(provider: str) -> Account:
    adapter = PROVIDERS[provider]
    return Account(id="acc_1", provider=provider, credentials=SECRETS.get(provider, {}),
                   timezone=ZoneInfo(adapter.default_timezone),
                   default_region=adapter.default_region)


def _received(provider: str, reports: list[PlannedReport]) -> list[Event]:
    adapter, account = PROVIDERS[provider], _account(provider)
    sim = adapter.simulate(account, count=1, seq=1, now=NOW, reports=reports)
    headers = {k.lower(): v for k, v in sim.headers.items()}
    headers |= {"content-type": sim.content_type, "host": "localhost"}
    request = CallbackRequest(body=sim.body, headers=headers, content_type=sim.content_type,
                              method=sim.method, query=sim.query)
    adapter.authenticate(request, account, NOW, 300)
    return [adapter.normalize(r, account) for r in adapter.extract(request, account)]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_planned_reports_come_back_as_planned(provider: str) -> None:
    adapter = PROVIDERS[provider]
    p = plan(provider, EVERY_CLASS, count=400, seed=21, now=NOW)
    reports = [r for name in ("first", "after", "late") for r in p.phase(name)]
    size = adapter.batch_limit or 50
    events = [e for at in range(0, len(reports), size)
              for e in _received(provider, reports[at:at + size])]

    assert len(events) == len(reports)
    for report, event in zip(reports, events, strict=True):
        assert (event.type, event.status, event.message_id) == (
            "sms.status", report.status, report.message_id)
        if adapter.reports_phone:
            assert event.phone == report.phone
        assert event.error_code == report.code
        for name in TIMES[provider]:
            assert getattr(event, name) == getattr(report, name), (name, report)
        if adapter.reports_segments:
            assert event.segments == report.segments
        assert event.part == (str(report.part) if report.part and report.segments > 1
                              else None)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_message_gets_the_class_the_plan_says(provider: str) -> None:
    p = plan(provider, EVERY_CLASS, count=400, seed=22, now=NOW)
    by_id = {m.message_id: m for m in p.messages}
    wanted = {m.wanted for m in p.messages if m.wanted is not None}
    assert wanted == set(ReasonClass)

    reports = p.phase("first")
    size = PROVIDERS[provider].batch_limit or 50
    for at in range(0, len(reports), size):
        for event in _received(provider, reports[at:at + size]):
            message = by_id[event.message_id or ""]
            if event.part is not None and event.status == "delivered":
                continue  # a delivered part of a message that failed on another
            # A gateway whose reports do not name the phone (Jasmin) is classified by
            # the carrier of the phone the message went to, as the plan knows it.
            phone = event.phone if PROVIDERS[provider].reports_phone else message.phone
            country, carrier = locate(phone)
            verdict = classify(provider, event.status,
                               event.error_code or event.provider_status,
                               carrier=carrier, country=country)
            assert verdict.reason_class == message.reason_class, message
    if PROVIDERS[provider].failure_codes is None:
        # A provider that passes the carrier's code through can say every class.
        assert all(m.reason_class == m.wanted for m in p.messages)
