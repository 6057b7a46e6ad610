"""The vendored browser files are exactly what their MANIFEST says they are."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools"))

import vendor  # noqa: E402


def test_every_vendored_file_matches_its_manifest() -> None:
    assert vendor.check() == []


def test_the_manifests_name_version_licence_and_package_of_each_file() -> None:
    entries = [e for a in {a.folder for a in vendor.ASSETS} for e in vendor.read_manifest(a)]
    assert {e["name"] for e in entries} == {a.name for a in vendor.ASSETS}
    for entry in entries:
        assert entry["licence"]
        assert entry["version"]
        assert len(entry["sha256"]) == 64
        assert entry["package"].startswith("npm:")
