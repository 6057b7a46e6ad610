"""The event loop's callback lane stores and answers exactly what the app would.

Every sample of every provider goes once through the bridge without a lane (the app in
a thread, as before the lane) and once through the lane, on PostgreSQL: the answers and
the inbox rows must be the same. What the lane does not take (a callback to refuse, a
token it has not seen, a provider that confirms subscriptions, a database it cannot
reach) goes to the app, stored once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import make_url, select

from dlrhub.api.app import Api, build_api
from dlrhub.api.bridge import WsgiBridge
from dlrhub.api.callback_lane import CallbackLane, lane_eligible, lane_of
from dlrhub.config import Settings
from dlrhub.models import InboundCallback, utcnow
from dlrhub.providers.registry import get_provider
from dlrhub.services.runtime import Runtime
from tests.catalog import Case, cases
from tests.factories import AccountFactory

pytestmark = [pytest.mark.commits,
              pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]

CASES = cases()
# What differs between two stored copies of one callback by construction.
_OWN = {"id", "received_at", "enqueued_at"}


@dataclass
class Paths:
    """The same API behind a bridge without a lane, and its lane."""

    api: Api
    app: WsgiBridge
    runtime: Runtime
    make_lane: Callable[[], CallbackLane]

    def via_app(self, scope: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return asyncio.run(_call(self.app, scope, body))

    def via_lane(self, scope: dict[str, Any], body: bytes
                 ) -> tuple[int, dict[str, str], bytes] | None:
        async def go() -> tuple[int, dict[str, str], bytes] | None:
            lane = self.make_lane()  # a pool belongs to the event loop that opens it
            await lane.open()
            try:
                got = await lane.answer(scope, body)
            finally:
                await lane.close()
            if got is None:
                return None
            status, headers, answer = got
            return status, {k.decode(): v.decode() for k, v in headers}, answer
        return asyncio.run(go())

    def rows(self) -> list[dict[str, Any]]:
        table = InboundCallback.__table__  # type: ignore[attr-defined]
        with self.runtime.engine.connect() as conn:
            found = conn.execute(select(table).order_by(table.c.received_at)).mappings()
            return [dict(row) for row in found]


async def _call(app: WsgiBridge, scope: dict[str, Any], body: bytes
                ) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def scope_of(path: str, headers: dict[str, str], *, method: str = "POST",
             query: str = "") -> dict[str, Any]:
    """Return the ASGI scope uvicorn makes of such a request."""
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "", "scheme": "http",
            "http_version": "1.1", "client": ("203.0.113.9", 40000),
            "server": ("127.0.0.1", 8000),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


@pytest.fixture
def paths(settings: Settings, runtime: Runtime) -> Iterator[Paths]:
    api = build_api(settings, runtime=runtime)
    app = WsgiBridge(api.app, max_body=settings.max_body_bytes,
                     body_timeout=settings.body_timeout, threads=2)

    def make_lane() -> CallbackLane:
        lane = lane_of(settings, api.callbacks)
        assert lane is not None
        return lane

    yield Paths(api, app, runtime, make_lane)
    if app._pool is not None:
        app._pool.shutdown()


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert {k: v for k, v in a.items() if k not in _OWN} == \
        {k: v for k, v in b.items() if k not in _OWN}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_lane_answers_and_stores_what_the_app_does(paths: Paths, case: Case) -> None:
    new = AccountFactory(provider=case.provider, credentials=case.credentials or None)
    path = f"/v1/callbacks/{case.provider}/{new.token}"
    headers = {**case.headers(utcnow()), "X-Request-ID": "req-1",
               "Content-Length": str(len(case.body)), "X-Extra_Header": "a"}
    scope = scope_of(path, headers)
    status, answer_headers, body = paths.via_app(scope, case.body)  # caches the token
    by_lane = paths.via_lane(scope, case.body)
    adapter = get_provider(case.provider)
    assert adapter is not None
    if status != 200 or not lane_eligible(adapter):
        assert by_lane is None  # refused, or a subscription: only the app answers
        return
    assert by_lane is not None
    assert by_lane[0] == status
    assert by_lane[2] == body
    assert by_lane[1]["content-type"] == answer_headers["content-type"]
    assert by_lane[1]["x-request-id"] == answer_headers["x-request-id"] == "req-1"
    first, second = paths.rows()
    assert first["state"] == second["state"] == "pending"
    assert second["headers"]["x-extra-header"] == "a"
    _same(first, second)


def test_a_callback_to_refuse_is_left_to_the_app_and_kept_once(paths: Paths) -> None:
    new = AccountFactory(provider="tencent")
    path = f"/v1/callbacks/tencent/{new.token}"
    good = scope_of(path, {"Content-Type": "application/json"})
    assert paths.via_app(good, b"[]")[0] == 200  # the token is cached now
    bad = scope_of(path, {"Content-Type": "text/csv"})
    assert paths.via_lane(bad, b"a,b") is None
    lane = paths.make_lane()
    lane_app = WsgiBridge(paths.api.app, max_body=1_000_000, body_timeout=5, threads=2,
                          lane=lane)

    async def go() -> tuple[int, dict[str, str], bytes]:
        await lane.open()
        try:
            return await _call(lane_app, bad, b"a,b")
        finally:
            await lane.close()
            lane_app.pool.shutdown()

    assert asyncio.run(go())[0] == 415
    assert [r["state"] for r in paths.rows()] == ["pending", "rejected"]


def test_a_token_not_yet_looked_up_goes_to_the_app_then_the_lane_takes_it(
        paths: Paths) -> None:
    new = AccountFactory(provider="tencent")
    scope = scope_of(f"/v1/callbacks/tencent/{new.token}",
                     {"Content-Type": "application/json"})
    assert paths.via_lane(scope, b"[]") is None
    assert paths.via_app(scope, b"[]")[0] == 200
    by_lane = paths.via_lane(scope, b"[]")
    assert by_lane is not None
    assert by_lane[0] == 200
    assert len(paths.rows()) == 2


def test_an_unknown_token_or_odd_path_is_left_to_the_app(paths: Paths) -> None:
    json = {"Content-Type": "application/json"}
    assert paths.via_lane(scope_of("/v1/callbacks/tencent/nope", json), b"[]") is None
    new = AccountFactory(provider="tencent")
    path = f"/v1/callbacks/tencent/{new.token}"
    assert paths.via_app(scope_of(path, json), b"[]")[0] == 200
    for odd in (path + "/", path.replace("tencent", "Tencent"), path + "%20"):
        assert paths.via_lane(scope_of(odd, json), b"[]") is None
    # Another provider's URL with this account's token: the app answers 404.
    assert paths.via_lane(scope_of(path.replace("tencent", "aliyun"), json), b"[]") is None


def test_a_database_the_lane_cannot_reach_leaves_the_callback_to_the_app(
        paths: Paths, settings: Settings) -> None:
    new = AccountFactory(provider="tencent")
    scope = scope_of(f"/v1/callbacks/tencent/{new.token}",
                     {"Content-Type": "application/json"})
    assert paths.via_app(scope, b"[]")[0] == 200
    away = make_url(settings.effective_database_url).set(
        drivername="postgresql", host="127.0.0.1", port=1)
    paths.make_lane = lambda: paths.api.callbacks.lane(
        away.render_as_string(hide_password=False), pool_size=1, timeout=0.5)
    assert paths.via_lane(scope, b"[]") is None
    assert len(paths.rows()) == 1


def test_the_lane_is_off_on_sqlite_or_when_asked(
        settings: Settings, runtime: Runtime, tmp_path: Any) -> None:
    api = build_api(settings, runtime=runtime)
    assert lane_of(settings.model_copy(update={"callback_lane": False}), api.callbacks) is None
    sqlite = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/x.db"})
    assert lane_of(sqlite, api.callbacks) is None
