"""The wheel installs one package, dlrhub, holding every folder of the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dlrhub

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("api", "cli", "config", "console", "core", "models", "providers", "services",
           "tasks")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """Build the wheel from the checkout, as ``pip install .`` would."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(out), str(ROOT)],
                   check=True, timeout=300)
    (built,) = out.glob("dlrhub-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_dlrhub_alone(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/")[0] for name in wheel.namelist()}
    assert top == {"dlrhub", f"dlrhub-{dlrhub.__version__}.dist-info"}


def test_every_source_package_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for folder in FOLDERS:
        for source in (ROOT / folder).rglob("*.py"):
            assert f"dlrhub/{source.relative_to(ROOT).as_posix()}" in names, source
    assert {"dlrhub/py.typed", "dlrhub/models/migrations/script.py.mako"} <= names


def test_the_insight_data_files_are_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    data = sorted((ROOT / "services" / "insight" / "data").glob("*.csv"))
    assert len(data) >= 5
    for path in data:
        assert f"dlrhub/services/insight/data/{path.name}" in names, path.name


def test_the_bare_folder_names_are_not_importable_outside_the_checkout(
        tmp_path: Path) -> None:
    code = ("import importlib.util as u, dlrhub.api;"
            f"print([u.find_spec(n) is None for n in {FOLDERS!r}])")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=True, timeout=60)
    assert done.stdout.strip() == str([True] * len(FOLDERS))


def test_the_image_copies_every_folder_the_wheel_is_built_from() -> None:
    # dlrhub/ holds links: a folder the Dockerfile leaves out is a dangling link in the
    # image's build stage, and an import error in the container only.
    linked = {p.name for p in (ROOT / "dlrhub").iterdir() if p.is_symlink()}
    assert linked == set(FOLDERS)
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and not line.startswith("COPY --")}
    assert linked <= copied
