"""What parsing and authenticating one callback costs, for every adapter in the registry.

Each adapter renders the same planned status report (a mainland mobile, delivered) in
its provider's form, signed as ``dlrhub simulate`` signs it; the bench then times what
the callback path and the worker do with it: ``authenticate``, ``extract`` and
``normalize`` of every record. A new provider must cost no more than the
slowest of the seven it joined (wave 1); the last column says which do.

    .venv/bin/python bench/adapters_bench.py [--repeat 2000] [--rounds 7]

The figure is the median of ``--rounds`` rounds of ``--repeat`` callbacks each, in µs
per callback, on one core; other load on the machine moves it, so compare adapters of
one run, not runs. The phone is the same for all: an international number costs every
adapter the same more (``phonenumbers``, tens of µs), a mainland mobile skips it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dlrhub.providers.base import Account, CallbackRequest, PlannedReport
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.simulate import build_callback

WAVE_1 = ("tencent", "ucloud", "aliyun", "cloopen", "huawei", "netease", "nxcloud")
# Credentials for the providers that sign (or check a password): each is timed signed.
CREDENTIALS = {
    "netease": {"app_key": "bench-key", "app_secret": "bench-secret"},
    "nxcloud": {"access_key": "bench-ak", "access_secret": "bench-secret"},
    "huawei": {"access_key": "bench-ak", "secret_key": "bench-sk"},
    "chuanglan": {"account": "N1234567", "password": "bench-pswd"},
    "montnets": {"userid": "J10003", "password": "bench-password"},
    "baidu": {"token": "bench-token"},
    "submail": {"key": "bench-subhook-key"},
    "twilio": {"auth_token": "bench-token"},
    "plivo": {"auth_token": "bench-token"},
    # The simulator signs Telnyx with RFC 8032's test seed: its public key.
    "telnyx": {"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
    "vonage": {"signature_secret": "bench-secret", "signature_method": "sha256"},
    "vonage_messages": {"signature_secret": "bench-secret"},
    "bird": {"signing_key": "bench-key"},
}
URL = "http://127.0.0.1:8000/v1/callbacks/{provider}/bench-token"


def workload(provider: str, now: datetime) -> Callable[[], int]:
    """Return a function that takes one simulated callback through the adapter."""
    adapter = PROVIDERS[provider]
    url = URL.format(provider=provider)
    creds = CREDENTIALS.get(provider, {})
    report = PlannedReport(message_id="190103103836242561", phone="+8613800138000",
                           status="delivered", code=None, submitted_at=now, reported_at=now)
    sim = build_callback(provider, url, seq=1, batch=1, kind="status", credentials=creds,
                         reports=[report])
    parts = urlsplit(url)
    headers = {k.lower(): v for k, v in sim.headers.items()}
    headers |= {"host": parts.netloc, "content-type": sim.content_type}
    request = CallbackRequest(body=sim.body, headers=headers, content_type=sim.content_type,
                              method=sim.method, path=parts.path, query=sim.query,
                              url=url + (f"?{sim.query}" if sim.query else ""))
    account = Account(id="acc_bench", provider=provider, credentials=creds,
                      timezone=ZoneInfo(adapter.default_timezone),
                      default_region=adapter.default_region,
                      options={k: o.default for k, o in adapter.options.items()},
                      callback_url=url)

    def run() -> int:
        adapter.authenticate(request, account, now, 300)
        return len([adapter.normalize(r, account) for r in adapter.extract(request, account)])

    assert run() == sim.records, provider
    return run


def measure(run: Callable[[], int], repeat: int, rounds: int) -> float:
    """Return the median µs per call over ``rounds`` rounds of ``repeat`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            run()
        samples.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    now = datetime.now(UTC)
    costs = {p: measure(workload(p, now), args.repeat, args.rounds) for p in sorted(PROVIDERS)}
    ceiling_name = max(WAVE_1, key=lambda p: costs[p])
    ceiling = costs[ceiling_name]
    print(f"| provider | µs per callback | within the slowest wave-1 ({ceiling_name}) |")
    print("| --- | ---: | --- |")
    for provider, cost in sorted(costs.items(), key=lambda item: item[1]):
        verdict = "(wave 1)" if provider in WAVE_1 else ("yes" if cost <= ceiling else "NO")
        print(f"| `{provider}` | {cost:.1f} | {verdict} |")
    floor = measure(ed25519_verify(), args.repeat, args.rounds)
    print(f"\nEd25519 verification alone (Telnyx's signature; `cryptography`, that is "
          f"OpenSSL): {floor:.1f} µs, against {ceiling:.1f} µs for {ceiling_name}'s whole "
          "callback.")


def ed25519_verify() -> Callable[[], int]:
    """Return one Ed25519 verification of a Telnyx-sized signed string, as a workload."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    signed = b"1733200000|" + b'{"data":{"event_type":"message.finalized"}}' * 12
    signature, public = key.sign(signed), key.public_key()

    def run() -> int:
        public.verify(signature, signed)
        return 1

    return run


if __name__ == "__main__":
    main()
