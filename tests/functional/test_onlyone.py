"""The purge's lock: one holder at a time across connections, free again once let go."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlrhub.models import make_engine
from dlrhub.services.onlyone import only_one

pytestmark = [pytest.mark.dialects, pytest.mark.commits]


def test_a_second_taker_is_told_no_until_the_first_lets_go(db_url: str, tmp_path: Path) -> None:
    # Two engines: two processes' worth of connections to the same database.
    first, second = make_engine(db_url), make_engine(db_url)
    try:
        with only_one(first, "test-lock", tmp_path) as held:
            assert held
            with only_one(second, "test-lock", tmp_path) as also:
                assert not also
            with only_one(second, "another-lock", tmp_path) as other:
                assert other
        with only_one(second, "test-lock", tmp_path) as again:
            assert again
    finally:
        first.dispose()
        second.dispose()
