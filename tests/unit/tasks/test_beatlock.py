"""One beat per data folder: a second one waits until the first is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# A beat as far as the lock goes: it takes the lock, says so, and runs on.
BEAT = """
import logging, sys, time
from pathlib import Path
from dlrhub.tasks.beatlock import hold_beat_lock
logging.basicConfig(stream=sys.stdout, format="%(message)s")
hold_beat_lock(Path(sys.argv[1]), poll=0.05)
print("beating", flush=True)
time.sleep(120)
"""


def _beat(lock: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", BEAT, str(lock)],
                            stdout=subprocess.PIPE, text=True)


def test_a_second_beat_waits_for_the_first_and_then_takes_over(tmp_path: Path) -> None:
    lock = tmp_path / "celerybeat.lock"
    with _beat(lock) as first:
        assert first.stdout is not None
        assert first.stdout.readline() == "beating\n"
        with _beat(lock) as second:
            assert second.stdout is not None
            assert second.stdout.readline().startswith("another beat holds")

            first.kill()  # however the first goes, the kernel frees its lock
            first.wait(10)

            assert second.stdout.readline() == "beating\n"
            second.kill()
