"""Where the CPU went during a run: per-component CPU seconds read from ``/proc`` (Linux).

Processes started by the benchmark are known by their process group and told apart by
their command line (dlrhub.api.server and the processes it spawns → the HTTP server, celery →
the worker); PostgreSQL and Redis, which run outside, by their process names.
Read-only; nothing is signalled.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_OUTSIDE = {"postgres": "postgres", "redis-server": "redis"}


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds per process, labelled, and the machine's busy/total jiffies."""

    at: dict[int, tuple[str, float]]
    busy: float
    total: float


def _stat(pid: int) -> tuple[str, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    pgrp = int(fields[2])
    utime, stime = int(fields[11]), int(fields[12])
    return comm, pgrp, (utime + stime) / _TICK


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds (user + system) process ``pid`` has used; 0 if it is gone."""
    stat = _stat(pid)
    return stat[2] if stat else 0.0


def _label(pid: int, comm: str, group: str) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmdline = comm
    if "celery" in cmdline:
        return "worker"
    # The server's supervisor, and its worker processes (spawned by multiprocessing).
    if "dlrhub.api.server" in cmdline or "multiprocessing.spawn" in cmdline:
        return "baseline" if group == "baseline" else "api"
    return group


def snapshot(groups: dict[int, str]) -> Snapshot:
    """Read every process's CPU time; ``groups`` maps our process groups to names."""
    at: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None:
            continue
        comm, pgrp, cpu = stat
        if pgrp in groups:
            at[pid] = (_label(pid, comm, groups[pgrp]), cpu)
        elif comm in _OUTSIDE:
            at[pid] = (_OUTSIDE[comm], cpu)
    busy = total = 0.0
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
        jiffies = [float(x) for x in first[1:]]
        total = sum(jiffies[:8])
        busy = total - jiffies[3] - jiffies[4]  # idle, iowait
    except (OSError, IndexError, ValueError):
        pass
    return Snapshot(at, busy / _TICK, total / _TICK)


def used(before: Snapshot, after: Snapshot) -> Counter[str]:
    """Return the CPU seconds each label used between two snapshots."""
    out: Counter[str] = Counter()
    for pid, (label, cpu) in after.at.items():
        start = before.at.get(pid)
        out[label] += cpu - (start[1] if start else 0.0)
    return out


def by_group(before: Snapshot, after: Snapshot, groups: dict[int, str],
             pgroups: dict[int, int]) -> Counter[str]:
    """Return the CPU seconds each of our process groups used between two snapshots.

    ``pgroups`` maps each pid of ``after`` to its process group (``process_groups``).
    """
    out: Counter[str] = Counter()
    for pid, (_label, cpu) in after.at.items():
        group = groups.get(pgroups.get(pid, -1))
        if group is not None:
            start = before.at.get(pid)
            out[group] += cpu - (start[1] if start else 0.0)
    return out


def process_groups() -> dict[int, int]:
    """Return the process group of every process now running."""
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                out[int(entry.name)] = stat[1]
    return out


def machine_busy(before: Snapshot, after: Snapshot) -> float:
    """Return the share of all cores that were busy between two snapshots (0..1)."""
    total = after.total - before.total
    return (after.busy - before.busy) / total if total > 0 else 0.0
