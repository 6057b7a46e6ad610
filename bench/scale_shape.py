"""Run docker-compose.scale.yml's shape as plain processes, and show that it shares the load.

The shape (docs/scaling.md): two API replicas behind nginx, configured by the project's
own ``deploy/nginx.conf``; two ingest-only workers; one relay-only worker; one beat; all
on one PostgreSQL and one Redis. Each node gets what a container of its own would: its
own data folder and metrics folder, and only the environment the compose files give it.
Docker's part (images, the network, the ``!reset`` tags) is not exercised: this
machine has no Docker engine.

Load: wrk posts Tencent status reports through nginx for ``--duration`` seconds; a
customer endpoint (``customer_app.py``) takes every event. Then the script waits until
every receipt is stored and every event delivered, reads each node's counters (from
its own ``PROMETHEUS_MULTIPROC_DIR``, which outlives a killed node) and its CPU, and
checks:

- each API replica answered at least ``--min-share`` of the callbacks;
- each ingest worker stored at least ``--min-share`` of the receipts;
- the relay worker made every delivery, and the ingest workers none;
- nothing was lost: receipts stored = records accepted = events delivered.

With ``--kill``, one API node and one ingest node are SIGKILLed half-way through the load
(a machine lost): the others must take over, every callback answered 200 must become
its receipts, and each event must reach the customer. It exits 1 if a check fails.

Like bench/ingest it DROPS and recreates ``--database`` and FLUSHES ``--redis``; it
needs PostgreSQL, Redis, wrk and nginx (Debian: ``nginx-light``).

    .venv/bin/python bench/scale_shape.py [--kill] [--duration 20] [--batch 10] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import procstat  # noqa: E402
from ingest_bench import (  # noqa: E402
    HOST,
    PROTECTED_DATABASES,
    SHANGHAI,
    Processes,
    free_port,
    pg_url,
    reset_stores,
    wait_http,
)
from relay_bench import http_json  # noqa: E402
from runs import ROOT, in_venv, run_bench, write_report  # noqa: E402
from wrkload import lua_script, run_wrk  # noqa: E402

ADMIN_TOKEN = "scale-shape-admin-token-0123456789abcdef"
API_REPLICAS = 2
INGEST_WORKERS = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/scale_shape.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--duration", type=int, default=20, help="seconds of load (default 20)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    p.add_argument("--batch", type=int, default=10,
                   help="status reports per callback (default 10)")
    p.add_argument("--endpoint-batch", type=int, default=10,
                   help="the customer endpoint's batch_size (default 10)")
    p.add_argument("--worker-concurrency", type=int, default=1,
                   help="processes of each worker node (default 1: 2 cores, 5 nodes)")
    p.add_argument("--min-share", type=float, default=0.3,
                   help="least share of the work each replica must take (default 0.3)")
    p.add_argument("--kill", action="store_true",
                   help="SIGKILL api-2 and worker-2 half-way through the load: the others "
                        "take over, and nothing answered 200 may be lost")
    p.add_argument("--drain-timeout", type=float, default=300)
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="dlrhub_bench")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    p.add_argument("--results", type=Path, default=BENCH / "results")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = p.parse_args(argv)
    if args.database in PROTECTED_DATABASES:
        p.error(f"refusing to drop {args.database!r}")
    return args


@dataclass
class Node:
    """One process of the shape: what compose would run as one container."""

    name: str
    role: str  # api, ingest, relay, beat
    command: list[str]
    env: dict[str, str]
    port: int = 0  # the API's HTTP port or the worker's metrics port
    counters: dict[str, float] = field(default_factory=dict)
    cpu: float = 0.0


def counter_sum(registry: Any, name: str, **labels: str) -> float:
    """Return the sum of a counter's samples in ``registry`` whose labels match ``labels``."""
    return sum(sample.value for family in registry.collect() for sample in family.samples
               if sample.name == name
               and all(sample.labels.get(k) == v for k, v in labels.items()))


