#!/usr/bin/env python3
"""Time ingest() on one batch in-process: N Tencent callbacks of M records, on PostgreSQL.

What a worker's ingest task spends on one batch, without the HTTP server, the broker or
other processes: the figure to compare before and after a change to ingest's hot path
(the message rows, the delivery aggregate). Recreates the database ``--database``
(default ``dlrhub_bench_batch``) on the server of ``--postgres``.

    .venv/bin/python bench/ingest_batch.py [--callbacks 100] [--records 100] [--runs 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

from inproc import add_to_inbox, fresh_database, tencent_callbacks

from dlrhub.models import AccountCreate, make_engine, make_session_factory, utcnow
from dlrhub.services.accounts import create_account
from dlrhub.services.crypto import SecretBox
from dlrhub.services.ingest import ingest
from dlrhub.services.tenancy import create_tenant


def main() -> None:
    """Build the batches, time ingest() and commit on each, print the seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="dlrhub_bench_batch")
    parser.add_argument("--callbacks", type=int, default=100)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    url = fresh_database(args.postgres, args.database)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    box = SecretBox("bench-" * 6)
    with sessions() as session:
        tenant = create_tenant(session, name="bench")
        account = create_account(session, box, tenant_id=tenant.id,
                                 spec=AccountCreate(provider="tencent", name="bench")).account
        session.commit()
    seconds = []
    for run in range(args.runs):
        with sessions() as session:
            ids = add_to_inbox(session, account.tenant_id, account.id, tencent_callbacks(
                run * args.callbacks, args.callbacks, args.records))
            session.commit()
        with sessions() as session:
            started = time.perf_counter()
            ingest(session, box, ids, now=utcnow())
            session.commit()
            seconds.append(time.perf_counter() - started)
    engine.dispose()
    print(f"ingest() of {args.callbacks} callbacks x {args.records} records, s: "
          f"{', '.join(f'{s:.3f}' for s in seconds)}; median {statistics.median(seconds):.3f}")


if __name__ == "__main__":
    main()
