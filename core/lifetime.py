"""Keep a child process from outliving the process that started it.

``dlrhub serve`` starts its children with it, and the API's supervisor (``api/server.py``)
makes its workers call it: neither the CLI nor the API owns it, so it lives here, where
both may import it. What else serve does so that nothing it starts outlives it is
``cli/reaper.py``'s.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def dying_with(parent: int) -> Callable[[], None]:
    """Return a ``preexec_fn`` that makes the child die (SIGKILL) when ``parent`` dies.

    The kernel sends the signal when the *thread* that forked the child ends, not the
    process: serve and the API's supervisor start their children from their main
    thread, which ends only with them. The signal is not inherited by the child's own
    children (a fork clears it), which is why serve has a watchdog (``cli/reaper.py``).
    """
    if not sys.platform.startswith("linux"):
        return lambda: None
    # Looked up here, in the parent: the child between fork and exec should do no more
    # than call it.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return preexec
