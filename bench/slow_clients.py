#!/usr/bin/env python3
"""How fast dlrhub answers callbacks while many slow clients hold connections open.

Starts dlrhub (``dlrhub serve`` embedded, or ``dlrhub api`` + ``dlrhub worker`` on
PostgreSQL and Redis), then sends normal Tencent callbacks at a steady rate twice:
first alone, then while ``--slow`` connections (default 1,000) are held open by clients
that trickle their headers one byte a second, send whole headers and then a body that
never completes, or connect and say nothing. A slow connection the server closes is
opened again, so the count holds for the whole run. Everything goes to 127.0.0.1 and
stops by itself after ``--duration`` seconds per phase. See bench/README.md.

    .venv/bin/python bench/slow_clients.py --stack embedded
    .venv/bin/python bench/slow_clients.py --stack postgres --database dlrhub_bench_slow
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
from ingest_bench import (
    HOST,
    Processes,
    add_stack_options,
    dlrhub_json,
    free_port,
    reset_stores,
    stack_env,
    wait_http,
)

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("headers", "body", "silent")


@dataclass
class Phase:
    """The normal callbacks of one phase and what the slow clients saw meanwhile."""

    name: str
    slow: int
    latencies: list[float] = field(default_factory=list)  # ms, of 200 answers
    failed: int = 0                                         # non-200, error or timeout
    closed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    answered_408: int = 0

    def row(self) -> str:
        """Return the phase as a Markdown table row."""
        sent = len(self.latencies) + self.failed
        lat = sorted(self.latencies)

        def pct(p: float) -> str:
            return f"{lat[min(len(lat) - 1, int(p * len(lat)))]:.1f}" if lat else "–"

        closed = sum(self.closed.values())
        return (f"| {self.name} | {self.slow:,} | {sent} | {len(lat)} | {self.failed} | "
                f"{statistics.median(lat) if lat else float('nan'):.1f} | {pct(0.99)} | "
                f"{lat[-1] if lat else float('nan'):.1f} | {closed:,} ({self.answered_408:,} "
                f"with 408) |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(prog="bench/slow_clients.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack", choices=["embedded", "postgres"], default="embedded")
    p.add_argument("--slow", type=int, default=1000, help="slow connections held (1,000)")
    p.add_argument("--duration", type=float, default=20, help="seconds per phase (20)")
    p.add_argument("--rate", type=float, default=10, help="normal callbacks per second (10)")
    p.add_argument("--timeout", type=float, default=10,
                   help="a normal callback not answered within this many seconds fails (10)")
    p.add_argument("--dlrhub", default=str(Path(sys.executable).parent / "dlrhub"),
                   help="the dlrhub command to measure (default: this environment's)")
    p.add_argument("--server", choices=servers.SERVERS, default="uvicorn",
                   help="the API's HTTP server, PostgreSQL stack only: uvicorn is dlrhub's "
                        "own (default); granian and gunicorn serve the same WSGI app "
                        "(bench/servers.py)")
    add_stack_options(p)
    args = p.parse_args(argv)
    if not 1 <= args.slow <= 5000:
        p.error("--slow must be between 1 and 5,000")
    if args.server != "uvicorn" and args.stack != "postgres":
        p.error("--server other than uvicorn needs --stack postgres")
    return args


async def _slow_connection(port: int, path: str, kind: str, phase: Phase,
                           stop: asyncio.Event) -> None:
    """Hold one slow connection of ``kind``, opening it again whenever it is closed."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
            "Content-Type: application/json\r\n").encode()
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        if kind == "headers":
            pending = head + b"X-Slow: " + b"a" * 4000
        elif kind == "body":
            writer.write(head + b"Content-Length: 100000\r\n\r\n")
            pending = b"[" + b" " * 99998
        else:
            pending = b""

        async def trickle(data: bytes = pending, w: asyncio.StreamWriter = writer) -> None:
            for i in range(len(data)):
                if stop.is_set() or w.is_closing():
                    return
                w.write(data[i:i + 1])
                await asyncio.sleep(1.0)

        sender = asyncio.create_task(trickle())
        reading = asyncio.create_task(reader.read())
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        sender.cancel()
        stopping.cancel()
        if reading in done:
            with contextlib.suppress(OSError):
                answer = reading.result()
                phase.answered_408 += answer.startswith(b"HTTP/1.1 408")
            phase.closed[kind] += 1
        else:
            reading.cancel()
        writer.close()


