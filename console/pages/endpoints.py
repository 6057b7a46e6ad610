"""``/console/endpoints``: webhook endpoints — create, edit, the retry schedule, the
signing secret (revealed and rotated by POST only), a test event, re-enabling, replay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
from pydantic import ValidationError

from dlrhub.console import i18n
from dlrhub.console.forms import checked, header_lines, local_time, number, refusal
from dlrhub.console.web import PREFIX, Accepts, Console, Ctx, Shows
from dlrhub.core.vocabulary import DeliveryStatus, EndpointFormat, EventType, ReceiptStatus
from dlrhub.models import Endpoint, EndpointCreate, EndpointUpdate, utcnow
from dlrhub.services import accounts, endpoints, overview
from dlrhub.services.errors import InvalidInput
from dlrhub.services.relay import outbox
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.relay.policy.retries import NAMED, RetryPolicy, parse_policy
from dlrhub.services.retention import Periods

Send = Callable[[list[Job]], list[Outcome]]
CUSTOM = "waits"  # the form's choice of a policy given as its own waits


@dataclass(frozen=True)
class Step:
    """One retry of a policy's schedule: which attempt, after what wait, how long in."""

    attempt: int
    wait: float
    elapsed: float


def schedule(policy: RetryPolicy) -> list[Step]:
    """Return a policy's nominal schedule (the relay adds the jitter it names)."""
    steps, elapsed = [], 0.0
    for n, wait in enumerate(policy.schedule(), start=2):
        elapsed += wait
        steps.append(Step(n, wait, elapsed))
    return steps


def duration(lang: str) -> Callable[[float], str]:
    """Return how a wait reads in ``lang``: seconds, minutes, hours or days."""

    def shown(seconds: float) -> str:
        for key, size in (("unit.d", 86400), ("unit.h", 3600), ("unit.min", 60)):
            if seconds >= size:
                return i18n.t(lang, key, n=f"{seconds / size:.3g}")
        return i18n.t(lang, "unit.s", n=f"{seconds:g}")

    return shown


def _choices() -> dict[str, Any]:
    return {"formats": [f.value for f in EndpointFormat],
            "event_types": [e.value for e in EventType],
            "statuses": [s.value for s in ReceiptStatus],
            "policies": {name: schedule(p) for name, p in NAMED.items()},
            "jitter": {name: p.jitter for name, p in NAMED.items()}}


def _policy(fields: dict[str, str]) -> Any:
    choice = fields.get("retry_policy", "")
    if choice == CUSTOM:
        try:
            return {"waits": [float(w) for w in fields.get("waits", "").split(",")
                              if w.strip()]}
        except ValueError as ex:
            raise InvalidInput("waits", "seconds, separated by commas") from ex
    return choice or None


def _spec(fields: dict[str, str]) -> dict[str, Any]:
    """Return an endpoint form as the request bodies take it."""
    body: dict[str, Any] = {
        "url": fields.get("url", "").strip(),
        "description": fields.get("description", "").strip(),
        "event_types": checked(fields, "event"),
        "statuses": checked(fields, "status"),
        "account_ids": checked(fields, "account"),
        "format": fields.get("format") or EndpointFormat.normalized.value,
        "batch_size": number(fields, "batch_size", 1),
        "timeout": number(fields, "timeout", 10.0),
        "headers": header_lines(fields.get("headers")),
    }
    policy = _policy(fields)
    if policy is not None:
        body["retry_policy"] = policy
    if isinstance(body["batch_size"], float) and body["batch_size"].is_integer():
        body["batch_size"] = int(body["batch_size"])
    return body


def _given(endpoint: Endpoint) -> dict[str, str]:
    """Return an endpoint's settings as the form's fields."""
    policy = parse_policy(endpoint.retry_policy)
    named = policy.name in NAMED and NAMED[policy.name] == policy
    fields = {
        "url": endpoint.url, "description": endpoint.description,
        "format": str(endpoint.format), "batch_size": str(endpoint.batch_size),
        "timeout": f"{endpoint.timeout:g}",
        "rate_limit": f"{endpoint.rate_limit:g}" if endpoint.rate_limit else "",
        "headers": "\n".join(f"{k}: {v}" for k, v in (endpoint.headers or {}).items()),
        "retry_policy": policy.name if named else CUSTOM,
        "waits": "" if named else ", ".join(f"{w:g}" for w in policy.schedule()),
    }
    for prefix, values in (("event", endpoint.event_types), ("status", endpoint.statuses),
                           ("account", endpoint.account_ids)):
        fields.update({f"{prefix}.{value}": "1" for value in values})
    return fields


