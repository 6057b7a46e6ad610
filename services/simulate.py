"""Post realistic, correctly signed provider callbacks to a callback URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from dlrhub.models import utcnow
from dlrhub.providers.base import Account, SimulatedCallback
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import validate_credentials
from dlrhub.services.errors import InvalidInput


@dataclass
class SimulationReport:
    """What a simulation sent and how the hub answered."""

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
                   credentials: Mapping[str, str],
                   timezone: str | None = None) -> SimulatedCallback:
    """Build one simulated callback for ``url``, signed with ``credentials``."""
    adapter = PROVIDERS[provider]
    account = Account(id="acc_sim", provider=provider, credentials=dict(credentials),
                      timezone=ZoneInfo(timezone or adapter.default_timezone),
                      default_region=adapter.default_region)
    extra: dict[str, str] = {}
    if provider == "huawei":
        parts = urlsplit(url)
        # Huawei signs the Host header and the path the request is sent to.
        extra = {"host": parts.netloc, "path": parts.path or "/"}
    return adapter.simulate(account, count=batch, seq=seq, now=utcnow(),
                            kind=kind, **extra)


def answer_reason(body: bytes, limit: int = 200) -> str:
    """Return the hub's answer as one short line of text: why a callback was refused."""
    # The answer is in the provider's own form (JSON, XML or a word), so it is shown as
    # sent, only squeezed onto one line and cut, rather than picked apart per provider.
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
    adapter = PROVIDERS.get(provider)
    if adapter is None:
        raise InvalidInput("provider", f"must be one of {', '.join(sorted(PROVIDERS))}")
    if kind not in ("status", "inbound"):
        raise InvalidInput("kind", "must be status or inbound")
    creds = validate_credentials(adapter, credentials or {})
    report = SimulationReport()
    lock = threading.Lock()
    seed = int(time.time() * 1000) % 10**9
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=timeout, limits=limits) as client:

        def one(i: int) -> None:
            callback = build_callback(provider, url, seq=seed + i, batch=batch, kind=kind,
                                      credentials=creds)
            headers = {"Content-Type": callback.content_type, **callback.headers}
            t0 = time.perf_counter()
            try:
                resp = client.post(url, content=callback.body, headers=headers)
                status = resp.status_code
                # Only a refusal's answer is read: an accepted one says nothing new.
                reason = "" if 200 <= status < 300 else answer_reason(resp.content)
            except httpx.HTTPError as ex:
                status, reason = 0, f"{type(ex).__name__}: {ex}"
            elapsed = time.perf_counter() - t0
            with lock:
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
                report.seconds = time.perf_counter() - started
                if progress is not None:
                    progress(report)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(one, range(count)))
    report.seconds = time.perf_counter() - started
    return report
