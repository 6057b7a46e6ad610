"""Post realistic, correctly signed provider callbacks to a callback URL.

Either made-up records for load (``simulate``), or a scenario's planned reports
(``simulate_plan``, services/simulation).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from dlrhub.models import utcnow
from dlrhub.providers.base import Account, PlannedReport, Provider, SimulatedCallback
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import validate_credentials
from dlrhub.services.errors import InvalidInput
from dlrhub.services.simulation.plan import Plan


@dataclass
class SimulationReport:
    """What a simulation sent and how the hub answered."""

    # Callbacks to send in all.
    total: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    records: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    # Why callbacks were refused or failed: (HTTP status, the answer's reason) -> how
    # many; status 0 is a request that got no answer, its reason the client's error.
    rejections: dict[tuple[int, str], int] = field(default_factory=dict)

    @property
    def receipts_per_second(self) -> float:
        """Return accepted records per second of wall time."""
        return self.records / self.seconds if self.seconds else 0.0


def build_callback(provider: str, url: str, *, seq: int, batch: int, kind: str,
                   credentials: Mapping[str, str], timezone: str | None = None,
                   reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
    """Build one simulated callback for ``url``, signed with ``credentials``.

    With ``reports`` it carries those planned status reports instead of ``batch`` made up.
    """
    adapter = PROVIDERS[provider]
    account = Account(id="acc_sim", provider=provider, credentials=dict(credentials),
                      timezone=ZoneInfo(timezone or adapter.default_timezone),
                      default_region=adapter.default_region, callback_url=url)
    extra: dict[str, Any] = {}
    if provider == "huawei":
        parts = urlsplit(url)
        # Huawei signs the Host header and the path the request is sent to.
        extra = {"host": parts.netloc, "path": parts.path or "/"}
    return adapter.simulate(account, count=batch, seq=seq, now=utcnow(),
                            kind=kind, reports=reports, **extra)


def answer_reason(body: bytes, limit: int = 200) -> str:
    """Return the hub's answer as one short line of text: why a callback was refused."""
    # The answer is in the provider's own form (JSON, XML or a word), so it is shown as
    # sent, only squeezed onto one line and cut, rather than picked apart per provider.
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _checked(provider: str, credentials: Mapping[str, str] | None
             ) -> tuple[Provider, dict[str, str]]:
    adapter = PROVIDERS.get(provider)
    if adapter is None:
        raise InvalidInput("provider", f"must be one of {', '.join(sorted(PROVIDERS))}")
    return adapter, validate_credentials(adapter, credentials or {})


def simulate(
    provider: str,
    url: str,
    *,
    count: int = 1,
    batch: int = 1,
    kind: str = "status",
    credentials: Mapping[str, str] | None = None,
    concurrency: int = 4,
    timeout: float = 10.0,
    progress: Callable[[SimulationReport], None] | None = None,
) -> SimulationReport:
    """Post ``count`` callbacks of ``batch`` records each and report the answers."""
    _adapter, creds = _checked(provider, credentials)
    if kind not in ("status", "inbound"):
        raise InvalidInput("kind", "must be status or inbound")
    seed = int(time.time() * 1000) % 10**9
    builds = [partial(build_callback, provider, url, seq=seed + i, batch=batch, kind=kind,
                      credentials=creds) for i in range(count)]
    report = SimulationReport(total=count)
    with _Poster(url, report, concurrency, timeout, progress) as poster:
        poster.post(builds)
    return report


def simulate_plan(
    plan: Plan,
    url: str,
    *,
    batch: int = 100,
    credentials: Mapping[str, str] | None = None,
    concurrency: int = 4,
    timeout: float = 10.0,
    hold_late: float = 0,
    progress: Callable[[SimulationReport], None] | None = None,
    wait: Callable[[float], None] = time.sleep,
) -> SimulationReport:
    """Post a plan's reports: the finals, then the disagreeing ones, then the late ones.

    Each phase starts when the previous one is answered, so that a second final reaches
    the hub after the first; the late receipts wait ``hold_late`` seconds more (long
    enough, in a demo, for their expectations to be reported missing first).
    """
    adapter, creds = _checked(plan.provider, credentials)
    size = min(batch, adapter.batch_limit or batch)
    phases = [_chunks(plan.phase(name), size) for name in ("first", "after", "late")]
    report = SimulationReport(total=sum(len(chunks) for chunks in phases))
    with _Poster(url, report, concurrency, timeout, progress) as poster:
        for name, chunks in zip(("first", "after", "late"), phases, strict=True):
            if name == "late" and chunks and hold_late > 0:
                wait(hold_late)
            poster.post([partial(build_callback, plan.provider, url, seq=0, batch=len(c),
                                 kind="status", credentials=creds, reports=c)
                         for c in chunks])
    return report


def _chunks(reports: list[PlannedReport], size: int) -> list[list[PlannedReport]]:
    return [reports[at:at + size] for at in range(0, len(reports), size)]


class _Poster:
    """Posts callbacks on a pool of connections and records how each was answered."""

    def __init__(self, url: str, report: SimulationReport, concurrency: int,
                 timeout: float, progress: Callable[[SimulationReport], None] | None
                 ) -> None:
        self._url = url
        self._report = report
        self._concurrency = concurrency
        self._progress = progress
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        limits = httpx.Limits(max_connections=concurrency,
                              max_keepalive_connections=concurrency)
        self._client = httpx.Client(timeout=timeout, limits=limits)

    def __enter__(self) -> _Poster:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()
        self._report.seconds = time.perf_counter() - self._started

    def post(self, builds: Sequence[Callable[[], SimulatedCallback]]) -> None:
        """Build and post each callback, ``concurrency`` at a time; return when all are."""
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            list(pool.map(self._one, builds))

    def _one(self, build: Callable[[], SimulatedCallback]) -> None:
        callback = build()
        headers = {**({"Content-Type": callback.content_type} if callback.content_type
                      else {}), **callback.headers}
        url = f"{self._url}?{callback.query}" if callback.query else self._url
        t0 = time.perf_counter()
        try:
            resp = self._client.request(callback.method, url, content=callback.body,
                                        headers=headers)
            status = resp.status_code
            # Only a refusal's answer is read: an accepted one says nothing new.
            reason = "" if 200 <= status < 300 else answer_reason(resp.content)
        except httpx.HTTPError as ex:
            status, reason = 0, f"{type(ex).__name__}: {ex}"
        elapsed = time.perf_counter() - t0
        report = self._report
        with self._lock:
            report.sent += 1
            report.latencies.append(elapsed)
            report.statuses[status] = report.statuses.get(status, 0) + 1
            if status == 0:
                report.errors += 1
            elif 200 <= status < 300:
                report.accepted += 1
                report.records += callback.records
            else:
                report.rejected += 1
            if not 200 <= status < 300:
                key = (status, reason)
                report.rejections[key] = report.rejections.get(key, 0) + 1
            report.seconds = time.perf_counter() - self._started
            if self._progress is not None:
                self._progress(report)
