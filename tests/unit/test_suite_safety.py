"""The suite wipes only a database named for tests."""

from __future__ import annotations

import pytest

from tests.conftest import wipeable


@pytest.mark.parametrize("name", ["postgres", "dlrhub", "production", "template1",
                                  'x_test"; DROP DATABASE postgres; --'])
def test_a_database_not_named_for_tests_is_never_wiped(name: str) -> None:
    with pytest.raises(pytest.exit.Exception, match="refusing to wipe"):
        wipeable(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")


@pytest.mark.parametrize("name", ["dlrhub_test", "test", "TEST_ci_2"])
def test_a_database_named_for_tests_may_be_wiped(name: str) -> None:
    assert wipeable(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}") == name
