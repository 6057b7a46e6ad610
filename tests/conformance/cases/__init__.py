"""One module per provider slug, each defining ``KIT``: a ``ProviderKit``."""

from __future__ import annotations

import importlib
from pathlib import Path

from tests.conformance.kit import ProviderKit

HERE = Path(__file__).parent


def has_case(slug: str) -> bool:
    """Say whether ``cases/<slug>.py`` exists."""
    return (HERE / f"{slug}.py").is_file()


def load(slug: str) -> ProviderKit:
    """Return the ``KIT`` of ``cases/<slug>.py``."""
    module = importlib.import_module(f"tests.conformance.cases.{slug}")
    kit = module.KIT
    if not isinstance(kit, ProviderKit):
        raise TypeError(f"cases/{slug}.py: KIT must be a ProviderKit")
    return kit
