"""No log record shows the secret token of a callback URL, whoever logs it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from dlrhub.config.logging import configure_logging, mask_tokens_in_logs
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