def nginx_conf(work: Path, port: int, upstreams: list[int]) -> Path:
    """Return an nginx.conf around the project's own server block, pointed at ``upstreams``."""
    block = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server {HOST}:{p};\n    " for p in upstreams)
    if "server api:8000;" not in block or "listen 8000;" not in block:
        raise RuntimeError("deploy/nginx.conf changed shape: update bench/scale_shape.py")
    block = block.replace("server api:8000;\n    ", servers)
    block = block.replace("listen 8000;", f"listen {HOST}:{port};")
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "nginx" / d).mkdir(parents=True, exist_ok=True)
    conf = work / "nginx" / "nginx.conf"
    # Run as root, nginx's workers would be nobody, who cannot enter mkdtemp's folder to
    # buffer a callback's body.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}worker_processes 1;\npid {work}/nginx/nginx.pid;\n"
        f"error_log {work}/logs/nginx-error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {work}/nginx/body;\n"
        f"  proxy_temp_path {work}/nginx/proxy;\n"
        f"  fastcgi_temp_path {work}/nginx/fastcgi;\n  uwsgi_temp_path {work}/nginx/uwsgi;\n"
        f"  scgi_temp_path {work}/nginx/scgi;\n"
        f"{block}\n}}\n")
    return conf


class Shape:
    """The scale shape's processes, its load and its checks."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        (work / "logs").mkdir(parents=True, exist_ok=True)
        self.procs = Processes(work / "logs")
        self.lb_port = free_port()
        self.customer_port = free_port()
        self.base = f"http://{HOST}:{self.lb_port}"
        self.nodes: list[Node] = []
        self.lines: list[str] = []
        self.failed: list[str] = []
        self.outside: dict[str, float] = {}
        self.killed: list[str] = []

    def _say(self, message: str) -> None:
        print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def _env(self, name: str, **extra: str) -> dict[str, str]:
        folder = self.work / "nodes" / name
        (folder / "metrics").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DLRHUB_")
               and k not in ("PROMETHEUS_MULTIPROC_DIR", "PGAPPNAME")}
        env.update({
            # docker-compose.yml's common environment, with this machine's addresses.
            "DLRHUB_DATABASE_URL": pg_url(self.args, self.args.database, "psycopg"),
            "DLRHUB_BROKER_URL": self.args.redis,
            "DLRHUB_SECRET_KEY": "scale-shape-secret-key-0123456789abcdef",
            "DLRHUB_ADMIN_TOKEN": ADMIN_TOKEN,
            "DLRHUB_PUBLIC_URL": self.base,
            "DLRHUB_LOG_LEVEL": "WARNING",
            "DLRHUB_DATA_DIR": str(folder),
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
            # The customer listens on loopback, as nginx does here.
            "DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "true",
            "DLRHUB_API_WORKERS": "1",
            "DLRHUB_WORKER_CONCURRENCY": str(self.args.worker_concurrency),
            **extra,
        })
        return env

    def run(self) -> None:
        dlrhub = str(Path(sys.executable).parent / "dlrhub")
        wrk = shutil.which("wrk")
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                          else None)
        if not wrk or not nginx:
            raise SystemExit("bench/scale_shape.py needs wrk and nginx "
                             "(Debian: apt-get install wrk nginx-light)")
        reset_stores(self.args, self._env("migrate"), [], self._say)
        for i in range(1, API_REPLICAS + 1):
            port = free_port()
            self.nodes.append(Node(f"api-{i}", "api", [dlrhub, "api", "--port", str(port)],
                                   self._env(f"api-{i}", DLRHUB_FORWARDED_ALLOW_IPS=HOST),
                                   port))
        for i in range(1, INGEST_WORKERS + 1):
            port = free_port()
            self.nodes.append(Node(f"worker-{i}", "ingest", [dlrhub, "worker"], self._env(
                f"worker-{i}", DLRHUB_WORKER_QUEUES="ingest",
                DLRHUB_WORKER_METRICS_PORT=str(port)), port))
        port = free_port()
        self.nodes.append(Node("relay", "relay", [dlrhub, "worker"], self._env(
            "relay", DLRHUB_WORKER_QUEUES="relay", DLRHUB_WORKER_METRICS_PORT=str(port)), port))
        self.nodes.append(Node("beat", "beat", [dlrhub, "beat"], self._env("beat")))
        self.procs.start("customer", [sys.executable, str(BENCH / "customer_app.py"),
                                      "--port", str(self.customer_port)], self._env("customer"))
        for node in self.nodes:
            self.procs.start(node.name, node.command, node.env)
        conf = nginx_conf(self.work, self.lb_port,
                          [n.port for n in self.nodes if n.role == "api"])
        self.procs.start("nginx", [nginx, "-c", str(conf), "-p", str(self.work / "nginx"),
                                   "-g", "daemon off;"], self._env("nginx"))
        self._say(f"{len(self.nodes)} nodes and nginx on {self.base}")
        wait_http(f"{self.base}/readyz", self.procs)
        for node in self.nodes:
            if node.role == "api":
                wait_http(f"http://{HOST}:{node.port}/readyz", self.procs)
            elif node.role in ("ingest", "relay"):
                wait_http(f"http://{HOST}:{node.port}/metrics", self.procs)
        time.sleep(2)  # Celery consumers connect to the broker after the metrics server
        self._load()

    def _load(self) -> None:
        a = self.args
        tenant = http_json("POST", f"{self.base}/v1/tenants", token=ADMIN_TOKEN,
                           body={"name": "scale"})["id"]
        key = http_json("POST", f"{self.base}/v1/tenants/{tenant}/keys", token=ADMIN_TOKEN,
                        body={"name": "scale"})["key"]
        acc = http_json("POST", f"{self.base}/v1/accounts", token=key,
                        body={"provider": "tencent", "name": "scale"})
        url = str(acc["callback_url"])
        if not url.startswith(f"{self.base}/"):
            raise RuntimeError(f"callback_url {url} is not behind nginx ({self.base})")
        http_json("POST", f"{self.base}/v1/endpoints", token=key, body={
            "url": f"http://{HOST}:{self.customer_port}/hook/scale",
            "batch_size": a.endpoint_batch})
        tag = datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
        script = lua_script(self.work / "scale.lua", run=f"scale-{tag}", batch=a.batch,
                            max_per_thread=10**7,
                            stamp=datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                            delay_ms=0)
        groups = self.procs.groups()
        before = procstat.snapshot(groups)
        killer = None
        if a.kill:
            # Half-way through the load, one API node and one ingest node die as a
            # machine would: SIGKILL to every process of theirs, nothing flushed.
            killer = threading.Timer(a.duration / 2, self._kill, (("api-2", "worker-2"),))
            killer.start()
        self._say(f"{a.duration}s of callbacks of {a.batch} reports through nginx"
                  + (" (api-2 and worker-2 killed half-way)" if a.kill else ""))
        try:
            w = run_wrk(shutil.which("wrk") or "wrk", url, script, threads=2,
                        connections=a.connections, duration=a.duration, timeout=10,
                        log=self.work / "logs" / "wrk.txt")
        finally:
            if killer is not None:
                killer.cancel()
        self._say(f"{w.ok:,} callbacks accepted ({w.ok_per_second:,.0f}/s), "
                  f"{w.bad} other answers, socket errors {w.errors}; waiting until every "
                  "callback is stored and every event delivered")
        drain = time.monotonic()
        counts = self._drain()
        counts["drain_s"] = round(time.monotonic() - drain)
        after = procstat.snapshot(groups)
        mine = procstat.by_group(before, after, groups, procstat.process_groups())
        for node in self.nodes:
            node.cpu = mine[node.name]
        outside = procstat.used(before, after)
        self.outside = {k: outside[k] for k in ("postgres", "redis", "nginx") if k in outside}
        self._read_counters()
        self._check(w.ok, w.bad, w.errors, counts)

    def _kill(self, names: tuple[str, ...]) -> None:
        for name in names:
            proc = self.procs.running.pop(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self.killed.append(name)
        self._say(f"killed {', '.join(names)}")

    def _drain(self) -> dict[str, int]:
        """Wait until no callback is pending and the customer has every event.

        A killed worker's callbacks come back through the beat's sweep (every
        ``DLRHUB_SWEEP_INTERVAL``, once ``DLRHUB_SWEEP_GRACE`` has passed): a minute or two.
        """
        import psycopg

        deadline = time.monotonic() + self.args.drain_timeout
        counts: dict[str, int] = {}
        with psycopg.connect(pg_url(self.args, self.args.database), autocommit=True) as db:
            while time.monotonic() < deadline:
                self.procs.check()
                row = db.execute(
                    "SELECT (SELECT count(DISTINCT md5(body)) FROM inbound_callback),"
                    " (SELECT count(*) FROM inbound_callback),"
                    " (SELECT count(*) FROM inbound_callback WHERE state <> 'processed'),"
                    " (SELECT count(*) FROM receipt WHERE type = 'sms.status')").fetchone()
                assert row is not None
                stats = http_json("GET",
                                  f"http://{HOST}:{self.customer_port}/stats?tag=scale")
                counts = {"inbox": row[0], "raw": row[1], "unprocessed": row[2],
                          "receipts": row[3],
                          "delivered": int(stats.get("unique", 0)),
                          "duplicates": int(stats.get("duplicates", 0))}
                if not counts["unprocessed"] and counts["delivered"] >= counts["receipts"]:
                    break
                time.sleep(0.5)
        return counts

    def _read_counters(self) -> None:
        """Read each node's counters from its metrics folder: a killed node's stay there."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        for node in self.nodes:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=node.env["PROMETHEUS_MULTIPROC_DIR"])
            node.counters = {
                "callbacks": counter_sum(registry, "dlrhub_callbacks_total",
                                         outcome="accepted"),
                "receipts": counter_sum(registry, "dlrhub_receipts_total"),
                "deliveries": counter_sum(registry, "dlrhub_deliveries_total",
                                          outcome="succeeded"),
            }

    def _check(self, ok: int, bad: int, errors: int, counts: dict[str, int]) -> None:
        a = self.args
        by_role = {role: [n for n in self.nodes if n.role == role]
                   for role in ("api", "ingest", "relay", "beat")}
        callbacks = sum(n.counters["callbacks"] for n in by_role["api"])
        stored = sum(n.counters["receipts"] for n in by_role["ingest"])
        # A replica killed between its commit and its answer counted a callback that
        # nginx then resent to the other, which counted it again.
        answered = (round(callbacks) - (counts["raw"] - counts["inbox"])) * a.batch
        self.lines += [
            "| node | role | callbacks answered | receipts stored | deliveries made | "
            "share of its role's work | CPU s |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for n in self.nodes:
            mine, whole = {"api": (n.counters.get("callbacks", 0), callbacks),
                           "ingest": (n.counters.get("receipts", 0), stored)}.get(
                               n.role, (0.0, 0.0))
            share = f"{mine / whole:.0%}" if whole else "–"
            dead = " (killed)" if n.name in self.killed else ""
            self.lines.append(
                f"| {n.name}{dead} | {n.role} | {n.counters.get('callbacks', 0):,.0f} | "
                f"{n.counters.get('receipts', 0):,.0f} | "
                f"{n.counters.get('deliveries', 0):,.0f} | {share} | "
                f"{'–' if dead else f'{n.cpu:.1f}'} |")
            least = a.min_share if not self.killed else 0.01
            if n.role in ("api", "ingest") and (not whole or mine / whole < least):
                self.failed.append(f"{n.name} took {mine:,.0f} of {whole:,.0f} "
                                   f"(< {least:.0%})")
            if n.role == "ingest" and n.counters.get("deliveries", 0):
                self.failed.append(f"{n.name} (ingest only) made deliveries")
        relay = by_role["relay"][0].counters.get("deliveries", 0)
        if relay < math.ceil(counts["receipts"] / a.endpoint_batch):
            self.failed.append(f"the relay made {relay:,.0f} deliveries for "
                               f"{counts['receipts']:,} events of batch_size "
                               f"{a.endpoint_batch}")
        # A provider must never get an error, a replica killed or not: nginx resends a
        # dead replica's callbacks. Answers in flight when wrk stops are counted by the
        # replicas, not by wrk; a callback resent may be counted by both replicas.
        twice = counts["raw"] - counts["inbox"]
        if bad or (not self.killed and errors) \
                or not ok <= callbacks <= ok + a.connections + twice:
            self.failed.append(f"wrk saw {ok:,} accepted, {bad} other answers and "
                               f"{errors} socket errors; the replicas counted "
                               f"{callbacks:,.0f}")
        if counts["unprocessed"]:
            self.failed.append(f"{counts['unprocessed']:,} callbacks not stored")
        # Every distinct callback stored holds a.batch reports of its own: each is one
        # receipt. (nginx sends a request that was in flight on a dead replica to the
        # other one: the same body may be stored twice, its receipts once.)
        if counts["receipts"] != counts["inbox"] * a.batch:
            self.failed.append(f"{counts['inbox']:,} distinct callbacks stored gave "
                               f"{counts['receipts']:,} receipts, not {a.batch} each")
        # A node killed between its commit and its counter has stored more than it
        # counted, never less.
        if counts["receipts"] < answered:
            self.failed.append(f"callbacks answered 200 hold {answered:,} reports; only "
                               f"{counts['receipts']:,} receipts stored")
        if counts["delivered"] != counts["receipts"]:
            self.failed.append(f"{counts['receipts']:,} receipts, {counts['delivered']:,} "
                               "events delivered")
        self.lines += [
            "", f"{callbacks:,.0f} callbacks of {a.batch} reports answered 200 through "
            f"nginx in {a.duration} s ({ok / a.duration:,.0f}/s as wrk counted them; "
            f"{bad} other answers, {errors} socket errors); {counts['inbox']:,} distinct "
            f"callbacks stored ({counts['raw'] - counts['inbox']:,} of them twice); "
            f"{counts['receipts']:,} receipts; {counts['delivered']:,} events "
            f"delivered (batch_size {a.endpoint_batch}, {counts['duplicates']:,} "
            f"delivered twice), {counts['drain_s']} s after the load ended. CPU s of the "
            "shared services: "
            + ", ".join(f"{k} {v:.1f}" for k, v in self.outside.items()) + "."]

    def stop(self) -> None:
        self.procs.stop_all()


def main(argv: list[str] | None = None) -> int:
    in_venv(__file__, argv)
    args = parse_args(argv)
    started = datetime.now(SHANGHAI)
    bench, status = run_bench("scale_shape", "dlrhub-scale-",
                              lambda work: Shape(args, work), keep=args.keep)
    if status is not None:
        return status
    assert isinstance(bench, Shape)
    verdict = "every check passed" if not bench.failed else \
        "FAILED: " + "; ".join(bench.failed)
    write_report(args.results, "scale-shape", started, "\n".join([
        f"# The scale shape as processes ({started:%Y-%m-%d %H:%M} Asia/Shanghai)", "",
        f"{API_REPLICAS} API replicas behind nginx (deploy/nginx.conf), {INGEST_WORKERS} "
        f"ingest workers, 1 relay worker, 1 beat; PostgreSQL and Redis on this machine.",
        "", *bench.lines, "", f"**{verdict}**", ""]))
    return 0 if not bench.failed else 1


if __name__ == "__main__":
    sys.exit(main())
