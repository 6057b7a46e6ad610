"""The worker process's runtime, built once per process (after the prefork)."""

from __future__ import annotations

import os

from dlrhub.config import get_settings
from dlrhub.services.runtime import Runtime

_state: dict[str, object] = {}


def runtime() -> Runtime:
    """Return this process's runtime, building it on first use after a fork."""
    if _state.get("pid") != os.getpid():
        _state["runtime"] = Runtime.build(get_settings())
        _state["pid"] = os.getpid()
    rt = _state["runtime"]
    assert isinstance(rt, Runtime)
    return rt