class _Page:
    """What the endpoint pages share: the accounts of the filters, the endpoint's page."""

    console: Console

    def accounts(self, ctx: Ctx) -> list[Any]:
        with self.console.sessions() as session:
            rows, _ = accounts.list_accounts(session, tenant_id=ctx.tenant_id, limit=100)
        return rows

    def endpoint_page(self, resp: falcon.Response, ctx: Ctx, endpoint_id: str, *,
                      status: int = 200, **values: Any) -> None:
        with self.console.sessions() as session:
            endpoint = endpoints.get_endpoint(session, tenant_id=ctx.tenant_id,
                                              endpoint_id=endpoint_id)
        values.setdefault("given", _given(endpoint))
        policy = parse_policy(endpoint.retry_policy)
        self.console.render(
            resp, ctx, "endpoint.html", status=status, endpoint=endpoint,
            state=overview.endpoint_state(endpoint, utcnow()), policy=policy,
            steps=schedule(policy), accounts=self.accounts(ctx), choices=_choices(),
            dur=duration(ctx.lang),
            **{"notice": None, "error": None, "secret": None, "test": None,
               "replayed": None, **values})


class Endpoints(Shows):
    """``GET /console/endpoints``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List the tenant's endpoints and their state."""
        after = req.get_param("after") or None
        with self.console.sessions() as session:
            rows, cursor = endpoints.list_endpoints(session, tenant_id=ctx.tenant_id,
                                                    limit=50, after=after)
        now = utcnow()
        self.console.render(resp, ctx, "endpoints.html", cursor=cursor,
                            endpoints=[(e, overview.endpoint_state(e, now)) for e in rows])


class NewEndpoint(Shows, Accepts, _Page):
    """``/console/endpoints/new``."""

    audit = "endpoint.create"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the form with the defaults."""
        given = {"format": "normalized", "batch_size": "1", "timeout": "10",
                 "retry_policy": "standard"}
        self._form(resp, ctx, given, None)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Create the endpoint and open it; show the form again with what is wrong."""
        console = self.console
        try:
            body = _spec(fields)
            rate = number(fields, "rate_limit")
            if rate:
                body["rate_limit"] = rate
            spec = EndpointCreate.model_validate(body)
            with console.sessions() as session:
                endpoint, _ = endpoints.create_endpoint(
                    session, console.box, tenant_id=ctx.tenant_id, spec=spec,
                    allow_private=console.settings.allow_private_endpoints)
                session.commit()
                endpoint_id = endpoint.id
        except (ValidationError, InvalidInput) as ex:
            self._form(resp, ctx, fields, refusal(ex), status=400)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/endpoints/{endpoint_id}?created=1")

    def _form(self, resp: falcon.Response, ctx: Ctx, given: dict[str, str],
              error: str | None, status: int = 200) -> None:
        self.console.render(resp, ctx, "endpoint_new.html", status=status, given=given,
                            error=error, accounts=self.accounts(ctx), choices=_choices(),
                            dur=duration(ctx.lang))


class EndpointPage(Shows, Accepts, _Page):
    """``/console/endpoints/{endpoint_id}``; ``POST`` saves the edit form."""

    audit = "endpoint.update"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the endpoint, its state and its forms."""
        notice = next((n for n in ("created", "saved", "enabled", "disabled")
                       if req.get_param(n)), None)
        self.endpoint_page(resp, ctx, params["endpoint_id"], notice=notice)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Save the settings (the state changes by its own buttons)."""
        console = self.console
        endpoint_id = params["endpoint_id"]
        try:
            body = _spec(fields)
            body["rate_limit"] = number(fields, "rate_limit", 0)  # blank: no limit
            spec = EndpointUpdate.model_validate(body)
            with console.sessions() as session:
                endpoints.update_endpoint(
                    session, tenant_id=ctx.tenant_id, endpoint_id=endpoint_id, spec=spec,
                    allow_private=console.settings.allow_private_endpoints)
                session.commit()
        except (ValidationError, InvalidInput) as ex:
            self.endpoint_page(resp, ctx, endpoint_id, status=400, error=refusal(ex),
                               given=fields)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/endpoints/{endpoint_id}?saved=1")


