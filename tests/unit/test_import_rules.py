"""Who may import whom (docs/architecture.md), checked on every import in the source.

Function-level imports count too: an import that only runs later is still a reach.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Each folder's allowed imports of the others, as docs/architecture.md's table says.
MAY_IMPORT = {
    "api": {"services", "providers", "models", "config", "core"},
    "tasks": {"services", "models", "config", "core"},
    "console": {"services", "models", "config", "core"},
    "cli": {"api", "console", "tasks", "services", "providers", "models", "config", "core"},
    "services": {"providers", "models", "config", "core"},
    "providers": {"core"},
    "models": {"core"},
    "config": set(),
    "core": set(),
}
# The API's composition root wires the Celery wake-ups into the services, and mounts
# the console on the same app.
EXCEPTIONS = {("api/app.py", "tasks"), ("api/app.py", "console")}


def _reaches() -> list[tuple[str, str]]:
    """Return (file, folder it imports) for every import of another folder of dlrhub."""
    found = []
    for folder in MAY_IMPORT:
        for source in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    parts = module.split(".")
                    if parts[0] == "dlrhub" and len(parts) > 1 and parts[1] != folder:
                        found.append((source.relative_to(ROOT).as_posix(), parts[1]))
    return found


def test_every_import_follows_the_architecture() -> None:
    wrong = [(where, target) for where, target in _reaches()
             if target not in MAY_IMPORT[where.split("/")[0]]
             and (where, target) not in EXCEPTIONS]
    assert not wrong, f"imports docs/architecture.md does not allow: {wrong}"


def test_the_rules_see_the_imports_they_check() -> None:
    # Guards the scan itself: these reaches exist, so a scan that finds none is broken.
    reaches = set(_reaches())
    assert ("providers/base.py", "core") in reaches
    assert ("api/server.py", "core") in reaches


def test_adapters_and_the_vocabulary_load_without_the_database_layer() -> None:
    # Providers know nothing of storage, and the CLI's help lists the vocabulary: the
    # enums they share must not bring SQLAlchemy along.
    check = ("import sys, dlrhub.providers.registry, dlrhub.core.vocabulary, "
             "dlrhub.core.lifetime\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'sqlmodel') or m.startswith('dlrhub.models')))")
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    assert loaded.strip() == "[]"
