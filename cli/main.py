"""The ``dlrhub`` command: serve, run the parts, migrate, manage tenants, simulate."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from dlrhub import __version__
from dlrhub.cli.reaper import RUN_VARIABLE, Watchdog, dying_with, kill_run, wait_group_gone
from dlrhub.cli.runlock import AlreadyServing, ServeLock
from dlrhub.cli.supervise import WorkerRestarts


def main(argv: list[str] | None = None) -> int:
    """Run the ``dlrhub`` command line."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    result: int = args.run(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlrhub", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dlrhub {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")

    def server_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="address to listen on (DLRHUB_HOST, 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to listen on (DLRHUB_PORT, 8000)")

    p = sub.add_parser("serve", help="run API, worker and sweeper together (embedded default)")
    server_args(p)
    p.set_defaults(run=_serve)
    p = sub.add_parser("api", help="run the HTTP API (uvicorn)")
    server_args(p)
    p.set_defaults(run=_api)
    p = sub.add_parser("worker", help="run a Celery worker")
    p.add_argument("--concurrency", type=int)
    p.add_argument("--beat", action="store_true", help="also run the sweep schedule")
    p.set_defaults(run=_worker)
    p = sub.add_parser("beat", help="run the Celery beat (periodic sweep)")
    p.set_defaults(run=_beat)

    db = sub.add_parser("db", help="database migrations").add_subparsers(metavar="ACTION")
    p = db.add_parser("upgrade", help="apply migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(run=_db_upgrade)
    p = db.add_parser("downgrade", help="revert migrations")
    p.add_argument("revision")
    p.set_defaults(run=_db_downgrade)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(metavar="ACTION")
    p = tenant.add_parser("create", help="create a tenant")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the tenant as JSON")
    p.set_defaults(run=_tenant_create)

    key = sub.add_parser("key", help="manage tenant API keys").add_subparsers(metavar="ACTION")
    p = key.add_parser("create", help="issue an API key for a tenant (shown once)")
    p.add_argument("tenant", help="tenant id")
    p.add_argument("--name", default="")
    p.add_argument("--json", action="store_true", help="print the key as JSON")
    p.set_defaults(run=_key_create)

    account = sub.add_parser("account", help="manage provider accounts")
    actions = account.add_subparsers(metavar="ACTION")
    p = actions.add_parser("create", help="create a provider account")
    p.add_argument("--tenant", required=True, help="tenant id")
    p.add_argument("--provider", required=True)
    p.add_argument("--name")
    p.add_argument("--credentials", help="JSON object, e.g. '{\"app_key\": …}'")
    p.add_argument("--timezone")
    p.add_argument("--region", help="default region for phone numbers, e.g. CN")
    p.add_argument("--ip-allowlist", help="comma-separated addresses or networks")
    p.add_argument("--options", help="JSON object of provider options")
    p.add_argument("--json", action="store_true", help="print the account as JSON")
    p.set_defaults(run=_account_create)

    receipt = sub.add_parser("receipt", help="read stored receipts")
    actions = receipt.add_subparsers(metavar="ACTION")
    p = actions.add_parser("list", help="list a tenant's receipts as events, newest first")
    p.add_argument("--tenant", required=True, help="tenant id")
    p.add_argument("--message-id")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--after", help="the cursor printed as `next` by the previous page")
    p.set_defaults(run=_receipt_list)

    p = sub.add_parser("simulate", help="post realistic provider callbacks to a URL")
    p.add_argument("provider")
    p.add_argument("--url", required=True, help="the account's callback_url")
    p.add_argument("--count", type=int, default=1, help="callbacks to send")
    p.add_argument("--batch", type=int, default=1, help="records per callback")
    p.add_argument("--kind", choices=["status", "inbound"], default="status")
    p.add_argument("--credentials", help="JSON object to sign with (NetEase, NXCloud, Huawei)")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_simulate)
    return parser


# --- processes -------------------------------------------------------------------------

