"""Events are bounded to what both databases store, once for every adapter."""

from __future__ import annotations

import pytest

from dlrhub.providers.base import Event, ParseError
from dlrhub.services.storable import REPLACEMENT, storable


def test_refused_characters_are_replaced_in_fields_and_in_the_raw_record() -> None:
    event = storable(Event(type="sms.inbound", status="received", text="a\x00b\ud800",
                           phone="+86\x00", raw={"t": "x\x00", "n": [{"k\x00": 2**70}]}))
    assert event.text == f"a{REPLACEMENT}b{REPLACEMENT}"
    assert event.phone == f"+86{REPLACEMENT}"
    assert event.raw == {"t": f"x{REPLACEMENT}", "n": [{f"k{REPLACEMENT}": str(2**70)}]}


def test_a_clean_event_is_left_as_it_is() -> None:
    raw = {"sid": "s-1", "size": 2, "ok": True, "none": None, "text": "用户接收成功"}
    event = storable(Event(type="sms.status", status="delivered", message_id="s-1",
                           segments=2, raw=raw))
    assert event.raw is raw
    assert (event.message_id, event.segments) == ("s-1", 2)


@pytest.mark.parametrize("segments", [2**31, -(2**31) - 1, 3_000_000_000, 2**64])
def test_segments_out_of_the_columns_range_refuse_the_record(segments: int) -> None:
    with pytest.raises(ParseError, match="segments"):
        storable(Event(type="sms.status", status="delivered", segments=segments))


def test_an_unknown_status_is_refused_with_its_reason() -> None:
    with pytest.raises(ParseError, match="status"):
        storable(Event(type="sms.status", status="x" * 30))
