"""dlrhub simulate with a scenario: options checked first, a summary of what was planned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import orjson
import pytest
from click.testing import CliRunner

from dlrhub.cli.main import cli

URL = "http://127.0.0.1:1/v1/callbacks/tencent/tok"


@pytest.mark.parametrize(("args", "error"), [
    (["--failure-mix", "invalid_number=5,bogus=2"],
     "'bogus' is not a reason class (one of invalid_number"),
    (["--failure-mix", "invalid_number=70,expired=40"], "add up to 110 %, more than 100 %"),
    (["--carriers", "vodafone=10"], "'vodafone' is not a carrier"),
    (["--never-share", "101"], "--never-share"),
    (["--messages", "0"], "--messages"),
    (["--scenario", "chaos"], "--scenario"),
    (["--scenario", "demo", "--count", "5"], "with --messages, not --count"),
    (["--expect"], "give --api-key or set DLRHUB_API_KEY"),
    (["--deadline-seconds", "60"], "--deadline-seconds goes with --expect"),
    (["--late-share", "60", "--never-share", "50"], "add up to more than 100 %"),
])
def test_bad_scenario_options_are_refused_before_anything_is_sent(args: list[str],
                                                                   error: str) -> None:
    result = CliRunner().invoke(cli, ["simulate", "tencent", "--url", URL, *args],
                                env={"DLRHUB_API_KEY": ""})

    assert result.exit_code == 2, result.output
    assert error in result.stderr
    assert "Traceback" not in result.output


class _Hub(BaseHTTPRequestHandler):
    """Accepts every callback and keeps its records."""

    records: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hub.records.extend(orjson.loads(body))
        answer = b'{"result": 0, "errmsg": "OK"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def hub() -> Iterator[str]:
    _Hub.records = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/callbacks/tencent/tok"
    finally:
        server.shutdown()
        server.server_close()


def test_a_scenario_posts_what_its_summary_says(hub: str) -> None:
    result = CliRunner().invoke(cli, [
        "simulate", "tencent", "--url", hub, "--messages", "200", "--seed", "7",
        "--failure-mix", "invalid_number=5,blacklisted=2,rate_limited=3,expired=1",
        "--never-share", "3", "--late-share", "2", "--out-of-order-share", "2",
        "--batch", "40", "--quiet"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("scenario demo, seed 7: 200 messages through tencent (")
    assert lines[1].startswith("  delivered ")
    assert "never sent 6" in lines[1]
    assert "late receipts 4; out of order 4 (second finals" in result.stdout
    assert "tencent reports no segment count" in result.stdout
    failed = [r for r in _Hub.records if r["report_status"] == "FAIL"]
    assert len(_Hub.records) == 194 + 4
    assert len({r["sid"] for r in _Hub.records}) == 194
    # Every failure carries a carrier's code, none the made-up MK:0001 of the load mode.
    assert failed
    assert all(r["errmsg"] not in ("", "DELIVRD") for r in failed)
    # 190 first reports in 5 callbacks of 40, then the 4 second finals, then the 4 late.
    assert lines[-1].startswith("sent 7, accepted 7, rejected 0, errors 0; 198 records")


def test_the_same_seed_sends_the_same_recipients(hub: str) -> None:
    args = ["simulate", "tencent", "--url", hub, "--messages", "30", "--seed", "3",
            "--quiet"]
    CliRunner().invoke(cli, args)
    first = sorted(r["mobile"] for r in _Hub.records)
    _Hub.records = []
    CliRunner().invoke(cli, args)

    assert sorted(r["mobile"] for r in _Hub.records) == first
