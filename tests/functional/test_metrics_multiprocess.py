"""/metrics in prometheus_client's multiprocess mode, as under several API processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

COUNT = ("from dlrhub.services import metrics; "
         "metrics.record_request('/v1/receipts', 'GET', 200, 0.01)")
RENDER = ("import sys; from dlrhub.models import make_engine; "
          "from dlrhub.services import metrics; "
          "sys.stdout.write(metrics.render(make_engine(sys.argv[1]), "
          "lambda: {'ingest': 3, 'relay': 0}).decode())")


def run(code: str, folder: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                          capture_output=True, text=True, timeout=60).stdout


def test_counters_add_up_across_processes_and_gauges_show_once(
        sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    run(COUNT, folder)  # two API processes, each counting a request
    run(COUNT, folder)
    page = run(RENDER, folder, sqlite_url)  # a third answers the scrape

    samples = [s for family in text_string_to_metric_families(page) for s in family.samples]
    (requests,) = [s for s in samples if s.name == "dlrhub_http_requests_total"]
    assert requests.value == 2
    # Read at scrape by the process that answers it: each sample once, never added up.
    def values(name: str) -> list[tuple[dict[str, str], float]]:
        return [(s.labels, s.value) for s in samples if s.name == name]

    assert values("dlrhub_deliveries_pending") == [({}, 0)]
    assert values("dlrhub_endpoints_disabled") == [({}, 0)]
    assert values("dlrhub_queue_depth") == [({"queue": "ingest"}, 3), ({"queue": "relay"}, 0)]
    assert not [p for p in folder.iterdir() if "gauge" in p.name]
