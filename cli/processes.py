"""Run the parts of dlrhub: serve (all together, supervised), api, worker, beat, db."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import click

from dlrhub.cli.output import failures
from dlrhub.cli.reaper import RUN_VARIABLE, Watchdog, kill_run, wait_group_gone
from dlrhub.cli.runlock import AlreadyServing, ServeLock
from dlrhub.cli.supervise import WorkerRestarts
from dlrhub.config.logging import say
from dlrhub.core.lifetime import dying_with

# The logger name of what serve says of itself.
SERVE = "dlrhub.serve"


def _server_options(command: Any) -> Any:
    command = click.option("--port", type=click.IntRange(1, 65535),
                           help="Port to listen on (DLRHUB_PORT, 8000).")(command)
    return click.option("--host", help="Address to listen on (DLRHUB_HOST, 127.0.0.1).")(
        command)


def _prepare(host: str | None = None, port: int | None = None) -> Any:
    """Apply --host/--port, make the data folder, point the metrics at it."""
    if host:
        os.environ["DLRHUB_HOST"] = host
    if port:
        os.environ["DLRHUB_PORT"] = str(port)
    from dlrhub.config import configure_logging, get_settings

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Counters of every process (API workers, Celery workers) meet in one folder so
    # that /metrics shows them all; set before prometheus_client is first imported.
    metrics_dir = Path(os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", str((settings.data_dir / "metrics").resolve())))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    settings.warn_if_insecure()
    return settings


def _api_cmd(settings: Any) -> list[str]:
    """Return the command of the API server (settings reach it through the environment)."""
    del settings
    return [sys.executable, "-m", "dlrhub.api.server"]


def _celery_cmd(settings: Any, *parts: str) -> list[str]:
    # Celery's banners are printed, not logged: JSON logs go without them.
    quiet = ["--quiet"] if settings.log_json else []
    return [sys.executable, "-m", "celery", "-A", "dlrhub.tasks.worker", *quiet, *parts,
            "--loglevel", settings.log_level]


def _worker_cmd(settings: Any, concurrency: int | None, beat: bool) -> list[str]:
    cmd = _celery_cmd(settings, "worker", "--concurrency",
                      str(concurrency or settings.worker_concurrency),
                      "--queues", settings.worker_queues)
    if settings.embedded_broker:
        # The file-system broker has no broadcast fan-out worth waiting for.
        cmd += ["--without-mingle", "--without-gossip"]
    if beat:
        cmd += ["--beat", "--schedule", str((settings.data_dir / "celerybeat-schedule")
                                            .resolve())]
    return cmd


def _migrate(settings: Any) -> None:
    from dlrhub.models.migrate import upgrade

    upgrade(settings.effective_database_url)


def _admin_token(settings: Any) -> tuple[str, str]:
    """Return the admin token, making one in the data folder on the first start, and
    the line that tells the terminal about it.

    The token itself is shown once, when it is made: later starts say where it is
    kept, so that a terminal captured into a log file holds it at most once.
    """
    if settings.admin_token:
        return str(settings.admin_token), "admin token: the one DLRHUB_ADMIN_TOKEN sets"
    path = settings.data_dir / "admin-token"
    made = not path.exists()
    if made:
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    token: str = path.read_text().strip()
    os.environ["DLRHUB_ADMIN_TOKEN"] = token
    if made and settings.log_json:
        # JSON lines are for a log collector: the token stays in its file.
        return token, f"admin token: made now, kept in {path} (cat it)"
    if made:
        return token, (f"admin token: {token} (made now, shown only this once; "
                       f"kept in {path})")
    return token, f"admin token: kept in {path} (cat it)"


@click.command()
@_server_options
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the API, a worker and the sweep together, supervised."""
    settings = _prepare(host, port)
    try:
        lock = ServeLock.take(settings.data_dir)
    except AlreadyServing as ex:
        say(f"dlrhub: {ex}", json=settings.log_json, logger=SERVE)
        ctx.exit(1)
    try:
        code = _serve_locked(settings, lock)
    finally:
        lock.release()
    ctx.exit(code)


