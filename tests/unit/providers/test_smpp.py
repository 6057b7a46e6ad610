"""The SMPP receipt text: one tolerant parser for every gateway that passes it through."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dlrhub.providers.base import ParseError
from dlrhub.providers.smpp import (
    Receipt,
    error_number,
    id_forms,
    parse_receipt,
    receipt_time,
    state_name,
    status_of,
)
from dlrhub.services.insight.reasons import classify

SHANGHAI = ZoneInfo("Asia/Shanghai")
# SMPP 3.4 Appendix B, as an SMSC fills it in.
APPENDIX_B = ("id:0123456789 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 "
              "stat:DELIVRD err:000 text:Hello world")


def test_the_appendix_b_text_is_read_field_by_field() -> None:
    assert parse_receipt(APPENDIX_B) == Receipt(
        id="0123456789", sub="001", dlvrd="001", submit_date="2401021530",
        done_date="2401021531", stat="DELIVRD", err="000", text="Hello world")


@pytest.mark.parametrize("text", [
    # keys in any case, with spaces before the colon or underscores in the dates' keys
    "ID:abc SUB:001 DLVRD:001 Submit Date:2401021530 Done Date:2401021531 Stat:UNDELIV "
    "Err:027 Text:x",
    "id : abc sub:001 dlvrd:001 submit_date:2401021530 done_date:2401021531 stat:UNDELIV "
    "err:027 text:x",
    # extra spaces and tabs, another order
    "  stat:UNDELIV   id:abc\terr:027  submit   date:2401021530 done date:2401021531  text:x",
])
def test_case_spacing_and_order_do_not_matter(text: str) -> None:
    got = parse_receipt(text)
    assert (got.id, got.stat, got.err, got.submit_date, got.done_date, got.text) == (
        "abc", "UNDELIV", "027", "2401021530", "2401021531", "x")


def test_missing_fields_are_none_and_text_may_hold_spaces_and_colons() -> None:
    got = parse_receipt("id:77 stat:DELIVRD text:Code: 1234 id:9 stat:UNDELIV")
    assert (got.id, got.stat, got.sub, got.err, got.submit_date) == (
        "77", "DELIVRD", None, None, None)
    assert got.text == "Code: 1234 id:9 stat:UNDELIV"
    assert parse_receipt("id:77 stat:DELIVRD text:").text is None
    assert parse_receipt("id:77 stat:DELIVRD").text is None


def test_a_key_inside_a_longer_word_is_not_a_key() -> None:
    got = parse_receipt("msgid:1 id:2 stat:DELIVRD")
    assert got.id == "2"


def test_a_text_without_id_or_stat_is_refused() -> None:
    for text in ("", "hello", "sub:001 dlvrd:001 err:000"):
        with pytest.raises(ParseError):
            parse_receipt(text)


@pytest.mark.parametrize(("stat", "status"), [
    ("DELIVRD", "delivered"), ("delivrd", "delivered"), ("ENROUTE", "pending"),
    ("ACCEPTD", "pending"), ("SCHEDLD", "pending"), ("EXPIRED", "expired"),
    ("DELETED", "failed"), ("UNDELIV", "failed"), ("SKIPPED", "failed"),
    ("UNKNOWN", "unknown"), ("REJECTD", "rejected"),
    # a number is a carrier's code, not a message_state number
    ("2", "failed"), ("5", "failed"),
    # Chinese CMPP gateways put the carrier's code in stat: a failure
    ("MK:0001", "failed"), ("DB:0141", "failed"), ("UNDELIV:601", "failed"),
    (None, "unknown"), ("", "unknown"),
])
def test_stat_becomes_its_status(stat: str | None, status: str) -> None:
    assert status_of(stat) == status


def test_the_code_a_failure_is_classified_by() -> None:
    assert parse_receipt("id:1 stat:DELIVRD err:000").error_code is None
    assert parse_receipt("id:1 stat:ENROUTE err:000").error_code is None
    # a non-zero err is read as a GSM MAP error, decimal or hex
    assert parse_receipt("id:1 stat:UNDELIV err:027").error_code == "MAP:27"
    assert parse_receipt("id:1 stat:UNDELIV err:0x1B").error_code == "MAP:27"
    # no err: the state names the failure; a carrier's code in stat is the code
    assert parse_receipt("id:1 stat:EXPIRED err:000").error_code == "EXPIRED"
    assert parse_receipt("id:1 stat:MK:0001 err:000").error_code == "MK:0001"


@pytest.mark.parametrize(("err", "number"), [
    ("000", 0), ("027", 27), ("0x45", 69), ("0X1b", 27), ("abc", None), ("", None),
    (None, None), ("-1", None),
])
def test_err_is_read_in_decimal_or_hex(err: str | None, number: int | None) -> None:
    assert error_number(err) == number


def test_state_names_are_upper_case() -> None:
    assert [state_name(v) for v in ("2", " delivrd", "MK:0001", "", None)] == [
        "2", "DELIVRD", "MK:0001", None, None]


def test_ten_and_twelve_digit_dates_are_local_times_of_the_smsc() -> None:
    assert receipt_time("2401021530", SHANGHAI, "done date") == datetime(
        2024, 1, 2, 7, 30, tzinfo=UTC)
    assert receipt_time("240102153045", SHANGHAI, "done date") == datetime(
        2024, 1, 2, 7, 30, 45, tzinfo=UTC)
    assert receipt_time(None, SHANGHAI, "done date") is None
    assert receipt_time(" ", SHANGHAI, "done date") is None


@pytest.mark.parametrize("value", ["24010215", "2401021530451", "24013215301", "2413021530",
                                   "abcdefghij", "２４０１０２１５３０"])
def test_other_dates_are_refused(value: str) -> None:
    with pytest.raises(ParseError):
        receipt_time(value, SHANGHAI, "done date")


def test_ids_are_kept_as_sent_with_their_other_base_to_match() -> None:
    assert parse_receipt("id:9223372036854775807 stat:DELIVRD").id == "9223372036854775807"
    assert id_forms("255") == ("255", "ff", "597")
    assert id_forms("7fffffffffffffff")[:2] == ("7fffffffffffffff", "9223372036854775807")
    assert id_forms("abc-1") == ("abc-1",)


@pytest.mark.parametrize(("text", "reason"), [
    ("id:1 stat:UNDELIV err:027", "unreachable_powered_off"),  # MAP absentSubscriber
    ("id:1 stat:UNDELIV err:0x01", "invalid_number"),  # MAP unknownSubscriber
    ("id:1 stat:UNDELIV err:013", "blacklisted"),  # MAP callBarred
    ("id:1 stat:EXPIRED err:000", "expired"),
    ("id:1 stat:REJECTD err:000", "other_unknown"),
])
def test_a_failed_receipt_gets_its_reason_class_from_the_dictionary(text: str,
                                                                     reason: str) -> None:
    got = parse_receipt(text)
    verdict = classify("kannel", got.status, got.error_code, country="DE")
    assert verdict.reason_class is not None
    assert verdict.reason_class.value == reason


def test_a_carriers_code_in_stat_may_hold_colons_and_spaces() -> None:
    got = parse_receipt("id:1 sub:001 stat:ID:0002 err:000 text:")
    assert (got.id, got.stat, got.error_code) == ("1", "ID:0002", "ID:0002")
    got = parse_receipt("id:1 stat:807 ERR err:000")
    assert (got.stat, got.err, got.error_code) == ("807 ERR", "000", "807 ERR")