async def _callbacks(url: str, body: bytes, phase: Phase, args: argparse.Namespace) -> None:
    """Send normal callbacks at ``--rate`` for ``--duration`` seconds, timing each."""
    async with httpx.AsyncClient(timeout=args.timeout,
                                 limits=httpx.Limits(max_connections=100)) as client:
        async def one() -> None:
            t0 = time.perf_counter()
            try:
                answer = await client.post(url, content=body,
                                           headers={"Content-Type": "application/json"})
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                phase.latencies.append((time.perf_counter() - t0) * 1000)
            else:
                phase.failed += 1

        tasks = []
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < args.duration:
            tasks.append(asyncio.create_task(one()))
            n += 1
            await asyncio.sleep(max(0.0, start + n / args.rate - time.monotonic()))
        await asyncio.gather(*tasks)


def _body(n: int) -> bytes:
    return (b'[{"user_receive_time":"2026-01-01 00:00:00","nationcode":"86",'
            b'"mobile":"13800000000","report_status":"SUCCESS","errmsg":"DELIVRD",'
            b'"description":"ok","sid":"slow-bench-' + str(n).encode() + b'"}]')


async def _phase(name: str, slow: int, port: int, url: str,
                 args: argparse.Namespace) -> Phase:
    phase = Phase(name, slow)
    stop = asyncio.Event()
    path = httpx.URL(url).path
    holders = [asyncio.create_task(_slow_connection(port, path, KINDS[i % 3], phase, stop))
               for i in range(slow)]
    if slow:
        await asyncio.sleep(3)  # all connected and trickling
    await _callbacks(url, _body(int(time.time() * 1000)), phase, args)
    stop.set()
    await asyncio.gather(*holders)
    return phase


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the table."""
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dlrhub-slow-"))
    (work / "logs").mkdir()
    port = free_port()
    env = stack_env(args, work / "data", port)
    procs = Processes(work / "logs")
    commands: list[str] = []
    try:
        if args.stack == "postgres":
            reset_stores(args, env, commands, lambda m: print(m, file=sys.stderr))
            api = [args.dlrhub, "api", "--port", str(port)]
            if args.server != "uvicorn":
                api = servers.server_cmd(args.server, Path(args.dlrhub).parent,
                                       baseline=False, host=HOST,
                                       port=port, workers=args.api_workers,
                                       threads=args.api_threads)
            procs.start("api", api, env)
            procs.start("worker", [args.dlrhub, "worker"], env)
        else:
            procs.start("serve", [args.dlrhub, "serve", "--port", str(port)], env)
        wait_http(f"http://{HOST}:{port}/healthz", procs)
        tenant = dlrhub_json(env, "tenant", "create", "slow", "--json")["id"]
        url = dlrhub_json(env, "account", "create", "--tenant", tenant, "--provider",
                          "tencent", "--json")["callback_url"]
        phases = [asyncio.run(_phase("alone", 0, port, url, args)),
                  asyncio.run(_phase("with slow clients", args.slow, port, url, args))]
        procs.check()
    finally:
        procs.stop_all()
    print(f"# slow clients — {args.stack}, {args.server}, {args.dlrhub}\n\n"
          f"{args.rate:g} callbacks/s for {args.duration:g}s per phase, client timeout "
          f"{args.timeout:g}s; slow connections: a third each trickling headers (1 byte/s), "
          f"a body that never completes (1 byte/s), silent; reopened when closed.\n\n"
          "| phase | slow connections | callbacks sent | answered 200 | failed | "
          "p50 ms | p99 ms | max ms | slow connections closed by the server |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
          + "\n".join(p.row() for p in phases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
