"""`make clean` says what it would delete and asks, unless FORCE=1."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _folder(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "admin-token").write_text("secret")
    return tmp_path


@pytest.mark.parametrize("answer", ["n\n", "", "maybe\n"])
def test_without_a_yes_nothing_is_deleted(tmp_path: Path, answer: str) -> None:
    folder = _folder(tmp_path)
    done = subprocess.run(["make", "clean"], cwd=folder, input=answer, text=True,
                          capture_output=True, check=False)
    assert done.returncode != 0
    assert "the embedded database" in done.stdout
    assert "admin token" in done.stdout
    assert (folder / "data" / "admin-token").exists()


@pytest.mark.parametrize(("args", "answer"), [([], "y\n"), (["FORCE=1"], "")])
def test_a_yes_or_force_deletes_the_data_folder(tmp_path: Path, args: list[str],
                                                answer: str) -> None:
    folder = _folder(tmp_path)
    done = subprocess.run(["make", "clean", *args], cwd=folder, input=answer, text=True,
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (folder / "data").exists()