def _prepare(args: argparse.Namespace) -> Any:
    """Apply --host/--port, make the data folder, point the metrics at it."""
    if getattr(args, "host", None):
        os.environ["DLRHUB_HOST"] = args.host
    if getattr(args, "port", None):
        os.environ["DLRHUB_PORT"] = str(args.port)
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
    return [sys.executable, "-m", "celery", "-A", "dlrhub.tasks.worker", *parts,
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


def _admin_token(settings: Any) -> str:
    """Return the admin token, making one in the data folder on the first start."""
    if settings.admin_token:
        return str(settings.admin_token)
    path = settings.data_dir / "admin-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    token: str = path.read_text().strip()
    os.environ["DLRHUB_ADMIN_TOKEN"] = token
    return token


def _serve(args: argparse.Namespace) -> int:
    settings = _prepare(args)
    try:
        lock = ServeLock.take(settings.data_dir)
    except AlreadyServing as ex:
        print(f"dlrhub: {ex}", file=sys.stderr)
        return 1
    try:
        return _serve_locked(settings, lock)
    finally:
        lock.release()


def _serve_locked(settings: Any, lock: ServeLock) -> int:
    run = secrets.token_hex(8)
    _clear_leftovers(lock.previous)
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


def _clear_leftovers(previous: dict[str, Any] | None) -> None:
    """Kill what a serve that was killed left running (its watchdog was killed too)."""
    if not previous or not isinstance(previous.get("run"), str):
        return
    # By run id only: the groups it recorded may be someone else's by now.
    killed = kill_run(previous["run"])
    if killed:
        print(f"dlrhub: killed {killed} processes left by a serve (pid "
              f"{previous.get('serve')}) that did not stop cleanly",
              file=sys.stderr, flush=True)


def _reset_metrics() -> None:
    # Counters of the processes of a run before (now gone) would add to this run's.
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)


def _supervise(settings: Any, lock: ServeLock, watchdog: Watchdog) -> int:
    _migrate(settings)
    # A one-command start must give a usable admin API: the embedded default makes a
    # token once and keeps it in the data folder (the full stack sets its own).
    token = _admin_token(settings)
    serve_pid = os.getpid()

    def start(cmd: list[str], nice: int = 0) -> subprocess.Popen[bytes]:
        # Each child in a process group of its own: a child whose main process died
        # can be cleared away with its own children (an API server's workers, the
        # worker's pool and beat) before another one starts, and Ctrl-C reaches serve
        # alone, which then stops the children in order.
        die_with_serve = dying_with(serve_pid)

        def preexec() -> None:
            die_with_serve()
            _lower_priority(nice)

        # Our own interpreter and arguments; no user input reaches a shell.
        proc = subprocess.Popen(cmd, process_group=0, preexec_fn=preexec)  # noqa: S603
        watchdog.started(proc.pid)
        lock.record(watchdog.run, watchdog.groups)
        return proc

    def start_worker() -> subprocess.Popen[bytes]:
        return start(_worker_cmd(settings, None, beat=True), settings.worker_nice)

    def forget(pgid: int) -> None:
        watchdog.ended(pgid)
        lock.record(watchdog.run, watchdog.groups)

    api = start(_api_cmd(settings))
    worker = start_worker()
    print(f"dlrhub serving on {settings.effective_public_url} "
          f"(database {settings.effective_database_url.split('@')[-1]}, "
          f"broker {settings.effective_broker_url.split('@')[-1]}); Ctrl-C stops\n"
          f"admin token: {token}"
          + ("" if settings.admin_token else
             f" (kept in {settings.data_dir / 'admin-token'})"),
          file=sys.stderr, flush=True)
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
            print(f"dlrhub: the api exited with {api.returncode}; stopping", file=sys.stderr)
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
                print(f"dlrhub: the worker exited with {died}; starting it again",
                      file=sys.stderr, flush=True)
                worker = start_worker()
            else:
                print(f"dlrhub: the worker exited with {died}; stopping", file=sys.stderr)
                stopping, code = True, died
        time.sleep(0.2)
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
    return code


def _signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to a process group, if any process of it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _exec(cmd: list[str]) -> int:
    os.execv(cmd[0], cmd)  # noqa: S606 - replaces this process with the server it names
    return 0  # pragma: no cover


def _api(args: argparse.Namespace) -> int:
    settings = _prepare(args)
    if settings.database_url is None:
        _migrate(settings)  # the embedded default migrates itself; full stacks use `db`
    return _exec(_api_cmd(settings))


def _lower_priority(nice: int) -> None:
    # With the API on the same cores, this keeps its p99 down under load (measured:
    # ~79 ms -> ~45 ms at 1,000 callbacks/s on 2 cores) while the worker still drains.
    if nice:
        os.nice(nice)


def _worker(args: argparse.Namespace) -> int:
    settings = _prepare(args)
    _lower_priority(settings.worker_nice)
    return _exec(_worker_cmd(settings, args.concurrency, args.beat))


def _beat(args: argparse.Namespace) -> int:
    settings = _prepare(args)
    return _exec(_celery_cmd(settings, "beat", "--schedule",
                             str((settings.data_dir / "celerybeat-schedule").resolve())))


def _db_upgrade(args: argparse.Namespace) -> int:
    from dlrhub.config import get_settings
    from dlrhub.models.migrate import upgrade

    upgrade(get_settings().effective_database_url, args.revision)
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from dlrhub.config import get_settings
    from dlrhub.models.migrate import downgrade

    downgrade(get_settings().effective_database_url, args.revision)
    return 0


# --- records ---------------------------------------------------------------------------