class EndpointState(Accepts):
    """``POST /console/endpoints/{endpoint_id}/state``: enable (clearing why the relay
    disabled it) or disable."""

    audit = "endpoint.update_state"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Switch the endpoint on or off."""
        enable = fields.get("enabled") == "1"
        with self.console.sessions() as session:
            endpoints.update_endpoint(
                session, tenant_id=ctx.tenant_id, endpoint_id=params["endpoint_id"],
                spec=EndpointUpdate(enabled=enable),
                allow_private=self.console.settings.allow_private_endpoints)
            session.commit()
        done = "enabled" if enable else "disabled"
        raise falcon.HTTPSeeOther(f"{PREFIX}/endpoints/{params['endpoint_id']}?{done}=1")


class EndpointSecret(Accepts, _Page):
    """``POST /console/endpoints/{endpoint_id}/secret``: show the signing secret (in the
    answer to a form, never in a URL)."""

    audit = "endpoint.reveal_secret"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Show the current secret on the endpoint's page."""
        with self.console.sessions() as session:
            endpoint = endpoints.get_endpoint(session, tenant_id=ctx.tenant_id,
                                              endpoint_id=params["endpoint_id"])
            secret = self.console.box.decrypt(endpoint.secret_encrypted)
        self.endpoint_page(resp, ctx, params["endpoint_id"], secret=secret)


class EndpointRotate(Accepts, _Page):
    """``POST /console/endpoints/{endpoint_id}/secret/rotate``."""

    audit = "endpoint.rotate_secret"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Make a new secret and show it; the old one signs beside it for 24 h."""
        with self.console.sessions() as session:
            _, secret = endpoints.rotate_secret(session, self.console.box,
                                                tenant_id=ctx.tenant_id,
                                                endpoint_id=params["endpoint_id"])
            session.commit()
        self.endpoint_page(resp, ctx, params["endpoint_id"], secret=secret,
                           notice="rotated")


class EndpointTest(Accepts, _Page):
    """``POST /console/endpoints/{endpoint_id}/test``: one signed test event, now."""

    audit = "endpoint.test"

    def __init__(self, console: Console, send: Send) -> None:
        super().__init__(console)
        self.send = send

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Send the test event and show what the endpoint answered."""
        with self.console.sessions() as session:
            endpoint = endpoints.get_endpoint(session, tenant_id=ctx.tenant_id,
                                              endpoint_id=params["endpoint_id"])
            delivery, attempt = endpoints.send_test(session, self.console.box, endpoint,
                                                    send=self.send, now=utcnow())
            session.commit()
            test = {"delivery_id": delivery.id,
                    "succeeded": delivery.status == DeliveryStatus.succeeded,
                    "status_code": attempt.status_code, "latency_ms": attempt.latency_ms,
                    "error": attempt.error, "response_excerpt": attempt.response_excerpt}
        self.endpoint_page(resp, ctx, params["endpoint_id"], test=test)


class EndpointReplay(Accepts, _Page):
    """``POST /console/endpoints/{endpoint_id}/replay``: send a time range's events again."""

    audit = "endpoint.replay"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Plan the range's events again through the endpoint's filters."""
        endpoint_id = params["endpoint_id"]
        now = utcnow()
        try:
            since = local_time(fields, "since", ctx.tz)
            if since is None:
                raise InvalidInput("since", "is required")
            until = local_time(fields, "until", ctx.tz) or now
            statuses = checked(fields, "replay")
            known = {s.value for s in ReceiptStatus}
            for index, status in enumerate(statuses):
                if status not in known:
                    raise InvalidInput(f"statuses[{index}]", "not a known status")
            with self.console.sessions() as session:
                ids = outbox.replay(session, tenant_id=ctx.tenant_id, endpoint_id=endpoint_id,
                                    since=since, until=until, statuses=statuses, now=now,
                                    periods=Periods.of_settings(self.console.settings))
                session.commit()
        except InvalidInput as ex:  # the page is a 404 for someone else's endpoint
            self.endpoint_page(resp, ctx, endpoint_id, status=400, error=refusal(ex))
            return
        self.endpoint_page(resp, ctx, endpoint_id, replayed=len(ids))


