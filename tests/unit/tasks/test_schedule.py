"""The beat's schedule: alert rules are evaluated at least every minute; the purge runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlrhub.config import Settings
from dlrhub.tasks.app import ALERTS, PURGE, create_celery


@pytest.mark.parametrize(("sweep", "alerts"), [(30.0, 30.0), (300.0, 60.0)])
def test_alert_rules_are_evaluated_every_minute_or_every_sweep_if_sooner(
        tmp_path: Path, sweep: float, alerts: float) -> None:
    app = create_celery(Settings(data_dir=tmp_path, broker_url=None, sweep_interval=sweep))

    entry = app.conf.beat_schedule["evaluate-alerts"]
    assert (entry["task"], entry["schedule"]) == (ALERTS, alerts)


def test_the_purge_runs_every_purge_interval(tmp_path: Path) -> None:
    app = create_celery(Settings(data_dir=tmp_path, broker_url=None, purge_interval=900.0))

    entry = app.conf.beat_schedule["purge-expired"]
    assert (entry["task"], entry["schedule"]) == (PURGE, 900.0)
