"""What every benchmark's ``main`` does around its run: dlrhub's own Python, stopping
cleanly on Ctrl-C or a signal, the work folder, and the Markdown report's file.

``bench/ingest``, ``bench/analytics`` and ``bench/console`` each call ``run_bench`` with
their own ``Bench`` and ``report``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv"


class Stoppable(Protocol):
    """A benchmark run: ``run`` does it, ``stop`` ends whatever it started."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


def venv_python() -> Path | None:
    """Return the Python of ``.venv`` when this is not already it, else ``None``."""
    python = VENV / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        return python
    return None


def in_venv(script: str, argv: list[str] | None) -> None:
    """Run ``bench/<script>`` again in ``.venv`` (which has dlrhub) unless it runs there."""
    venv = venv_python()
    if venv is not None:  # the servers and the data set need dlrhub's own environment
        os.execv(venv, [str(venv), str(BENCH / script),  # noqa: S606 - our own script
                        *(sys.argv[1:] if argv is None else argv)])


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into ``KeyboardInterrupt`` while the run lasts."""
    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def run_bench(name: str, work_prefix: str, make: Callable[[Path], Stoppable], *,
              keep: bool, kept: str = "server logs") -> tuple[Stoppable, int | None]:
    """Run a benchmark in a fresh work folder; return it and an exit status on failure.

    The status is ``None`` when the run finished: the caller then writes its report.
    Whatever happens, ``stop`` runs (with Ctrl-C ignored meanwhile), and the work folder
    goes unless the run failed or ``keep`` is set.
    """
    work = Path(tempfile.mkdtemp(prefix=work_prefix))
    bench = make(work)
    ok = False
    try:
        with signals_raise():
            bench.run()
        ok = True
    except KeyboardInterrupt:
        print(f"bench/{name}: interrupted; stopping", file=sys.stderr)
        return bench, 130
    except RuntimeError as ex:
        print(f"bench/{name}: {ex}", file=sys.stderr)
        return bench, 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        bench.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if ok and not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"bench/{name}: {kept} kept in {work}", file=sys.stderr)
    return bench, None


def write_report(results: Path, stem: str, started: datetime, text: str) -> Path:
    """Print the report and keep it as ``<results>/<stem>-<started>.md``."""
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"{stem}-{started:%Y%m%d-%H%M%S}.md"
    out.write_text(text)
    print(text)
    print(f"(written to {out})", file=sys.stderr)
    return out
