"""The embedded broker under concurrent producers and consumers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from dlrhub.config import Settings
from dlrhub.tasks.app import INGEST_MANY, INGEST_QUEUE, create_celery
from dlrhub.tasks.filebroker import Transport

MESSAGES = 2000


def _connection(folder: Path) -> Connection:
    (folder / "queue").mkdir(parents=True, exist_ok=True)
    return Connection(transport=Transport, transport_options={
        "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"), "store_processed": False})


def _produce(folder: str, start: int, count: int) -> None:
    with _connection(Path(folder)) as conn, conn.SimpleQueue("q") as queue:
        for n in range(start, start + count):
            queue.put({"n": n, "pad": "x" * 2000})


def _consume(queue: Any, until: int, producers: list[Any]) -> list[int]:
    seen: list[int] = []
    while len(seen) < until:
        try:
            message = queue.get_nowait()
        except queue.Empty:
            if not any(p.is_alive() for p in producers) and not len(queue):
                break
            continue
        seen.append(message.payload["n"])
        message.ack()
    return seen


def test_a_consumer_racing_two_producers_gets_every_message_once_and_whole(
        tmp_path: Path) -> None:
    # kombu's own file transport creates the file before writing it: a consumer that
    # polls fast enough reads it empty and its worker stops on the JSON error.
    ctx = multiprocessing.get_context("spawn")
    producers = [ctx.Process(target=_produce, args=(str(tmp_path), i * MESSAGES, MESSAGES))
                 for i in range(2)]
    with _connection(tmp_path) as conn, conn.SimpleQueue("q") as queue:
        for p in producers:
            p.start()
        seen = _consume(queue, 2 * MESSAGES, producers)
    for p in producers:
        p.join(30)
    assert sorted(seen) == list(range(2 * MESSAGES))
    assert not list((tmp_path / "partial").iterdir())
    assert not list((tmp_path / "claimed").iterdir())


def test_a_message_still_being_written_is_not_seen(tmp_path: Path) -> None:
    with _connection(tmp_path) as conn, conn.SimpleQueue("w") as queue:
        queue.put({"n": 1})
        assert queue.get(timeout=2).payload == {"n": 1}
        # A producer that stopped halfway (or is still writing) leaves its file here.
        (tmp_path / "partial" / "1_half.w.msg").write_bytes(b'{"n": 2, "pa')
        assert len(queue) == 0
        with pytest.raises(queue.Empty):
            queue.get_nowait()


def test_an_unreadable_message_is_set_aside_and_the_next_one_is_delivered(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with _connection(tmp_path) as conn, conn.SimpleQueue("q") as queue:
        (tmp_path / "queue" / "1_broken.q.msg").write_bytes(b'{"n": 1, "trunc')
        queue.put({"n": 2})
        assert queue.get(timeout=2).payload == {"n": 2}
        with pytest.raises(queue.Empty):
            queue.get_nowait()
    assert (tmp_path / "unreadable" / "1_broken.q.msg").read_bytes() == b'{"n": 1, "trunc'
    assert "unreadable" in caplog.text


def test_the_embedded_celery_app_sends_tasks_through_it(tmp_path: Path) -> None:
    app = create_celery(Settings(data_dir=tmp_path, broker_url=None))
    app.send_task(INGEST_MANY, args=[["inb_1", "inb_2"]])
    with app.connection_for_read() as conn:
        assert isinstance(conn.transport, Transport)
        with conn.SimpleQueue(INGEST_QUEUE) as queue:
            message = queue.get(timeout=2)
    assert message.headers["task"] == INGEST_MANY
    assert message.payload[0] == [["inb_1", "inb_2"]]


def test_a_process_can_use_one_folder_after_another(tmp_path: Path) -> None:
    # kombu remembers bindings once per process: the second folder got none written.
    for folder in (tmp_path / "first", tmp_path / "second"):
        with _connection(folder) as conn, conn.SimpleQueue("same") as queue:
            queue.put({"folder": folder.name})
            assert queue.get(timeout=2).payload == {"folder": folder.name}
