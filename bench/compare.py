"""Run a benchmark against this tree and a second git revision, interleaved (``--compare``).

A figure measured on a shared machine moves from one minute to the next (bench/README.md
has runs minutes apart that differ two-fold), so a claim such as "half the CPU per
receipt" is only sound as a ratio measured side by side. ``--compare REF`` checks REF
out in a temporary git worktree; the benchmark then runs its rounds alternately on REF
and on this tree, in the order A B B A (A B B A A B B A … for more rounds), so that a
drift of the machine weighs on both alike.

The revision's code runs from the worktree through ``PYTHONPATH`` (the servers, the
worker and ``dlrhub db upgrade`` all import ``dlrhub`` from there), with this tree's
virtual environment: a revision that needs a package this environment lacks cannot be
compared, and says so when its servers fail to start.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from runs import ROOT, run_bench

THIS = "this tree"
T = TypeVar("T")


@dataclass(frozen=True)
class Revision:
    """Code to benchmark: this tree (``root`` None) or a worktree of ``ref``."""

    label: str
    root: Path | None = None
    commit: str = ""

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Return ``env`` with the revision's code first on the import path."""
        out = dict(env)
        if self.root is not None:
            out["PYTHONPATH"] = str(self.root)
        return out


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def this_tree() -> Revision:
    """Return this tree, named by its commit (and ``+changes`` if it has uncommitted ones)."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return Revision(THIS, None, commit + ("+changes" if dirty else ""))


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Revision]:
    """Check ``ref`` out in a temporary worktree for the duration; remove it after."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    folder = Path(tempfile.mkdtemp(prefix="dlrhub-compare-")) / "tree"
    _git("worktree", "add", "--detach", str(folder), commit)
    try:
        yield Revision(ref, folder, commit[:7])
    finally:
        with contextlib.suppress(RuntimeError):
            _git("worktree", "remove", "--force", str(folder))


def order(rounds: int) -> list[int]:
    """Return which of two revisions (0: the compared one, 1: this tree) runs in turn.

    ``rounds`` per revision, as A B B A blocks: every revision runs as often first as
    second, so a steady drift adds the same to both.
    """
    return ([0, 1, 1, 0] * rounds)[:2 * rounds]


def mean(values: Sequence[float | None]) -> float | None:
    """Return the mean of the values that were measured (None if none were)."""
    found = [v for v in values if v is not None]
    return statistics.fmean(found) if found else None


def spread(values: Sequence[float | None]) -> str:
    """Return the measured values as ``a / b``, for the reader to see their spread."""
    return " / ".join(f"{v:,.3g}" for v in values if v is not None) or "–"


def ratio(this: float | None, other: float | None) -> float | None:
    """Return this ÷ other, or None where either is missing or other is zero."""
    if this is None or other is None or other == 0:
        return None
    return this / other


def interleaved(name: str, ref: str, rounds: int, make: Callable[[Revision, Path], T], *,
                keep: bool, kept: str) -> tuple[list[tuple[Revision, T]], int | None]:
    """Run ``rounds`` of REF (from a worktree) and of this tree, in ``order``.

    ``make(revision, work folder)`` builds one run's benchmark, which ``runs.run_bench``
    runs and stops. Return the runs done, and the exit status of the first that failed
    (None: every one finished).
    """
    runs: list[tuple[Revision, T]] = []
    this = this_tree()
    with worktree(ref) as other:
        for which in order(rounds):
            rev = this if which else other
            print(f"bench/{name}: run {len(runs) + 1} of {2 * rounds}: {rev.label} "
                  f"({rev.commit})", file=sys.stderr, flush=True)
            bench, failed = run_bench(name, f"dlrhub-{name}-", lambda work, r=rev: make(r, work),
                                      keep=keep, kept=kept)
            if failed is not None:
                return runs, failed
            runs.append((rev, bench))  # type: ignore[arg-type]
    return runs, None


def table(key_name: str, keys: Iterable[int], runs: Sequence[tuple[Revision, T]],
          figures: Callable[[T, int], list[dict[str, float | None]]]) -> list[str]:
    """Return the Markdown table of a comparison: per key (a batch size) and figure, the
    compared revision's runs, this tree's, and the ratio of their means.

    ``figures(bench, key)`` gives the figures of one run's rows of that key.
    """
    other = next(rev for rev, _ in runs if rev.root is not None)
    this = next(rev for rev, _ in runs if rev.root is None)
    lines = [f"| {key_name} | figure | {other.label} | {this.label} "
             f"| {this.label} ÷ {other.label} |", "|---:|---|---|---|---:|"]
    for key in keys:
        by_rev: dict[bool, list[dict[str, float | None]]] = {True: [], False: []}
        for rev, bench in runs:
            by_rev[rev.root is None] += figures(bench, key)
        names = list(dict.fromkeys(n for found in by_rev.values() for f in found for n in f))
        for name in names:
            mine = [f.get(name) for f in by_rev[True]]
            theirs = [f.get(name) for f in by_rev[False]]
            r = ratio(mean(mine), mean(theirs))
            lines.append(f"| {key} | {name} | {spread(theirs)} | {spread(mine)} "
                         f"| {'–' if r is None else f'{r:.2f}'} |")
    return lines


def appendix(key_name: str, runs: Sequence[tuple[Revision, T]],
             notes: Callable[[T], Iterable[tuple[int, str]]],
             render: Callable[[T], str]) -> list[str]:
    """Return the end of a comparison: each run's notes (per key), then each run's own
    report (``render``, without its title) under its revision's heading."""
    said = [f"- {rev.label}, {key_name} {key}: {note}" for rev, bench in runs
            for key, note in notes(bench)]
    lines = ["", *said] if said else []
    lines += ["", "Each run's own report (CPU by component, the details) is below.", ""]
    for rev, bench in runs:
        lines += [f"## {rev.label} ({rev.commit})", "", render(bench).split("\n", 1)[1], ""]
    return lines