def _runtime() -> Any:
    from dlrhub.config import get_settings
    from dlrhub.services.runtime import Runtime

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.database_url is None:
        _migrate(settings)
    return Runtime.build(settings)


def _fail(message: str) -> int:
    print(f"dlrhub: {message}", file=sys.stderr)
    return 2


def _print(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    else:
        for key, value in doc.items():
            print(f"{key}: {value}")


def _json_arg(value: str | None, name: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as ex:
        raise ValueError(f"--{name} is not valid JSON: {ex}") from ex
    if not isinstance(doc, dict):
        raise ValueError(f"--{name} must be a JSON object")
    return doc


def _tenant_create(args: argparse.Namespace) -> int:
    from dlrhub.services.errors import ServiceError
    from dlrhub.services.tenancy import create_tenant

    rt = _runtime()
    try:
        with rt.sessions() as session:
            tenant = create_tenant(session, name=args.name)
            session.commit()
    except ServiceError as ex:
        return _fail(ex.detail)
    _print({"id": tenant.id, "name": tenant.name, "status": tenant.status,
            "created_at": tenant.created_at.isoformat()}, args.json)
    return 0


def _key_create(args: argparse.Namespace) -> int:
    from dlrhub.services.errors import ServiceError
    from dlrhub.services.keys import create_key

    rt = _runtime()
    try:
        with rt.sessions() as session:
            new = create_key(session, tenant_id=args.tenant, name=args.name)
            session.commit()
    except ServiceError as ex:
        return _fail(ex.detail)
    _print({"id": new.record.id, "tenant_id": new.record.tenant_id, "name": new.record.name,
            "key": new.key, "created_at": new.record.created_at.isoformat()}, args.json)
    return 0


def _account_create(args: argparse.Namespace) -> int:
    from dlrhub.services.accounts import callback_url, create_account
    from dlrhub.services.errors import ServiceError

    try:
        credentials = _json_arg(args.credentials, "credentials")
        options = _json_arg(args.options, "options")
    except ValueError as ex:
        return _fail(str(ex))
    rt = _runtime()
    allowlist = [s for s in (args.ip_allowlist or "").split(",") if s.strip()]
    try:
        with rt.sessions() as session:
            new = create_account(session, rt.box, tenant_id=args.tenant, provider=args.provider,
                                 name=args.name or args.provider, credentials=credentials,
                                 timezone=args.timezone, default_region=args.region,
                                 ip_allowlist=allowlist, options=options)
            session.commit()
    except ServiceError as ex:
        return _fail(ex.detail)
    acc = new.account
    _print({"id": acc.id, "tenant_id": acc.tenant_id, "provider": acc.provider,
            "name": acc.name, "callback_url": callback_url(
                rt.settings.effective_public_url, acc, rt.box),
            "timezone": acc.timezone, "default_region": acc.default_region,
            "ip_allowlist": acc.ip_allowlist, "options": acc.options,
            "credentials": sorted(credentials), "created_at": acc.created_at.isoformat()},
           args.json)
    return 0


def _receipt_list(args: argparse.Namespace) -> int:
    from dlrhub.services.errors import ServiceError
    from dlrhub.services.receipts import list_receipts

    rt = _runtime()
    try:
        with rt.sessions() as session:
            page = list_receipts(session, tenant_id=args.tenant, limit=args.limit,
                                 after=args.after, message_id=args.message_id)
    except ServiceError as ex:
        return _fail(ex.detail)
    print(orjson.dumps({"data": page.data, "next": page.next},
                       option=orjson.OPT_INDENT_2).decode())
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from dlrhub.services.errors import ServiceError
    from dlrhub.services.simulate import SimulationReport, simulate

    try:
        credentials = _json_arg(args.credentials, "credentials")
    except ValueError as ex:
        return _fail(str(ex))
    total = args.count

    def progress(report: SimulationReport) -> None:
        if args.quiet or (not sys.stderr.isatty() and report.sent != total):
            return
        width = 30
        done = int(width * report.sent / max(total, 1))
        print(f"\r[{'#' * done}{'.' * (width - done)}] {report.sent}/{total}",
              end="" if report.sent != total else "\n", file=sys.stderr, flush=True)

    try:
        report = simulate(args.provider, args.url, count=args.count, batch=args.batch,
                          kind=args.kind, credentials=credentials,
                          concurrency=args.concurrency, progress=progress)
    except ServiceError as ex:
        return _fail(ex.detail)
    latencies = sorted(report.latencies) or [0.0]
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"sent {report.sent}, accepted {report.accepted}, rejected {report.rejected}, "
          f"errors {report.errors}; {report.records} records in {report.seconds:.2f}s = "
          f"{report.receipts_per_second:.0f} receipts/s; p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
          f"statuses {dict(sorted(report.statuses.items()))}")
    return 0 if report.accepted == report.sent else 1


if __name__ == "__main__":
    sys.exit(main())