def _serve_locked(settings: Any, lock: ServeLock) -> int:
    run = secrets.token_hex(8)
    _clear_leftovers(settings, lock.previous)
    # Every process of this run inherits the run id (see cli.reaper); the watchdog,
    # started first, kills them all once serve is gone, however it went (SIGKILL of
    # serve, or of its whole process group).
    watchdog = Watchdog(run)
    os.environ[RUN_VARIABLE] = run
    lock.record(run, watchdog.groups)
    _reset_metrics()
    try:
        return _supervise(settings, lock, watchdog)
    finally:
        # Whatever the way out (an exception too), nothing of this run stays behind.
        for pgid in watchdog.groups:
            _signal_group(pgid, signal.SIGKILL)
        kill_run(run, watchdog.groups)
        watchdog.close()


def _clear_leftovers(settings: Any, previous: dict[str, Any] | None) -> None:
    """Kill what a serve that was killed left running (its watchdog was killed too)."""
    if not previous or not isinstance(previous.get("run"), str):
        return
    # By run id only: the groups it recorded may be someone else's by now.
    killed = kill_run(previous["run"])
    if killed:
        say(f"dlrhub: killed {killed} processes left by a serve (pid "
            f"{previous.get('serve')}) that did not stop cleanly", json=settings.log_json,
            logger=SERVE)


def _reset_metrics() -> None:
    # Counters of the processes of a run before (now gone) would add to this run's.
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)


def _supervise(settings: Any, lock: ServeLock, watchdog: Watchdog) -> int:
    address = _connect_address(settings.host, settings.port)
    if port_answers(*address):
        # Before anything is touched: another program's port is not ours to fight for.
        say(f"dlrhub: port {settings.port} on {settings.host} is in use by another "
            f"program; stop it, or start with --port (DLRHUB_PORT)",
            json=settings.log_json, logger=SERVE)
        return 1
    _migrate(settings)
    # A one-command start must give a usable admin API: the embedded default makes a
    # token once and keeps it in the data folder (the full stack sets its own).
    _token, token_line = _admin_token(settings)  # the token reaches the children by env
    serve_pid = os.getpid()

    def start(cmd: list[str], role: str, nice: int = 0) -> subprocess.Popen[bytes]:
        # Each child in a process group of its own: a child whose main process died
        # can be cleared away with its own children (an API server's workers, the
        # worker's pool and beat) before another one starts, and Ctrl-C reaches serve
        # alone, which then stops the children in order.
        die_with_serve = dying_with(serve_pid)

        def preexec() -> None:
            die_with_serve()
            _lower_priority(nice)

        env = dict(os.environ)
        _name_connections(role, env)
        # Our own interpreter and arguments; no user input reaches a shell.
        proc = subprocess.Popen(cmd, process_group=0, preexec_fn=preexec,  # noqa: S603
                                env=env)
        watchdog.started(proc.pid)
        lock.record(watchdog.run, watchdog.groups)
        return proc

    def start_worker() -> subprocess.Popen[bytes]:
        return start(_worker_cmd(settings, None, beat=True), "worker", settings.worker_nice)

    def forget(pgid: int) -> None:
        watchdog.ended(pgid)
        lock.record(watchdog.run, watchdog.groups)

    api = start(_api_cmd(settings), "api")
    worker = start_worker()
    # Said once the API has bound its port, not when it was started: a user who reads
    # it and opens the URL at once must find it answering.
    if not wait_until_bound(api, *address, timeout=_BIND_TIMEOUT):
        say(f"dlrhub: the api did not bind {settings.host}:{settings.port} "
            f"(exit {api.poll()}); stopping", json=settings.log_json, logger=SERVE)
        _stop(api, worker)
        return 1
    for line in (f"dlrhub serving on {settings.effective_public_url} "
                 f"(database {settings.effective_database_url.split('@')[-1]}, "
                 f"broker {settings.effective_broker_url.split('@')[-1]}); Ctrl-C stops",
                 f"console: {settings.effective_public_url}/console/ "
                 "(sign in with the admin token)",
                 token_line):
        say(line, json=settings.log_json, logger=SERVE)
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    restarts = WorkerRestarts()
    while not stopping:
        watchdog.keep_alive()
        if api.poll() is not None:
            say(f"dlrhub: the api exited with {api.returncode}; stopping",
                json=settings.log_json, logger=SERVE)
            stopping, code = True, api.returncode or 1
        elif worker.poll() is not None:
            # What a dead worker was doing is not lost: callbacks wait in the inbox and
            # deliveries in the database, and the sweeper sends their tasks again. So a
            # crashed worker is started again; one that keeps dying, or that was shut
            # down on purpose (exit 0), stops everything.
            died = worker.returncode
            # Its pool and beat, if they live on, go before another worker starts: there
            # is never a second beat.
            _signal_group(worker.pid, signal.SIGKILL)
            wait_group_gone(worker.pid)
            forget(worker.pid)
            if died != 0 and restarts.allow(time.monotonic()):
                say(f"dlrhub: the worker exited with {died}; starting it again",
                    json=settings.log_json, logger=SERVE)
                worker = start_worker()
            else:
                say(f"dlrhub: the worker exited with {died}; stopping",
                    json=settings.log_json, logger=SERVE)
                stopping, code = True, died
        time.sleep(0.2)
    _stop(api, worker)
    return code


