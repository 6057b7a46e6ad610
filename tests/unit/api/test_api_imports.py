"""The API process does not load the relay's HTTP client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# aiohttp, and the relay modules that load it.
HEAVY = ("aiohttp", "dlrhub.services.relay.transport.http", "dlrhub.services.relay.run")
CHECK = ("import sys, dlrhub.api.wsgi\n"
         f"print(sorted(m for m in sys.modules if m.startswith({HEAVY})))")


def test_importing_the_wsgi_app_leaves_aiohttp_out(tmp_path: Path) -> None:
    env = {**os.environ, "DLRHUB_DATA_DIR": str(tmp_path),
           "DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    env.pop("DLRHUB_BROKER_URL", None)  # the embedded broker: nothing to reach
    loaded = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                            text=True, check=True, timeout=120).stdout
    assert loaded.strip() == "[]"
