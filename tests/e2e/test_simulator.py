"""The simulator against the real API and worker: what it plans is what the API reports."""

from __future__ import annotations

import os
import subprocess
from collections import Counter

import httpx
import pytest

from tests.processes import DLRHUB, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def test_a_scenario_with_expectations_shows_its_classes_and_missing_receipts(
        api: tuple[httpx.Client, dict[str, str], str]) -> None:
    client, me, callback = api
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env["DLRHUB_API_KEY"] = me["Authorization"].removeprefix("Bearer ")
    done = subprocess.run(
        [DLRHUB, "simulate", "tencent", "--url", callback, "--messages", "100", "--seed",
         "5", "--failure-mix", "invalid_number=10,blacklisted=5,rate_limited=5",
         "--never-share", "4", "--late-share", "0", "--out-of-order-share", "0",
         "--parts-share", "0", "--expect", "--deadline-seconds", "10",
         "--templates", "otp,promo", "--batch", "25", "--quiet"],
        env=env, capture_output=True, timeout=120, check=False)

    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    assert "expectations registered 100 (already registered 0, refused 0)" in out
    summary = dict(part.rsplit(" ", 1) for part in
                   out.split("failures by reason class: ")[1].splitlines()[0].split(", "))

    def statuses() -> list[dict[str, object]]:
        page = client.get("/v1/receipts", headers=me,
                          params={"type": "sms.status", "limit": 500}).json()
        return list(page["data"])

    wait_for(lambda: len(statuses()) == 96, 30, "the 96 receipts sent")
    classes = Counter(str(r["reason_class"]) for r in statuses() if r["reason_class"])
    assert classes == {name: int(n) for name, n in summary.items()}
    blacklisted = client.get("/v1/receipts", headers=me,
                             params={"reason_class": "blacklisted"}).json()["data"]
    assert {r["carrier"] for r in blacklisted} <= {"china_mobile", "china_unicom",
                                                   "china_telecom"}

    def missing() -> list[dict[str, object]]:
        page = client.get("/v1/expectations", headers=me,
                          params={"state": "missing", "limit": 500}).json()
        return list(page["data"])

    # Sent at most 5 s before they were registered with a 10 s deadline, the receipts
    # posted at once meet theirs; the sweep (every second) reports the four never sent.
    wait_for(lambda: len(missing()) == 4, 40, "the four missing receipts")
    assert {e["template"] for e in missing()} <= {"otp", "promo"}
    met = client.get("/v1/expectations", headers=me,
                     params={"state": "met", "limit": 500}).json()["data"]
    assert len(met) == 96
    events = client.get("/v1/receipts", headers=me,
                        params={"type": "sms.receipt_missing"}).json()["data"]
    assert {e["message_id"] for e in events} == {e["message_id"] for e in missing()}
