"""Log lines: no callback token in any, JSON with a zoned time and the ids they are about."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import falcon
import falcon.testing
import orjson
import pytest

from dlrhub.api.middleware import LogIds, RequestId
from dlrhub.config.logging import configure_logging, log_ids, mask_tokens_in_logs, say
from dlrhub.config.redaction import mask_callback_tokens

TOKEN = "cb_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PATH = f"/v1/callbacks/huawei/{TOKEN}"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """Return a logger with a handler and formatter of its own, as a server's access log."""
    mask_tokens_in_logs()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.access")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, out
    logger.handlers.clear()


@pytest.mark.parametrize(("text", "expected"), [
    (PATH, "/v1/callbacks/huawei/***"),
    (f"POST {PATH}?a=1 HTTP/1.1", "POST /v1/callbacks/huawei/***?a=1 HTTP/1.1"),
    (f"https://hub.example.com{PATH}/x", "https://hub.example.com/v1/callbacks/huawei/***/x"),
    (f'"{PATH}"', '"/v1/callbacks/huawei/***"'),
    ("/v1/receipts?limit=2", "/v1/receipts?limit=2"),
    # ChuangLan's password in clear in the query
    (f"GET {PATH}?receiver=N1&pswd=s3cr%26t&msgid=1 HTTP/1.1",
     "GET /v1/callbacks/huawei/***?receiver=N1&pswd=***&msgid=1 HTTP/1.1"),
])
def test_a_callback_token_is_masked_in_any_text(text: str, expected: str) -> None:
    assert mask_callback_tokens(text) == expected


def test_an_access_line_with_dict_args_is_masked(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    # gunicorn's access log: a %-format of named atoms, %(r)s being the request line.
    logger.info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": f"POST {PATH} HTTP/1.1",
                                        "s": "200"})
    assert out.getvalue() == '10.0.0.1 "POST /v1/callbacks/huawei/*** HTTP/1.1" 200\n'


def test_a_traceback_mentioning_the_path_is_masked(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    try:
        raise RuntimeError(f"cannot serve {PATH}")
    except RuntimeError:
        logger.exception("unhandled error on %s %s", "POST", PATH)
    assert TOKEN not in out.getvalue()
    assert out.getvalue().count("/v1/callbacks/huawei/***") == 2


def test_the_json_log_masks_message_and_exception(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("INFO", json=True)
        try:
            raise ValueError(PATH)
        except ValueError:
            logging.getLogger("dlrhub.api.errors").exception("unhandled error on POST %s", PATH)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    doc = orjson.loads(line)
    assert doc["message"] == "unhandled error on POST /v1/callbacks/huawei/***"
    assert "ValueError: /v1/callbacks/huawei/***" in doc["exception"]
    assert TOKEN not in line


def json_lines(configure: Callable[[], None], emit: Callable[[], None],
               capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Return the JSON lines ``emit`` logs once ``configure`` set logging up."""
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    try:
        configure()
        emit()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook = hook
    return [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_a_json_line_has_a_zoned_time_and_the_ids_of_what_it_is_about(
        capsys: pytest.CaptureFixture[str]) -> None:
    def emit() -> None:
        with log_ids(tenant_id="ten_1", delivery_id="dlv_2", token="never-shown"):
            logging.getLogger("dlrhub.test").warning("about a delivery")
        logging.getLogger("dlrhub.test").warning("about nothing")

    about, nothing = json_lines(lambda: configure_logging("INFO", json=True), emit, capsys)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", about["time"])
    assert datetime.fromisoformat(about["time"]).utcoffset() == timedelta(0)
    assert (about["tenant_id"], about["delivery_id"]) == ("ten_1", "dlv_2")
    assert "token" not in about
    assert {"level": "WARNING", "logger": "dlrhub.test", "message": "about a delivery"
            }.items() <= about.items()
    assert not {"tenant_id", "delivery_id"} & nothing.keys()


def test_what_a_command_says_is_json_under_the_flag(capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    say(f"serving; callbacks at {PATH}", json=True, logger="dlrhub.serve")
    say("plain", json=False)
    said, plain = capsys.readouterr().err.splitlines()
    doc = orjson.loads(said)
    assert (doc["logger"], doc["message"]) == (
        "dlrhub.serve", "serving; callbacks at /v1/callbacks/huawei/***")
    assert datetime.fromisoformat(doc["time"]).tzinfo is not None
    assert plain == "plain"


class _Tenant:
    """Stands where authentication finds the key's tenant."""

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        req.context.tenant_id = "ten_key"


class _Logs:
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        logging.getLogger("dlrhub.api.test").warning("endpoint looked at")
        resp.media = {}


def test_a_request_logs_its_tenant_and_the_ids_its_route_names(
        capsys: pytest.CaptureFixture[str]) -> None:
    app = falcon.App(middleware=[RequestId(), _Tenant(), LogIds()])
    app.add_route("/v1/endpoints/{endpoint_id}", _Logs())
    client = falcon.testing.TestClient(app)

    def emit() -> None:
        client.simulate_get("/v1/endpoints/ep_9", headers={"X-Request-ID": "req-1"})
        logging.getLogger("dlrhub.api.test").warning("after the request")

    during, after = json_lines(lambda: configure_logging("INFO", json=True), emit, capsys)
    assert (during["request_id"], during["tenant_id"], during["endpoint_id"]) == (
        "req-1", "ten_key", "ep_9")
    assert after["request_id"] == "-"
    assert not {"tenant_id", "endpoint_id"} & after.keys()