def _stop(api: subprocess.Popen[bytes], worker: subprocess.Popen[bytes]) -> None:
    api.terminate()
    # The worker's main process stops its pool and beat itself (a warm shutdown);
    # signalled too, they die under it and it waits for them until it is killed.
    worker.terminate()
    deadline = time.monotonic() + 15
    for proc in (api, worker):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


# How long the API may take to bind its port: imports and the app's build, on a slow
# machine under load, take a few seconds.
_BIND_TIMEOUT = 60.0


def _connect_address(host: str, port: int) -> tuple[str, int]:
    """Return where to connect to reach a server listening on ``host:port``."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
    return wildcard.get(host, host), port


def port_answers(host: str, port: int) -> bool:
    """Return whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until_bound(proc: subprocess.Popen[bytes], host: str, port: int, *,
                     timeout: float) -> bool:
    """Wait until ``proc`` accepts connections on ``host:port``; False if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if port_answers(host, port):
            return True
        time.sleep(0.05)
    return False


def _signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to a process group, if any process of it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _name_connections(role: str, env: MutableMapping[str, str]) -> None:
    """Name a process's PostgreSQL connections after its role, unless the user did.

    libpq reads ``PGAPPNAME`` as ``application_name``: ``pg_stat_activity`` then tells
    the API's connections from the worker's, to watch or to tune them apart.
    """
    env.setdefault("PGAPPNAME", f"dlrhub-{role}")


def _exec(cmd: list[str]) -> int:
    os.execv(cmd[0], cmd)  # noqa: S606 - replaces this process with the server it names
    return 0  # pragma: no cover


@click.command()
@_server_options
def api(host: str | None, port: int | None) -> None:
    """Run the HTTP API (uvicorn)."""
    settings = _prepare(host, port)
    if settings.database_url is None:
        _migrate(settings)  # the embedded default migrates itself; full stacks use `db`
    _name_connections("api", os.environ)
    _exec(_api_cmd(settings))


def _lower_priority(nice: int) -> None:
    # With the API on the same cores, this keeps its p99 down under load (measured:
    # ~79 ms -> ~45 ms at 1,000 callbacks/s on 2 cores) while the worker still drains.
    if nice:
        os.nice(nice)


@click.command()
@click.option("--concurrency", type=click.IntRange(min=1),
              help="Worker processes (DLRHUB_WORKER_CONCURRENCY, 4).")
@click.option("--beat", is_flag=True, help="Also run the sweep schedule.")
def worker(concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker."""
    settings = _prepare()
    _lower_priority(settings.worker_nice)
    _name_connections("worker", os.environ)
    _exec(_worker_cmd(settings, concurrency, beat))


@click.command("beat")
def beat_command() -> None:
    """Run the Celery beat alone (the periodic sweep)."""
    settings = _prepare()
    _name_connections("beat", os.environ)
    _exec(_celery_cmd(settings, "beat", "--schedule",
                             str((settings.data_dir / "celerybeat-schedule").resolve())))


@click.group()
def db() -> None:
    """Apply or revert database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from dlrhub.config import get_settings
    from dlrhub.models.migrate import upgrade

    url = get_settings().effective_database_url
    with failures(url):
        upgrade(url, revision)


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from dlrhub.config import get_settings
    from dlrhub.models.migrate import downgrade

    url = get_settings().effective_database_url
    with failures(url):
        downgrade(url, revision)
