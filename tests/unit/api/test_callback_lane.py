"""What the callback lane takes, and the request it reads, without a database."""

from __future__ import annotations

from dlrhub.api.callback_lane import callback_request, lane_eligible
from dlrhub.providers.registry import get_provider


def test_providers_that_confirm_subscriptions_are_left_to_the_app() -> None:
    sns, tencent = get_provider("aws_sns"), get_provider("tencent")
    assert sns is not None
    assert tencent is not None
    assert not lane_eligible(sns)
    assert lane_eligible(tencent)


def test_the_request_is_read_as_a_wsgi_server_and_falcon_give_it() -> None:
    scope = {"method": "POST", "path": "/v1/callbacks/tencent/t", "query_string": b"a=1",
             "client": ("198.51.100.7", 5000),
             "headers": [(b"content-type", b"Application/JSON; charset=utf-8"),
                         (b"x-a", b"1"), (b"X-A", b"2"), (b"x_b", b"3"),
                         (b"content-length", b"999"), (b"transfer-encoding", b"chunked")]}
    request = callback_request(scope, b"[1]", "https://hub.example")
    assert request.headers == {"content-length": "3", "x-a": "1,2", "x-b": "3",
                               "content-type": "Application/JSON; charset=utf-8"}
    assert request.content_type == "application/json"
    assert request.url == "https://hub.example/v1/callbacks/tencent/t?a=1"
    assert request.remote_addr == "198.51.100.7"
    assert (request.method, request.path, request.query) == ("POST", scope["path"], "a=1")
