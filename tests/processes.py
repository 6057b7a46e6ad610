"""Start and stop the real dlrhub processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

DLRHUB = str(Path(sys.executable).with_name("dlrhub"))


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             interval: float = 0.1) -> None:
    """Poll ``condition`` until it holds, or fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """One ``dlrhub`` subcommand running in its own process group."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.args = args
        # Not the caller's PGAPPNAME: each command names its connections after its role.
        self.env = {**{k: v for k, v in os.environ.items() if k != "PGAPPNAME"}, **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        """Start the process, its output appended to the log file."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([DLRHUB, *self.args], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        """Kill the process and its children at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop the process group gracefully, killing it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        """Return what the process wrote so far (for failure messages)."""
        return self.log.read_text(errors="replace")[-4000:]


def wait_healthy(base_url: str, proc: Process, timeout: float = 30.0) -> None:
    """Wait until ``/healthz`` answers, failing early if the process died."""
    def up() -> bool:
        assert proc.proc is not None
        if proc.proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited:\n{proc.output()}")
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
    wait_for(up, timeout, f"{base_url}/healthz")


def post_status_reports(url: str, callbacks: int, batch: int) -> int:
    """Post ``callbacks`` simulated Tencent callbacks of ``batch`` reports; return the total."""
    from dlrhub.services.simulate import build_callback

    with httpx.Client(timeout=10) as client:
        for seq in range(callbacks):
            sim = build_callback("tencent", url, seq=seq, batch=batch, kind="status",
                                 credentials={})
            answer = client.post(url, content=sim.body,
                                 headers={"Content-Type": sim.content_type})
            assert answer.status_code == 200, answer.text
    return callbacks * batch
