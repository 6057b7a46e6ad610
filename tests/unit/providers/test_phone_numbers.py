"""``e164``'s shortcuts for mainland mobiles give exactly what phonenumbers gives."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.providers.common import e164

MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


def _library(candidate: str) -> str:
    parsed = phonenumbers.parse(candidate, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@given(MOBILES)
def test_a_mainland_mobile_in_any_form_is_what_the_library_says(mobile: str) -> None:
    expected = _library(f"+86{mobile}")
    assert e164(f"86{mobile}", international=True) == expected
    assert e164(f"+86{mobile}") == expected
    assert e164(mobile, region="CN") == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("861012345678", "+861012345678"),  # a Beijing landline: through the library
    ("14155552671", "+14155552671"),  # a US number with its country code
    ("8613800138000", "+8613800138000"),
])
def test_other_numbers_with_their_country_code_go_through_the_library(
        raw: str, expected: str) -> None:
    assert e164(raw, international=True) == expected
