"""Register a plan's messages as expected messages, through the tenant API.

The simulator is a client like any sender: it has a callback URL and an API key, not
the database. It streams one NDJSON line per message to ``POST /v1/expectations/bulk``
before any receipt is posted, never-sent ones included: those are the receipts that
``GET /v1/expectations?state=missing`` lists after the deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from dlrhub.services.errors import InvalidInput, NotFound, ServiceError
from dlrhub.services.simulation.plan import Plan

CALLBACKS = "/v1/callbacks/"
NDJSON = "application/x-ndjson"
PAGE = 500


@dataclass(frozen=True)
class Registration:
    """What the API did with the plan's expectations."""

    account_id: str
    accepted: int
    duplicates: int
    rejected: int
    errors: list[dict[str, Any]]


def api_base(callback_url: str) -> str:
    """Return the API's base URL: the callback URL up to its ``/v1/callbacks/``."""
    where = callback_url.find(CALLBACKS)
    if where <= 0:
        raise InvalidInput("url", "is not a dlrhub callback URL (…/v1/callbacks/<provider>/"
                                  "<token>); give the API's base URL as well")
    return callback_url[:where]


def lines(plan: Plan, account_id: str, deadline_seconds: int | None) -> Iterator[bytes]:
    """Yield one expectation per planned message, as NDJSON lines."""
    for m in plan.messages:
        doc: dict[str, Any] = {"account_id": account_id, "message_id": m.message_id,
                               "phone": m.phone, "sent_at": m.submitted_at.isoformat(),
                               "reference": m.reference}
        if m.template is not None:
            doc["template"] = m.template
        if deadline_seconds is not None:
            doc["deadline_seconds"] = deadline_seconds
        yield orjson.dumps(doc) + b"\n"


def register(plan: Plan, callback_url: str, *, api_key: str, api_url: str | None = None,
             account_id: str | None = None, deadline_seconds: int | None = None,
             timeout: float = 60.0) -> Registration:
    """Register every message of ``plan`` with the account of ``callback_url``.

    The account is the one of the key's tenant whose callback URL this is, unless
    ``account_id`` names it. Raises a ``ServiceError`` saying what the API refused.
    """
    base = api_url or api_base(callback_url)
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base.rstrip("/"), headers=headers, timeout=timeout) as client:
        try:
            account = account_id or _account_of(client, callback_url)
            resp = client.post("/v1/expectations/bulk",
                               content=lines(plan, account, deadline_seconds),
                               headers={"Content-Type": NDJSON})
        except httpx.HTTPError as ex:
            raise ServiceError(f"the API at {base} did not answer: "
                               f"{type(ex).__name__}: {ex}") from None
        _check(resp, "registering expectations")
        done = resp.json()
    return Registration(account, done["accepted"], done["duplicates"], done["rejected"],
                        done["errors"])


def _account_of(client: httpx.Client, callback_url: str) -> str:
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE} | ({"after": after} if after else {})
        resp = client.get("/v1/accounts", params=params)
        _check(resp, "finding the account")
        page = resp.json()
        for account in page["data"]:
            if account["callback_url"] == callback_url:
                return str(account["id"])
        after = page.get("next")
        if not after:
            raise NotFound("no account of the API key's tenant has this callback URL; "
                           "name it with --account-id")


def _check(resp: httpx.Response, doing: str) -> None:
    if resp.status_code < 300:
        return
    try:
        detail = resp.json().get("detail") or resp.json().get("title")
    except ValueError:
        detail = resp.text[:200]
    raise ServiceError(f"{doing}: HTTP {resp.status_code}: {detail}")
