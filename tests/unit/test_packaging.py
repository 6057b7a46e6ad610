"""The wheel carries every package of the source tree, not only what the tests import."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("api", "cli", "config", "models", "providers", "services", "tasks")


def test_every_source_package_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    # setuptools' find matches its include patterns against dotted package names with
    # fnmatch; done here so that the test needs no setuptools (new virtualenvs on
    # Python 3.12+ have none).
    include = config["packages"]["find"]["include"]
    every = {".".join(init.parent.relative_to(ROOT).parts)
             for init in ROOT.rglob("__init__.py") if ".venv" not in init.parts}
    packaged = {p for p in every if any(fnmatchcase(p, pattern) for pattern in include)}
    in_tree = {".".join(init.parent.relative_to(ROOT).parts)
               for top in TOP_LEVEL for init in (ROOT / top).rglob("__init__.py")}
    assert in_tree <= packaged, f"left out of the wheel: {sorted(in_tree - packaged)}"
    assert not {p for p in packaged if p.split(".")[0] not in TOP_LEVEL}
