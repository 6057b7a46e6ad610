"""A fast customer endpoint for ``bench/relay``: answers 200 at once, counts and times events.

Run as ``python bench/customer_app.py --port P`` (bench/relay starts it in its own
process). Any ``POST /hook/<tag>`` is a delivery, counted under its ``<tag>`` (one
tag per endpoint keeps the endpoints apart): the body is one event (``batch_size``
1) or a JSON array of events, each with ``id`` and ``received_at`` (when dlrhub
received the provider's callback, ISO 8601 UTC). Per event the app keeps, on the
event id's first arrival only, ``received_at`` and the arrival time (wall clock, the
same clock dlrhub stamps with: both run on this machine). Redeliveries (an event id
seen again) are counted, never timed twice.

- ``GET /stats?tag=<tag>`` — the tag's counters as JSON: requests, events, unique,
  duplicates, deliveries (distinct ``webhook-id``), redeliveries (a ``webhook-id``
  seen again), bad bodies, first/last arrival (epoch seconds). ``&since=<epoch>`` adds,
  over the unique events with ``received_at >= since``: their count, first/last
  arrival and the latency percentiles of ``arrival - received_at`` in milliseconds.
- ``POST /reset?tag=<tag>`` — forget the tag (without ``tag``: every tag).
- ``GET /healthz`` — 200.

It is kept cheap (no signature check, no logging per request): it shares the cores
with the system under test.
"""

from __future__ import annotations

import argparse
import math
import time
from array import array
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

OK = b'{"ok":true}'


class Tally:
    """What the endpoint received since the last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self.requests = 0
        self.events = 0
        self.bad = 0
        self.redeliveries = 0
        self.ids: set[str] = set()
        self.webhook_ids: set[str] = set()
        # Per unique event, in arrival order: received_at and arrival (epoch seconds).
        self.received = array("d")
        self.arrived = array("d")
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None  # of any request
        self.last_unique_arrival: float | None = None  # of an event not seen before
        self.reset_at = time.time()
        self._stamps: dict[str, float] = {}

    def _stamp(self, value: Any) -> float:
        # The events of one callback share their received_at: parse each string once.
        if not isinstance(value, str):
            return math.nan
        stamp = self._stamps.get(value)
        if stamp is None:
            if len(self._stamps) > 50_000:
                self._stamps.clear()
            try:
                stamp = datetime.fromisoformat(value).timestamp()
            except ValueError:
                stamp = math.nan
            self._stamps[value] = stamp
        return stamp

    def take(self, body: bytes, webhook_id: str | None, now: float) -> None:
        """Count one delivery received at ``now``."""
        self.requests += 1
        if self.first_arrival is None:
            self.first_arrival = now
        self.last_arrival = now
        if webhook_id is not None:
            if webhook_id in self.webhook_ids:
                self.redeliveries += 1
            else:
                self.webhook_ids.add(webhook_id)
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            self.bad += 1
            return
        events = doc if isinstance(doc, list) else [doc]
        new = False
        for event in events:
            if not isinstance(event, dict) or not isinstance(event.get("id"), str):
                self.bad += 1
                continue
            self.events += 1
            event_id = event["id"]
            if event_id in self.ids:
                continue
            self.ids.add(event_id)
            self.received.append(self._stamp(event.get("received_at")))
            self.arrived.append(now)
            new = True
        if new:
            self.last_unique_arrival = now

    def stats(self, since: float | None) -> dict[str, Any]:
        """Return the counters, and the latency figures of events received since ``since``."""
        doc: dict[str, Any] = {
            "requests": self.requests, "events": self.events, "unique": len(self.ids),
            "duplicates": self.events - len(self.ids),
            "deliveries": len(self.webhook_ids), "redeliveries": self.redeliveries,
            "bad": self.bad, "first_arrival": self.first_arrival,
            "last_arrival": self.last_arrival,
            "last_unique_arrival": self.last_unique_arrival, "reset_at": self.reset_at,
        }
        if since is not None:
            picked = [(r, a) for r, a in zip(self.received, self.arrived, strict=True)
                      if r >= since]  # NaN (unparsable received_at) compares false
            latencies = sorted((a - r) * 1000 for r, a in picked)
            doc["window"] = {
                "since": since, "unique": len(picked),
                "first_arrival": min((a for _, a in picked), default=None),
                "last_arrival": max((a for _, a in picked), default=None),
                "p50_ms": _percentile(latencies, 50), "p90_ms": _percentile(latencies, 90),
                "p99_ms": _percentile(latencies, 99),
                "max_ms": latencies[-1] if latencies else None,
            }
        return doc


def _percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def create_app() -> web.Application:
    """Build the endpoint's aiohttp application."""
    tallies: dict[str, Tally] = {}

    def tally_of(tag: str) -> Tally:
        tally = tallies.get(tag)
        if tally is None:
            tally = tallies[tag] = Tally()
        return tally

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        tally_of(request.match_info["tag"]).take(body, request.headers.get("webhook-id"),
                                                 time.time())
        return web.Response(body=OK, content_type="application/json")

    async def stats(request: web.Request) -> web.Response:
        since = request.query.get("since")
        try:
            doc = tally_of(request.query.get("tag", "")).stats(float(since) if since else None)
        except ValueError:
            return web.Response(status=400, text="since must be epoch seconds")
        return web.Response(body=orjson.dumps(doc), content_type="application/json")

    async def reset(request: web.Request) -> web.Response:
        tag = request.query.get("tag")
        if tag is None:
            tallies.clear()
        else:
            tally_of(tag).reset()
        return web.Response(body=OK, content_type="application/json")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(body=OK, content_type="application/json")

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/hook/{tag}", hook)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_get("/healthz", health)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the endpoint on 127.0.0.1 until SIGTERM/SIGINT."""
    p = argparse.ArgumentParser(description="bench/relay's customer endpoint")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    web.run_app(create_app(), host=args.host, port=args.port, access_log=None,
                print=None, backlog=1024)


if __name__ == "__main__":
    main()
