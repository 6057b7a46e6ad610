"""One ``dlrhub serve`` per data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlrhub.cli.runlock import AlreadyServing, ServeLock


def test_a_second_serve_is_refused_and_told_who_holds_the_folder(tmp_path: Path) -> None:
    first = ServeLock.take(tmp_path)
    first.record("run-1", [101, 102])

    with pytest.raises(AlreadyServing) as refused:
        ServeLock.take(tmp_path)

    assert refused.value.pid == os.getpid()
    assert f"pid {os.getpid()}" in str(refused.value)
    assert str(tmp_path.resolve()) in str(refused.value)
    first.release()


def test_a_serve_that_stopped_cleanly_leaves_nothing_to_clear(tmp_path: Path) -> None:
    first = ServeLock.take(tmp_path)
    first.record("run-1", [101])
    first.release()

    assert ServeLock.take(tmp_path).previous is None


def test_a_serve_that_was_killed_leaves_its_run_to_the_next(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                          stdout=subprocess.PIPE) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"locked\n"
        with pytest.raises(AlreadyServing):
            ServeLock.take(tmp_path)

        holder.kill()  # as SIGKILL or the OOM killer would: no clean-up runs

    after = ServeLock.take(tmp_path)
    assert after.previous == {"serve": holder.pid, "run": "run-1", "groups": [101, 102]}
    after.release()


HOLD = """
import sys, time
from pathlib import Path
from dlrhub.cli.runlock import ServeLock
ServeLock.take(Path(sys.argv[1])).record("run-1", [101, 102])
print("locked", flush=True)
time.sleep(120)
"""
