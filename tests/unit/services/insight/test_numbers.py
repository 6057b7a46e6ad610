"""Country and carrier of a phone number, from its prefix."""

from __future__ import annotations

import pytest

from dlrhub.services.insight.numbers import locate, slug


@pytest.mark.parametrize(("phone", "expected"), [
    ("+8613812345678", ("CN", "china_mobile")),
    ("+8618912345678", ("CN", "china_telecom")),
    ("+8613012345678", ("CN", "china_unicom")),
    # A landline has no carrier in phonenumbers' data.
    ("+861012345678", ("CN", None)),
    # +1 is shared by many regions: the whole number decides.
    ("+14155550123", ("US", None)),
    ("+16135550123", ("CA", None)),
    # Other carriers are slugged from phonenumbers' English name.
    ("+447400123456", ("GB", "three")),
])
def test_country_and_carrier_of_e164_numbers(phone: str,
                                             expected: tuple[str, str | None]) -> None:
    assert locate(phone) == expected


@pytest.mark.parametrize(("phone", "expected"), [
    # Masked: the calling code still says where, nothing says which carrier.
    ("+86138****0000", ("CN", None)),
    # Kept as the provider gave it: not E.164, so neither.
    ("185****9057", (None, None)),
    ("13812345678", (None, None)),
    (None, (None, None)),
    ("", (None, None)),
    ("+", (None, None)),
    # A calling code of no region (international freephone).
    ("+80012345678", (None, None)),
])
def test_masked_and_unplaceable_numbers(phone: str | None,
                                        expected: tuple[str | None, str | None]) -> None:
    assert locate(phone) == expected


def test_the_same_prefix_answers_the_same_from_the_cache() -> None:
    first = locate("+8613912345670")
    assert [locate(f"+861391234567{i}") for i in range(10)] == [first] * 10
    assert first == ("CN", "china_mobile")


def test_other_carriers_get_a_stable_slug() -> None:
    assert slug("China Mobile") == "china_mobile"
    assert slug("AT&T Mobility") == "at_t_mobility"
    assert slug("") is None
    assert len(slug("x" * 100) or "") == 40
