"""The lock files pin, with hashes, a version of every dependency within pyproject's ranges."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# A lock entry: "name==version ; markers \" then its "--hash=sha256:…" lines.
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, tuple[str, str | None, int]]:
    """Return name -> (version, markers, number of hashes) for every entry of ``lock``."""
    found: dict[str, tuple[str, str | None, int]] = {}
    name = ""
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (match[2], match[3], 0)
        elif line.strip().startswith("--hash=sha256:"):
            version, markers, hashes = found[name]
            found[name] = (version, markers, hashes + 1)
    return found


@pytest.mark.parametrize(("lock", "requirements"), [
    ("runtime.txt", PROJECT["project"]["dependencies"]),
    ("dev.txt", PROJECT["project"]["dependencies"]
     + PROJECT["project"]["optional-dependencies"]["dev"]),
    ("build.txt", PROJECT["build-system"]["requires"]),
])
def test_the_lock_pins_every_dependency_within_its_range(
        lock: str, requirements: list[str]) -> None:
    locked = pins(lock)
    for spec in map(Requirement, requirements):
        # `make lock` after a change to pyproject.toml's dependencies keeps this true.
        name = canonicalize_name(spec.name)
        assert name in locked, f"{spec} is not in requirements/{lock}: run make lock"
        version = locked[name][0]
        assert spec.specifier.contains(version, prereleases=True), (lock, spec, version)


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt", "build.txt"])
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    locked = pins(lock)
    assert locked
    assert all(hashes for _version, _markers, hashes in locked.values()), locked


def test_the_dev_lock_agrees_with_the_runtime_lock() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert {name: dev[name][0] for name in runtime} == {
        name: pin[0] for name, pin in runtime.items()}
