"""The HTTP servers ``bench/ingest --server`` can run the API and the baseline under.

``uvicorn`` is dlrhub's own (``dlrhub api``: uvicorn's event loop reads each request
whole, then the WSGI app runs in a thread, ``api/bridge.py``). The others serve the same
Falcon WSGI apps (``dlrhub.api.wsgi:app``, ``baseline_app:create_app()``) with the
same process and thread counts, so that a run measures the server, not the app:

- ``granian``: Rust (hyper) reads and writes HTTP; the WSGI app runs in its blocking
  threads.
- ``granian-asgi``: granian reads and writes HTTP, in front of dlrhub's own ASGI
  bridge (``dlrhub.api.asgi:app``): the bridge reads each body whole, within its
  timeout, before a thread runs the app, as under uvicorn.
- ``gunicorn``: gthread workers, the server dlrhub ran before it moved to uvicorn
  (a thread per connection until its request is read: slow clients hold threads).

These are for measuring only: ``dlrhub api`` itself always runs uvicorn, and granian
and gunicorn are not dlrhub's dependencies (``.venv/bin/pip install granian gunicorn``).
"""

from __future__ import annotations

from pathlib import Path

SERVERS = ("uvicorn", "granian", "granian-asgi", "gunicorn")
APPS = {  # server: (product app, baseline app), each module:attr
    "granian": ("dlrhub.api.wsgi:app", "baseline_app:create_app()"),
    "granian-asgi": ("dlrhub.api.asgi:app", "baseline_asgi:app"),
    "gunicorn": ("dlrhub.api.wsgi:app", "baseline_app:create_app()"),
}


def server_cmd(server: str, bindir: Path, *, baseline: bool, host: str, port: int,
               workers: int, threads: int) -> list[str]:
    """Return the command serving the product's API (or the baseline) under ``server``.

    The baseline's module is in bench/, the server's working directory for it.
    """
    binary = bindir / ("gunicorn" if server == "gunicorn" else "granian")
    if not binary.exists():
        raise SystemExit(f"bench: --server {server} needs {binary.name} in {bindir}: "
                         f"{bindir}/pip install {binary.name}")
    app = APPS[server][baseline]
    chdir = Path(__file__).resolve().parent if baseline else None
    if server in ("granian", "granian-asgi"):
        interface = "asgi" if server == "granian-asgi" else "wsgi"
        cmd = [str(binary), "--interface", interface, "--host", host,
               "--port", str(port), "--workers", str(workers), "--no-ws", "--http", "1",
               "--log-level", "warning", "--no-access-log"]
        # Under ASGI the bridge runs the app in its own pool (DLRHUB_API_THREADS).
        if interface == "wsgi":
            cmd += ["--blocking-threads", str(threads)]
        if chdir is not None:
            cmd += ["--working-dir", str(chdir)]
        if app.endswith("()"):
            cmd += ["--factory"]
        return [*cmd, app.removesuffix("()")]
    if server == "gunicorn":
        cmd = [str(binary), "--workers", str(workers), "--worker-class",
               "gthread", "--threads", str(threads), "--bind", f"{host}:{port}",
               "--log-level", "warning"]
        if chdir is not None:
            cmd += ["--chdir", str(chdir)]
        return [*cmd, app]
    raise ValueError(f"no command for server {server!r}")
