"""Make sure the processes ``dlrhub serve`` starts never outlive it.

Every process of one serve run carries ``DLRHUB_SERVE_RUN=<run id>`` in its environment:
serve sets it before it starts anything and children inherit it (the API server's
workers, the Celery pool and its beat too), so the run's processes can be found in
``/proc`` whatever process group they are in, and a recycled pid never matches.

Three things use that:

* each direct child gets ``PR_SET_PDEATHSIG`` (Linux, ``core.lifetime.dying_with``) and so
  dies the moment serve does;
* a watchdog (``python -m dlrhub.cli.reaper <run id>``, in a session of its own so that a kill
  of serve's process group misses it) waits for serve to close its stdin, which the
  kernel does however serve ends, and then kills whatever of the run is left: the
  grandchildren, which do not inherit the death signal;
* a restarted serve kills what a run recorded in its pid file left (should the watchdog
  have been killed too).

Without ``/proc`` (not Linux) the watchdog kills the process groups serve told it of.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from dlrhub.config.logging import say

RUN_VARIABLE = "DLRHUB_SERVE_RUN"
_PROC = Path("/proc")


def has_proc() -> bool:
    """Tell whether processes can be found by their environment (Linux ``/proc``)."""
    return (_PROC / "self" / "environ").exists()


def processes_of(run: str) -> list[int]:
    """Return the live processes (not this one) whose environment names ``run``."""
    marker = f"{RUN_VARIABLE}={run}".encode()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            # A zombie's environment reads empty: it is dead, only not yet reaped.
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_run(run: str, groups: Iterable[int] = (), timeout: float = 10.0) -> int:
    """SIGKILL every process of ``run``, wait until they are gone; return how many."""
    if not has_proc():
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        return 0
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while (left := processes_of(run)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.05)
    return len(killed)


def wait_group_gone(pgid: int, timeout: float = 10.0) -> bool:
    """Wait until no process of group ``pgid`` is left; tell whether none is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Should they be our children (serve as a container's PID 1 inherits orphans),
        # dead members stay zombies, still in the group, until we reap them.
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-pgid, os.WNOHANG)[0]:
                pass
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # a zombie's group answers so on some systems
            pass
        time.sleep(0.05)
    return False


class Watchdog:
    """The watchdog of one serve run, told of each process group serve starts."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.groups: list[int] = []
        self._proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        # A session of its own: a kill of serve's process group, or Ctrl-C, misses it.
        env = {k: v for k, v in os.environ.items() if k != RUN_VARIABLE}
        return subprocess.Popen([sys.executable, "-m", "dlrhub.cli.reaper", self.run],  # noqa: S603
                                stdin=subprocess.PIPE, start_new_session=True, env=env)

    def started(self, pgid: int) -> None:
        """Record a process group serve started."""
        self.groups.append(pgid)
        self._tell(f"group {pgid}")

    def ended(self, pgid: int) -> None:
        """Forget a process group serve cleared away (its id may be used again)."""
        self.groups.remove(pgid)
        self._tell(f"ended {pgid}")

    def keep_alive(self) -> None:
        """Start the watchdog again if it died (someone killed it), telling it all."""
        if self._proc.poll() is None:
            return
        self._close()
        self._proc = self._start()
        for pgid in self.groups:
            self._tell(f"group {pgid}")

    def close(self, timeout: float = 5.0) -> None:
        """Let the watchdog go: it checks that nothing is left, and exits."""
        self._close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout)

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()

    def _tell(self, line: str) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(f"{line}\n".encode())
            self._proc.stdin.flush()
        except BrokenPipeError:  # it died: a new one is told everything
            self.keep_alive()


def watch(run: str, lines: Iterable[str]) -> int:
    """Read ``group <pgid>`` lines until serve closes them, then kill what is left."""
    groups: set[int] = set()
    for line in lines:
        word, _, value = line.strip().partition(" ")
        if word == "group" and value.isdigit():
            groups.add(int(value))
        elif word == "ended" and value.isdigit():
            groups.discard(int(value))
    killed = kill_run(run, groups)
    if killed:
        # Not the settings (this process starts fast); their variable, read as they do.
        json = os.environ.get("DLRHUB_LOG_JSON", "").strip().lower() in {
            "1", "true", "yes", "on", "y", "t"}
        say(f"dlrhub: serve is gone; killed the {killed} processes it left", json=json,
            logger="dlrhub.cli.reaper")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the watchdog of the serve run named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dlrhub.cli.reaper RUN_ID  (started by dlrhub serve)",
              file=sys.stderr)
        return 2
    # Ctrl-C reaches serve's process group, not this session; serve ends the watch by
    # closing our stdin after its own shutdown. Ignore a stray SIGINT all the same.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return watch(args[0], sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
