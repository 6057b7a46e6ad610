#!/usr/bin/env python3
"""Time relay passes in-process: claim, sign, send, record, on PostgreSQL.

What a worker's relay tasks spend per delivery, without Celery, the broker or other
workers: the figure to compare before and after a change to the relay's hot path. It
stores ``--callbacks`` Tencent callbacks of 100 records (ingest() plans a delivery per
receipt to one endpoint of ``--batch-size``), starts ``bench/customer_app.py`` as the
endpoint, then relays the deliveries through :class:`dlrhub.services.relay.run.Relay`
in passes of ``--task-size`` ids, as the wake-ups hand them to a task, and prints the process's
CPU (every thread: the pass and the sender's loop) per delivery and per event, and
PostgreSQL's (all its processes: run it on a quiet machine).
Recreates the database ``--database`` (default ``dlrhub_bench_relay``).

    .venv/bin/python bench/relay_pass.py [--callbacks 50] [--batch-size 1] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import procstat
from inproc import add_to_inbox, fresh_database, tencent_callbacks
from sqlalchemy import select

from dlrhub.config import Settings
from dlrhub.models import (
    DELIVERY_TABLE,
    AccountCreate,
    DeliveryStatus,
    EndpointCreate,
    utcnow,
)
from dlrhub.services.accounts import create_account
from dlrhub.services.endpoints import create_endpoint
from dlrhub.services.ingest import ingest
from dlrhub.services.relay.run import Relay
from dlrhub.services.runtime import Runtime
from dlrhub.services.tenancy import create_tenant
from dlrhub.tasks.wakeups import RELAY_TASK_SIZE

BENCH = Path(__file__).resolve().parent


class NoWakeups:
    """The wake-ups a pass would send: none are needed, the harness drives the passes."""

    def inbox_ready(self, inbox_ids: object, records: int = 1) -> None:
        """Ignore."""

    def deliveries_ready(self, planned: object, *, countdown: float = 0) -> None:
        """Ignore."""

    def endpoint_ready(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        """Ignore."""


def free_port() -> int:
    """Return a free TCP port on the loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_customer(port: int) -> subprocess.Popen[bytes]:
    """Start the customer endpoint and wait until it answers."""
    proc = subprocess.Popen([sys.executable, str(BENCH / "customer_app.py"), "--port",
                             str(port)])
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the customer endpoint did not start")


def store(rt: Runtime, account: tuple[str, str], callbacks: int, run: int) -> list[str]:
    """Store ``callbacks`` callbacks of 100 records; return the deliveries they planned."""
    tenant_id, account_id = account
    with rt.sessions() as session:
        ids = add_to_inbox(session, tenant_id, account_id,
                           tencent_callbacks(run * callbacks, callbacks, 100))
        session.commit()
    with rt.sessions() as session:
        ingest(session, rt.box, ids, now=utcnow())
        session.commit()
    with rt.sessions() as session:
        return list(session.execute(select(DELIVERY_TABLE.c.id).where(
            DELIVERY_TABLE.c.status == DeliveryStatus.pending.value).order_by(
            DELIVERY_TABLE.c.id)).scalars())


def main() -> None:
    """Store, relay in passes, print CPU per delivery of each run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="dlrhub_bench_relay")
    parser.add_argument("--callbacks", type=int, default=50,
                        help="callbacks of 100 records stored per run (default 50)")
    parser.add_argument("--batch-size", type=int, default=1, choices=range(1, 101),
                        metavar="1-100", help="the endpoint's batch_size (default 1)")
    parser.add_argument("--task-size", type=int, default=RELAY_TASK_SIZE,
                        help=f"delivery ids per pass (default {RELAY_TASK_SIZE}, what a "
                             f"relay task gets)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = fresh_database(args.postgres, args.database)
    port = free_port()
    customer = start_customer(port)
    settings = Settings(database_url=url, secret_key="bench-" * 6,
                        allow_private_endpoints=True)
    rt = Runtime.build(settings).waking(NoWakeups())
    try:
        with rt.sessions() as session:
            tenant = create_tenant(session, name="bench")
            account = create_account(session, rt.box, tenant_id=tenant.id,
                                     spec=AccountCreate(provider="tencent", name="bench")
                                     ).account
            create_endpoint(session, rt.box, tenant_id=tenant.id, allow_private=True,
                            spec=EndpointCreate(url=f"http://127.0.0.1:{port}/hook/pass",
                                                batch_size=args.batch_size))
            session.commit()
            owner = (tenant.id, account.id)
        relay = Relay.build(rt)
        per_delivery: list[float] = []
        per_event: list[float] = []
        pg_per_delivery: list[float] = []
        for run in range(args.runs):
            ids = store(rt, owner, args.callbacks, run)
            before = procstat.snapshot({})
            cpu, wall = time.process_time(), time.perf_counter()
            sent = 0
            for at in range(0, len(ids), args.task_size):
                sent += relay.run(ids[at:at + args.task_size])
            relay.drain(30)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            postgres = procstat.used(before, procstat.snapshot({}))["postgres"]
            events = args.callbacks * 100
            per_delivery.append(cpu * 1000 / max(sent, 1))
            per_event.append(cpu * 1000 / events)
            pg_per_delivery.append(postgres * 1000 / max(sent, 1))
            print(f"run {run + 1}: {sent:,} deliveries, {events:,} events in {wall:.2f} s; "
                  f"CPU ms per delivery: relay {per_delivery[-1]:.3f}, PostgreSQL "
                  f"{pg_per_delivery[-1]:.3f} (all its processes); relay per event "
                  f"{per_event[-1]:.4f}", flush=True)
        print(f"median CPU ms per delivery: relay {statistics.median(per_delivery):.3f}, "
              f"PostgreSQL {statistics.median(pg_per_delivery):.3f}; relay per event "
              f"{statistics.median(per_event):.4f} (batch_size {args.batch_size}, "
              f"pid {os.getpid()})")
        relay.sender.close()
    finally:
        rt.close()
        customer.terminate()
        customer.wait()


if __name__ == "__main__":
    main()
