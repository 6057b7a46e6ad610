"""Pausing Python's cyclic garbage collector while a large answer or batch is built.

Building an answer of thousands of small dicts allocates enough containers to set off
the collector again and again, and a full collection walks every object of the process
(the whole application): on the analytics answer of a month by carrier and hour (7,200
groups) that was 50 to 75 ms of about 250 (``bench/analytics``; docs/insight.md), and
an ingest batch of 2,000 receipts set it off about 20 times, 8 to 10 ms of the batch
(``services/ingest.py``). What they allocate is freed by reference counting (the
few cycles, a session's, wait for the next collection); the collector resumes when the
block ends and catches up on its next turn.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and turn it back on after.

    The switch is the process's, shared by its threads: a block entered while another
    thread's has it off leaves it to that one to turn back on, so it ends on whatever
    happens, and at worst another thread's block runs with the collector on.
    """
    was_on = gc.isenabled()
    if was_on:
        gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
