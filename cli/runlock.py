"""One ``dlrhub serve`` per data folder: a lock held for serve's life, and a pid file.

``serve.lock`` is locked with ``flock`` for as long as serve runs; the kernel lets go of
it however serve ends, so a lock that is free means no serve is running. ``serve.pids``
(JSON) records the running serve's pid, its run id (see ``cli.reaper``) and its
children's process groups, so that a serve started after one was killed finds what
that one left and clears it before starting its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

import orjson


class AlreadyServing(Exception):
    """Another serve holds the data folder's lock."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"another `dlrhub serve` ({who}) is running on the data folder "
                         f"{data_dir.resolve()}; stop it first, or use another "
                         f"DLRHUB_DATA_DIR")
        self.pid = pid


class ServeLock:
    """The data folder's serve lock and pid file, taken by :meth:`take`."""

    def __init__(self, data_dir: Path, fd: int) -> None:
        self._data_dir = data_dir
        self._fd = fd
        self.pid_file = data_dir / "serve.pids"
        self.previous: dict[str, Any] | None = _read(self.pid_file)
        self._record: dict[str, Any] = {}

    @classmethod
    def take(cls, data_dir: Path) -> ServeLock:
        """Lock the data folder for this process, or raise :class:`AlreadyServing`."""
        # Not inherited by the children (Python's default): the lock is serve's alone,
        # and a child left behind must not keep the next serve out.
        fd = os.open(data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            running = _read(data_dir / "serve.pids") or {}
            pid = running.get("serve")
            raise AlreadyServing(data_dir, pid if isinstance(pid, int) else None) from None
        return cls(data_dir, fd)

    def record(self, run: str, groups: list[int]) -> None:
        """Write the pid file: this serve, its run id and its children's groups."""
        self._record = {"serve": os.getpid(), "run": run, "groups": groups}
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self._record))
        tmp.replace(self.pid_file)

    def release(self) -> None:
        """Remove the pid file (nothing is left to clear) and unlock."""
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None
