"""`dlrhub backup`: a consistent copy of the embedded database while it is written."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from click.testing import CliRunner

from dlrhub.cli.backup import copy_sqlite
from dlrhub.cli.main import cli
from dlrhub.config import get_settings


def _ledger(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
        db.commit()


def test_a_copy_taken_while_another_connection_writes_is_whole(tmp_path: Path) -> None:
    source, target = tmp_path / "live.sqlite3", tmp_path / "copy.sqlite3"
    _ledger(source)
    stop = threading.Event()

    def write() -> None:
        # Each transaction moves 7 from one row to a new one: every consistent snapshot
        # sums to zero, a torn one would not.
        with contextlib.closing(sqlite3.connect(source)) as db:
            while not stop.is_set():
                with db:
                    db.executemany("INSERT INTO ledger (amount) VALUES (?)", [(7,), (-7,)])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [copy_sqlite(source, target) for _ in range(5)]
    finally:
        stop.set()
        writer.join()
    assert all(size > 0 for size in copies)
    with contextlib.closing(sqlite3.connect(target)) as db:
        rows, total = db.execute("SELECT count(*), coalesce(sum(amount), 0) FROM ledger"
                                 ).fetchone()
        assert total == 0
        assert rows % 2 == 0
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert not (tmp_path / ".copy.sqlite3.partial").exists()


def test_the_command_copies_the_embedded_database_and_keeps_an_existing_file(
        tmp_path: Path) -> None:
    env = {"DLRHUB_DATA_DIR": str(tmp_path / "data"), "DLRHUB_DATABASE_URL": "",
           "DLRHUB_SECRET_KEY": "test-secret-key"}
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        get_settings.cache_clear()
        result = runner.invoke(cli, list(args), env=env)
        return result.exit_code, result.output

    (tmp_path / "data").mkdir()
    assert run("backup", str(tmp_path / "b.sqlite3"))[0] == 1  # nothing to copy yet
    assert run("db", "upgrade")[0] == 0
    assert run("tenant", "create", "Acme")[0] == 0
    code, out = run("backup", str(tmp_path / "b.sqlite3"))
    assert code == 0, out
    with contextlib.closing(sqlite3.connect(tmp_path / "b.sqlite3")) as db:
        assert db.execute("SELECT name FROM tenant").fetchall() == [("Acme",)]
    code, out = run("backup", str(tmp_path / "b.sqlite3"))
    assert code == 1
    assert "--force" in out
    assert run("backup", "--force", str(tmp_path / "b.sqlite3"))[0] == 0


def test_postgresql_is_sent_to_its_own_tools(tmp_path: Path) -> None:
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["backup", str(tmp_path / "x")], env={
        "DLRHUB_DATABASE_URL": "postgresql+psycopg://u@db.example/dlrhub",
        "DLRHUB_SECRET_KEY": "test-secret-key"})
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "pg_dump" in result.output


def test_a_folder_with_a_question_mark_or_hash_is_copied_not_an_empty_file(
        tmp_path: Path) -> None:
    folder = tmp_path / "data?v=1#x"
    folder.mkdir()
    source, target = folder / "dlrhub.sqlite3", tmp_path / "copy.sqlite3"
    _ledger(source)
    with contextlib.closing(sqlite3.connect(source)) as db, db:
        db.execute("INSERT INTO ledger (amount) VALUES (42)")
    copy_sqlite(source, target)
    with contextlib.closing(sqlite3.connect(target)) as db:
        assert db.execute("SELECT amount FROM ledger").fetchall() == [(42,)]
    # and nothing was created beside the folder by a path cut at the "?"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite3", "data?v=1#x"]
