"""`dlrhub serve` leaves nothing running however it ends, and one serve has the data folder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import DLRHUB, Process, free_port, wait_for, wait_healthy

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not Path("/proc/self/environ").exists(),
                                 reason="finds processes through Linux /proc")]


class Served:
    """A data folder and port that ``dlrhub serve`` runs on, started as often as needed."""

    def __init__(self, data: Path) -> None:
        self.data = data
        data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith("DLRHUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        self.env = {**clean, "DLRHUB_DATA_DIR": str(data), "DLRHUB_PORT": str(self.port),
                    "DLRHUB_LOG_LEVEL": "WARNING"}
        self.runs: list[Process] = []

    def start(self) -> Process:
        """Start a serve and wait until it answers and runs one worker with its beat."""
        server = Process(["serve"], self.env, self.data / "serve.log")
        server.env = self.env  # nothing of the caller's DLRHUB_* may leak in
        self.runs.append(server.start())
        wait_healthy(f"http://127.0.0.1:{self.port}", server, timeout=60)
        wait_for(lambda: len(self.worker_mains()) == 1 and len(self.beats()) == 1, 60,
                 f"one worker and one beat; found workers {self.worker_mains()}, "
                 f"beats {self.beats()}")
        return server

    def processes(self) -> list[int]:
        """Return the live processes whose environment names this data folder."""
        marker = f"DLRHUB_DATA_DIR={self.data}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):  # gone, or not ours
                    # A zombie's environment reads empty: it is dead, only not reaped.
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
        return found

    def worker_mains(self) -> list[int]:
        """Return the Celery processes whose parent is no Celery process, beats aside."""
        celery = {pid: _parent(pid) for pid in self.processes() if b"celery" in _cmdline(pid)}
        beats = self.beats()
        return [pid for pid, parent in celery.items()
                if parent not in celery and pid not in beats]

    def beats(self) -> list[int]:
        """Return the processes that hold the data folder's beat lock open."""
        lock = str((self.data / "celerybeat.lock").resolve())
        found = []
        for pid in self.processes():
            with contextlib.suppress(OSError):
                fds = (Path(f"/proc/{pid}/fd") / fd for fd in os.listdir(f"/proc/{pid}/fd"))
                if any(_link(fd) == lock for fd in fds):
                    found.append(pid)
        return found

    def nothing_left(self) -> bool:
        return not self.processes()

    def clear(self) -> None:
        """Kill whatever a failing test left (so it cannot spoil the next one)."""
        for server in self.runs:
            server.stop()
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _link(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:
        return ""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    place = Served(tmp_path / "data")
    try:
        yield place
    finally:
        place.clear()


def _left(served: Served) -> str:
    return f"processes of the killed serve to be gone; left {served.processes()}"


@pytest.mark.parametrize("kill", ["main process", "process group"])
def test_a_killed_serve_leaves_nothing_and_a_new_one_starts_at_once(
        served: Served, kill: str) -> None:
    first = served.start()
    assert first.proc is not None
    if kill == "main process":
        os.kill(first.proc.pid, signal.SIGKILL)
    else:  # the whole group, as `kill -9 -PGID` or a terminal's hang-up would
        os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)

    wait_for(served.nothing_left, 30, _left(served))
    served.start()  # healthy, with exactly one worker and one beat
    assert "Connection in use" not in (served.data / "serve.log").read_text()


def test_a_serve_started_after_its_watchdog_was_killed_too_clears_what_was_left(
        served: Served) -> None:
    first = served.start()
    assert first.proc is not None
    (watchdog,) = [pid for pid in served.processes()
                   if _parent(pid) == first.proc.pid and b"dlrhub.cli.reaper" in _cmdline(pid)]
    os.kill(first.proc.pid, signal.SIGSTOP)  # so that it cannot start another watchdog
    os.kill(watchdog, signal.SIGKILL)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    # The API and the worker die with serve, and so do their workers and pool; the
    # worker's embedded beat does not.
    wait_for(lambda: set(served.processes()) <= set(served.beats()), 30,
             f"all but the beat to die with serve; left {served.processes()}")
    left = served.beats()
    assert left

    served.start()  # healthy, with exactly one worker and one beat
    assert set(left).isdisjoint(served.processes())
    assert "processes left by a serve" in (served.data / "serve.log").read_text()


def test_a_second_serve_on_the_same_data_folder_says_so_and_exits(served: Served) -> None:
    first = served.start()
    assert first.proc is not None
    workers = served.worker_mains()

    second = subprocess.run([DLRHUB, "serve"], env=served.env, capture_output=True,
                            timeout=120, check=False)

    assert second.returncode != 0
    assert (f"another `dlrhub serve` (pid {first.proc.pid}) is running on the data folder "
            f"{served.data.resolve()}") in second.stderr.decode()
    assert first.proc.poll() is None
    assert served.worker_mains() == workers
    assert len(served.beats()) == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_serve_leaves_nothing(served: Served, sig: signal.Signals) -> None:
    server = served.start()
    assert server.proc is not None
    os.killpg(server.proc.pid, sig)  # as Ctrl-C (SIGINT) or a service manager would
    assert server.proc.wait(60) == 0
    wait_for(served.nothing_left, 30, _left(served))
    served.start()


def test_a_port_another_program_holds_is_refused_before_anything_is_touched(
        served: Served) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", served.port))
        other.listen()
        refused = subprocess.run([DLRHUB, "serve"], env=served.env, capture_output=True,
                                 timeout=120, check=False)
    assert refused.returncode != 0
    assert f"port {served.port} on 127.0.0.1 is in use by another program" in \
        refused.stderr.decode()
    assert "serving on" not in refused.stderr.decode()
    assert served.nothing_left()
    assert not list(served.data.glob("*.sqlite3"))  # not even migrated


def test_serving_on_is_said_only_once_the_port_answers(served: Served) -> None:
    server = subprocess.Popen([DLRHUB, "serve"], env=served.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert server.stderr is not None
        for line in server.stderr:
            if b"serving on" in line:
                break
        else:
            pytest.fail("serve ended without saying it serves")
        # At once, as a user who reads the line and opens the URL: it must answer.
        with socket.create_connection(("127.0.0.1", served.port), timeout=1):
            pass
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
        server.stderr.close()
