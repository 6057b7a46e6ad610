"""When ``dlrhub serve`` starts a dead worker again."""

from __future__ import annotations

from dlrhub.cli.supervise import WorkerRestarts


def test_a_worker_that_dies_now_and_then_is_always_started_again() -> None:
    restarts = WorkerRestarts(limit=3, window=60)
    assert all(restarts.allow(t) for t in (0, 30, 61, 95, 140, 200))


def test_a_worker_that_keeps_dying_is_not() -> None:
    restarts = WorkerRestarts(limit=3, window=60)
    assert [restarts.allow(t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert restarts.allow(60.5)  # the first death left the window
