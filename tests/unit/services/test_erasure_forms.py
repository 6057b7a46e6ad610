"""The forms of a number an erasure looks for, and how each is masked."""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
import pytest

from dlrhub.services.erasure import forms_of, redact_bytes, redact_json
from dlrhub.services.errors import InvalidInput


@pytest.mark.parametrize("given", ["+8613812345678", "8613812345678", "008613812345678",
                                   "13812345678", "+86 138-1234-5678", " 138 1234 5678 "])
def test_every_form_a_provider_sends_is_the_same_number(given: str) -> None:
    forms = forms_of(given, "CN")
    assert forms.e164 == "+8613812345678"
    assert set(forms.stored) == {"+8613812345678", "8613812345678", "008613812345678",
                                 "13812345678"}


def test_a_national_number_is_read_in_the_given_region() -> None:
    assert forms_of("07400123456", "GB").e164 == "+447400123456"
    assert "07400123456" in forms_of("+447400123456", None).stored


@pytest.mark.parametrize("given", ["", "  ", "abc", "12", "+86 138 1234 5678 ext", None, 5])
def test_what_is_no_number_is_refused_naming_the_field(given: object) -> None:
    with pytest.raises(InvalidInput) as ex:
        forms_of(given, "CN")
    assert ex.value.field == "phone"


def test_each_form_is_masked_digit_for_digit_and_longer_numbers_are_left_alone() -> None:
    forms = forms_of("13812345678", "CN")
    text = ("a +8613812345678 b 008613812345678 c 13812345678 d 213812345678 "
            "e 138123456789 f %2B8613812345678")
    assert forms.mask(text) == ("a +************* b *************** c *********** "
                                "d 213812345678 e 138123456789 f %2B*************")


def test_a_json_body_stays_json_and_a_form_stays_a_form() -> None:
    forms = forms_of("+8613812345678", None)
    quoted = b'[{"mobile":"13812345678","sid":"m-1"},{"mobile":"13900000002"}]'
    assert orjson.loads(redact_bytes(quoted, forms)) == [
        {"mobile": "***********", "sid": "m-1"}, {"mobile": "13900000002"}]
    bare = b'{"to": 8613812345678, "n": 1}'
    assert orjson.loads(redact_bytes(bare, forms)) == {"to": "*************", "n": 1}
    form = b"to=%2B8613812345678&status=DELIVRD"
    assert parse_qs(redact_bytes(form, forms).decode()) == {
        "to": ["+*************"], "status": ["DELIVRD"]}
    assert redact_json({"8613812345678": [13812345678, True, 1.5, None]}, forms) == {
        "*************": ["***********", True, 1.5, None]}
