"""Run the API: uvicorn's event loop reads requests, a thread pool runs the WSGI app.

``python -m dlrhub.api.server`` serves ``dlrhub.api.asgi:app`` on ``DLRHUB_HOST:DLRHUB_PORT`` with
``DLRHUB_API_WORKERS`` processes; ``dlrhub api`` and ``dlrhub serve`` start it.
gunicorn's gthread workers spent a thread per client still sending, so a few dozen
slow clients stopped the API. granian's WSGI interface costs less CPU per request but
calls the app before the body is in, so stalled bodies hold its threads (40 of them
stopped it: ``bench/slow_clients.py --server granian``); granian in front of dlrhub's
bridge held the drill but cost the same as uvicorn and answers slow headers without
dlrhub's 408 (README, "The HTTP server": the measurements).
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from dlrhub.api.http_protocol import GuardedHttpToolsProtocol
from dlrhub.config import Settings, configure_logging, get_settings
from dlrhub.core.lifetime import dying_with

# Set by a supervisor of several workers (``main``) for them to find it.
SUPERVISOR_VARIABLE = "DLRHUB_API_SUPERVISOR"


def die_with_supervisor() -> None:
    """Make this worker process die with the supervisor that spawned it, if one did.

    uvicorn's workers do not notice their supervisor's death: killed (``kill -9``, or
    with ``dlrhub serve``), it would leave them serving on the port. Linux's
    ``PR_SET_PDEATHSIG`` kills each worker with it; elsewhere this does nothing.
    """
    supervisor = os.environ.get(SUPERVISOR_VARIABLE)
    if supervisor and supervisor.isdigit():
        dying_with(int(supervisor))()


def config_of(settings: Settings, app: str = "dlrhub.api.asgi:app") -> uvicorn.Config:
    """Return the uvicorn configuration of ``settings``, serving the ASGI ``app``."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=settings.api_workers,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,
        # The bridge answers HTTP only; websockets would bypass its body limits.
        ws="none",
        lifespan="on",
        # Logging is dlrhub's own (configure_logging); uvicorn's loggers propagate to it.
        log_config=None,
        log_level=settings.log_level.lower(),
        # An access line per request costs ~10% of the API's CPU; DEBUG turns it on.
        access_log=settings.log_level.upper() == "DEBUG",
        timeout_keep_alive=settings.keep_alive_timeout,
        # Requests in flight get this long to finish after SIGTERM.
        timeout_graceful_shutdown=10,
        server_header=False,
        # The client address is the socket's unless a proxy in front is named
        # (DLRHUB_FORWARDED_ALLOW_IPS): then the one its X-Forwarded-For gives.
        proxy_headers=bool(settings.forwarded_allow_ips.strip()),
        forwarded_allow_ips=settings.forwarded_allow_ips.strip() or None,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the API until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m dlrhub.api.server", description=__doc__)
    # The ingest benchmark serves its baseline app on exactly this server.
    parser.add_argument("--app", default="dlrhub.api.asgi:app", help="the ASGI app, module:name")
    parser.add_argument("--app-dir", help="a folder to import the app's module from")
    args = parser.parse_args(argv)
    if args.app_dir:
        sys.path.insert(0, args.app_dir)
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    config = config_of(settings, args.app)
    if config.workers > 1:
        from uvicorn.supervisors import Multiprocess

        # The workers are spawned: they find the supervisor here and die with it.
        os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's own code for a failed start


if __name__ == "__main__":
    main()
