"""The reason-class dictionary: scopes, fallbacks, overrides, and every provider sample."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import orjson
import pytest

from dlrhub.models import ReasonClass
from dlrhub.providers.base import Account, CallbackRequest, Event
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.insight.numbers import locate
from dlrhub.services.insight.reasons import (
    CODE_FILES,
    RETRY_WORDS,
    Verdict,
    build,
    check_overrides,
    classify,
    dictionary,
)
from tests.catalog import cases

NOW = datetime(2024, 1, 1, tzinfo=UTC)
CMCC, CT, CU = "+8613812345678", "+8618912345678", "+8613012345678"
R = ReasonClass


def verdict(provider: str, status: str, code: str | None, phone: str | None = None,
            overrides: dict[str, str] | None = None) -> Verdict:
    country, carrier = locate(phone)
    return classify(provider, status, code, carrier=carrier, country=country,
                    overrides=overrides)


def data_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("dlrhub.services.insight").joinpath("data", name).read_text()
    return list(csv.DictReader(text.splitlines()))


# --- carrier scoping ----------------------------------------------------------------


@pytest.mark.parametrize(("phone", "expected"), [
    (CMCC, R.invalid_number),            # China Mobile: 空号、停机
    (CT, R.unreachable_powered_off),     # China Telecom: 关机
])
def test_mk_0005_means_what_the_numbers_carrier_says(phone: str, expected: R) -> None:
    assert verdict("tencent", "failed", "MK:0005", phone).reason_class is expected


def test_a_code_the_carriers_disagree_on_is_unknown_where_the_carrier_is() -> None:
    # A masked number has no carrier: MK:0005 cannot be told apart.
    assert verdict("tencent", "failed", "MK:0005", "+86138****0000").reason_class \
        is R.other_unknown


@pytest.mark.parametrize(("phone", "expected"), [
    (CMCC, R.suspended_or_no_credit), (CU, R.other_unknown), (CT, R.suspended_or_no_credit),
    # No mainland carrier: SMPP's UNDELIV says only that it failed.
    ("+447700900123", R.other_unknown),
])
def test_undeliv_is_scoped_by_carrier(phone: str, expected: R) -> None:
    assert verdict("aliyun", "failed", "UNDELIV", phone).reason_class is expected


def test_a_code_of_all_three_carriers_applies_to_a_mainland_number_only() -> None:
    # UCloud's table lists REJECTD for all three mainland carriers as content rejected;
    # SMPP itself says only "rejected".
    assert verdict("huawei", "rejected", "REJECTD", CU).reason_class is R.content_blocked
    assert verdict("huawei", "rejected", "REJECTD", "+447700900123").reason_class \
        is R.other_unknown


def test_a_code_one_carrier_lists_applies_to_a_number_of_another() -> None:
    # DB:0141 (blacklist) is a China Mobile gateway code; a ported or routed China
    # Unicom number that gets it is on the same blacklist.
    assert verdict("aliyun", "failed", "DB:0141", CU).reason_class is R.blacklisted


def test_a_code_family_catches_unlisted_codes_of_its_carrier() -> None:
    # The source lists "IA:xxxx" for China Mobile: any IA: code it does not list.
    assert verdict("tencent", "failed", "IA:1234", CMCC).reason_class \
        is R.unreachable_powered_off


def test_codes_are_compared_without_case_or_stray_spaces() -> None:
    assert verdict("tencent", "failed", " mk:0005 ", CMCC).reason_class is R.invalid_number


# --- providers' own codes, SMPP and MAP ---------------------------------------------


@pytest.mark.parametrize(("provider", "code", "expected"), [
    ("ucloud", "MSBLACK", R.blacklisted),
    ("huawei", "E200027", R.gateway_or_protocol_error),
    ("huawei", "MILIMIT", R.rate_limited),
    ("nxcloud", "UNDELIVR", R.other_unknown),
])
def test_providers_own_codes(provider: str, code: str, expected: R) -> None:
    assert verdict(provider, "failed", code, "+447700900123").reason_class is expected


def test_a_providers_code_is_its_own() -> None:
    # E200027 is Huawei's platform error; from another provider it means nothing known.
    assert verdict("tencent", "failed", "E200027", CMCC).reason_class is R.other_unknown


@pytest.mark.parametrize(("code", "expected"), [
    ("MAP:1", R.invalid_number), ("MAP:27", R.unreachable_powered_off),
    ("MAP:34", R.network_error), ("MAP:13", R.blacklisted),
])
def test_gsm_map_errors(code: str, expected: R) -> None:
    assert verdict("aliyun", "failed", code, "+447700900123").reason_class is expected


# --- fallbacks, retryable, statuses without a class ---------------------------------


@pytest.mark.parametrize(("status", "expected"), [
    ("expired", R.expired), ("failed", R.other_unknown), ("rejected", R.other_unknown),
    ("unknown", R.other_unknown),
])
def test_a_failure_without_a_known_code_takes_its_status_default(status: str,
                                                                 expected: R) -> None:
    assert verdict("tencent", status, None, CMCC).reason_class is expected
    assert verdict("tencent", status, "NOT-A-CODE", CMCC).reason_class is expected


@pytest.mark.parametrize("status", ["delivered", "pending", "received"])
def test_delivered_pending_and_inbound_carry_no_class(status: str) -> None:
    assert verdict("tencent", status, "MK:0005", CMCC) == Verdict(None, None)


@pytest.mark.parametrize(("code", "retryable"), [
    ("MK:0005", False),      # invalid_number: "no"
    ("MAP:27", True),        # unreachable_powered_off: "yes"
    ("E200027", True),       # gateway_or_protocol_error: "yes-other-route"
    (None, None),            # other_unknown: "unknown"
])
def test_retryable_follows_the_class(code: str | None, retryable: bool | None) -> None:
    provider = "huawei" if code == "E200027" else "tencent"
    assert verdict(provider, "failed", code, CMCC).retryable is retryable


def test_expired_may_or_may_not_be_worth_a_retry() -> None:
    assert verdict("tencent", "expired", None, CMCC) == Verdict(R.expired, None)


# --- account overrides --------------------------------------------------------------


def test_an_override_wins_over_the_dictionary() -> None:
    overrides = check_overrides({"mk:0005": "blacklisted"})
    assert overrides == {"MK:0005": "blacklisted"}
    assert verdict("tencent", "failed", "MK:0005", CMCC, overrides) == \
        Verdict(R.blacklisted, False)
    # Only for the code given, and never on a delivered receipt.
    assert verdict("tencent", "failed", "MK:0001", CMCC, overrides).reason_class \
        is R.invalid_number
    assert verdict("tencent", "delivered", "MK:0005", CMCC, overrides).reason_class is None


@pytest.mark.parametrize("given", [{"MK:0005": "bogus"}, {"": "blacklisted"},
                                   {"X" * 101: "blacklisted"}, {"MK:1": 3}])
def test_a_bad_override_is_refused_naming_it(given: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"reason class|1 to 100"):
        check_overrides(given)


# --- every provider sample ----------------------------------------------------------

# The failures among the samples; every other status report in them is delivered.
SAMPLE_FAILURES = {
    ("ucloud-seed-002", "MSBLACK"): R.blacklisted,
    ("ucloud-dlr", "MSBLACK"): R.blacklisted,
    ("huawei-failed", "E200027"): R.gateway_or_protocol_error,
    ("twilio-status-failed", "30007"): R.content_blocked,
    ("telnyx-finalized", "40002"): R.content_blocked,
}


def sample_events(case_id: str) -> list[Event]:
    case = next(c for c in cases() if c.id == case_id)
    adapter = PROVIDERS[case.provider]
    account = Account(id="acc", provider=case.provider, credentials=case.credentials)
    request = CallbackRequest(
        body=case.body, content_type=case.content_type,
        headers={k.lower(): v for k, v in case.headers(NOW).items()})
    return [adapter.normalize(r, account) for r in adapter.extract(request, account)]


@pytest.mark.parametrize("case_id", [c.id for c in cases()])
def test_every_provider_sample_is_classified(case_id: str) -> None:
    provider = next(c.provider for c in cases() if c.id == case_id)
    for event in sample_events(case_id):
        got = verdict(provider, event.status, event.error_code or event.provider_status,
                      event.phone)
        if event.status in ("delivered", "received"):
            assert got == Verdict(None, None)
        else:
            assert got.reason_class is SAMPLE_FAILURES[(case_id, event.error_code)]


@pytest.mark.parametrize(("case_id", "field", "phone_field"), [
    ("tencent-dlr-v2", "errmsg", "mobile"),
    ("aliyun-report", "err_code", "phone_number"),
])
def test_a_carrier_code_passed_through_by_a_provider_is_classified_by_the_carrier(
        case_id: str, field: str, phone_field: str) -> None:
    case = next(c for c in cases() if c.id == case_id)
    adapter = PROVIDERS[case.provider]
    account = Account(id="acc", provider=case.provider)
    doc = orjson.loads(case.body)
    got = {}
    for phone in ("13812345678", "18912345678"):
        record = dict(doc[0])
        record[field] = "MK:0005"
        record[phone_field] = phone
        if "report_status" in record:
            record["report_status"] = "FAIL"
        if "success" in record:
            record["success"] = False
        request = CallbackRequest(body=orjson.dumps([record]), headers={},
                                  content_type="application/json")
        (event,) = [adapter.normalize(r, account) for r in adapter.extract(request, account)]
        assert event.status == "failed"
        got[phone] = verdict(case.provider, event.status, event.error_code,
                             event.phone).reason_class
    assert got == {"13812345678": R.invalid_number, "18912345678": R.unreachable_powered_off}


# --- the data files -----------------------------------------------------------------


def test_the_shipped_data_loads_and_covers_every_class() -> None:
    book = dictionary()
    assert set(book.classes) == set(ReasonClass)
    assert {info.retry for info in book.classes.values()} <= set(RETRY_WORDS)
    assert all(info.meaning_zh and info.action_zh for info in book.classes.values())
    # The mainland carriers' codes, SMPP's stats, GSM MAP and the providers' own codes.
    assert len(book.entries) > 2500


def test_every_code_row_names_a_public_source() -> None:
    sources = {row["source"]: row["reference"] for row in data_rows("sources.csv")}
    for name in CODE_FILES:
        for row in data_rows(name):
            reference = sources[row["source"]]
            assert reference.startswith(("https://", "SMPP", "3GPP")), row


def test_a_code_listed_twice_is_refused() -> None:
    classes = data_rows("reason_classes.csv")
    sources = [{"source": "s", "reference": "https://example.org", "note": ""}]
    row = {"provider": "*", "carrier": "china_mobile", "code": "MK:1",
           "reason_class": "invalid_number", "source": "s"}
    with pytest.raises(ValueError, match="listed twice"):
        build(classes=classes, sources=sources, codes=[row, {**row, "code": "mk:1"}])
    with pytest.raises(ValueError, match="unknown source"):
        build(classes=classes, sources=sources, codes=[{**row, "source": "nowhere"}])
