"""What ``dlrhub serve``'s watchdog kills when serve is gone, and what it spares."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrhub.cli.reaper import RUN_VARIABLE, watch
from tests.processes import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="finds processes through Linux /proc")

# A process that starts a child of its own, as an API server or a Celery worker does.
PARENT_OF_ONE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _family(run: str, started: list[subprocess.Popen[bytes]]) -> tuple[int, int]:
    """Start a parent and its child, both of ``run``; return their pids."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT_OF_ONE], stdout=subprocess.PIPE,
        env={**os.environ, RUN_VARIABLE: run}, process_group=0)
    started.append(proc)
    assert proc.stdout is not None
    return proc.pid, int(proc.stdout.readline())


def test_the_watchdog_kills_every_process_of_its_run_and_spares_the_others(
        started: list[subprocess.Popen[bytes]]) -> None:
    ours = _family("run-a", started)
    theirs = _family("run-b", started)

    watch("run-a", [f"group {ours[0]}\n"])  # serve closed the pipe: it is gone

    wait_for(lambda: not any(_alive(pid) for pid in ours), 10, "run-a's processes gone")
    assert all(_alive(pid) for pid in theirs)


def test_a_child_started_dying_with_its_parent_dies_when_the_parent_is_killed(
        started: list[subprocess.Popen[bytes]]) -> None:
    script = (
        "import os, subprocess, sys, time\n"
        "from dlrhub.core.lifetime import dying_with\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],\n"
        "                         preexec_fn=dying_with(os.getpid()), process_group=0)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script],
                              stdout=subprocess.PIPE, process_group=0)
    started.append(parent)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)

    os.kill(parent.pid, signal.SIGKILL)

    wait_for(lambda: not _alive(child), 10, "the child to die with its parent")
