"""What the in-process benchmarks share: a database of their own made afresh, and Tencent
callbacks put in its inbox as the API would (``ingest_batch.py``, ``relay_pass.py``,
``purge_bench.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from sqlmodel import Session

from dlrhub.models import InboundCallback
from dlrhub.models.migrate import upgrade
from dlrhub.providers.base import SimulatedCallback
from dlrhub.services.simulate import build_callback


def fresh_database(postgres: str, database: str) -> str:
    """Drop and recreate ``database`` on the server ``postgres``, migrate it; return its URL."""
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    url = f"{postgres.replace('postgresql://', 'postgresql+psycopg://')}/{database}"
    upgrade(url)
    return url


def tencent_callbacks(first: int, count: int, records: int) -> list[SimulatedCallback]:
    """Return ``count`` Tencent status callbacks of ``records`` each, numbered from ``first``."""
    return [build_callback("tencent", "http://bench/v1/callbacks/tencent/x", seq=first + i,
                           batch=records, kind="status", credentials={})
            for i in range(count)]


def add_to_inbox(session: Session, tenant_id: str, account_id: str,
                 made: Sequence[SimulatedCallback]) -> list[str]:
    """Add built callbacks to the inbox (not committed); return their ids."""
    ids = []
    for m in made:
        row = InboundCallback(tenant_id=tenant_id, account_id=account_id, provider="tencent",
                              body=m.body, headers=dict(m.headers),
                              content_type=m.content_type)
        session.add(row)
        session.flush()
        ids.append(row.id)
    return ids
