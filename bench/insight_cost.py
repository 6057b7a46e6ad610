"""What classifying and locating costs ingest, per receipt, on a realistic mix.

Builds receipt rows as ingest does (mainland numbers of the three carriers, a few
international and masked ones; 80 % delivered, the failures spread over carrier,
provider and unknown codes) and times ``services.insight.enrich.enrich`` over them,
first with cold caches (every number new to the process) and then warm.

    .venv/bin/python bench/insight_cost.py [--receipts 200000]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from dlrhub.services.insight import numbers, reasons
from dlrhub.services.insight.enrich import enrich

PREFIXES = ("138", "139", "150", "186", "130", "189", "133", "177", "199", "166")
CODES = ("MK:0005", "DB:0141", "UNDELIV", "MI:0001", "IB:0008", "MB:1042", "E200027",
         "MSBLACK", "R:00001", "NOT-IN-DICTIONARY")
PROVIDERS = ("tencent", "aliyun", "ucloud", "huawei")


def rows(count: int, seed: int) -> list[dict[str, Any]]:
    """Return ``count`` receipt rows with the columns ``enrich`` reads."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        pick = rnd.random()
        if pick < 0.9:
            phone = f"+86{rnd.choice(PREFIXES)}{rnd.randrange(10**8):08d}"
        elif pick < 0.97:
            phone = f"+{rnd.choice(('1415', '44740', '91981'))}{rnd.randrange(10**6):06d}"
        else:
            phone = f"138****{i % 10000:04d}"
        failed = rnd.random() < 0.2
        code = rnd.choice(CODES) if failed else "DELIVRD"
        out.append({"type": "sms.status", "provider": rnd.choice(PROVIDERS),
                    "account_id": f"acc_{i % 5}", "phone": phone,
                    "status": "failed" if failed else "delivered",
                    "error_code": code if failed else None, "provider_status": code,
                    "synthetic": False, "reason_class": None, "retryable": None,
                    "country": None, "carrier": None})
    return out


def main() -> None:
    """Print µs per receipt, cold and warm."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=200_000)
    args = parser.parse_args()
    reasons.dictionary()  # read once per process, before ingest's first batch
    overrides = {"acc_1": {"MK:0005": "blacklisted"}}
    for label, seed in (("cold", 1), ("warm", 1), ("new numbers", 2)):
        batch = rows(args.receipts, seed)
        if label == "cold":
            numbers._prefixes.clear()
        started = time.perf_counter()
        for start in range(0, len(batch), 1000):
            enrich(batch[start:start + 1000], overrides)
        spent = time.perf_counter() - started
        print(f"{label:>12}: {spent / len(batch) * 1e6:6.2f} µs per receipt "
              f"({len(batch)} receipts)")


if __name__ == "__main__":
    main()
