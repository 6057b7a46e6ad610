"""Pausing Python's cyclic garbage collector while a large answer is built.

Building an answer of thousands of small dicts allocates enough containers to set off
the collector again and again, and a full collection walks every object of the process
(the whole application): on the analytics answer of a month by carrier and hour (7,200
groups) that was 50 to 75 ms of about 250 (``bench/analytics``; docs/insight.md). What
such an answer allocates holds no reference cycles, so reference counting frees all of
it; the collector resumes when the answer is built and catches up on its next turn.
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
