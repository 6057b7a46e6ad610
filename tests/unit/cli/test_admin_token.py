"""The admin token of a one-command start: made once, shown on the terminal once."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from dlrhub.cli.processes import _admin_token


def test_the_token_is_shown_when_made_and_only_where_it_is_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLRHUB_ADMIN_TOKEN", raising=False)
    settings = SimpleNamespace(admin_token=None, data_dir=tmp_path, log_json=False)
    token, first = _admin_token(settings)
    assert token in first
    kept = tmp_path / "admin-token"
    assert kept.read_text().strip() == token
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    again, later = _admin_token(settings)
    assert again == token  # the same token on every start
    assert token not in later
    assert str(kept) in later


def test_a_token_from_the_environment_is_never_shown(tmp_path: Path) -> None:
    settings = SimpleNamespace(admin_token="chosen-by-the-operator", data_dir=tmp_path,
                               log_json=False)
    token, line = _admin_token(settings)
    assert token == "chosen-by-the-operator"
    assert token not in line
    assert not (tmp_path / "admin-token").exists()


def test_under_json_logs_a_made_token_stays_in_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # JSON lines go to a log collector: the token is never in one, even the first time.
    monkeypatch.delenv("DLRHUB_ADMIN_TOKEN", raising=False)
    settings = SimpleNamespace(admin_token=None, data_dir=tmp_path, log_json=True)
    token, line = _admin_token(settings)
    assert token not in line
    assert str(tmp_path / "admin-token") in line
