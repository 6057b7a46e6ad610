"""Mount the console on the API's Falcon app: ``/console/`` on the same port."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import falcon
import jinja2
from sqlalchemy import Engine
from sqlmodel import Session

from dlrhub.config import Settings
from dlrhub.console.pages import (
    accounts,
    alerts,
    analytics,
    deliveries,
    endpoints,
    expectations,
    home,
    login,
    message,
    overview,
    receipts,
    system,
    tenants,
)
from dlrhub.console.web import PREFIX, Console, ConsoleError, Ctx, SecurityHeaders
from dlrhub.console.web import begin_default as _default_ctx
from dlrhub.models import utcnow
from dlrhub.services.crypto import SecretBox
from dlrhub.services.keys import KeyDirectory
from dlrhub.services.relay.jobs import Job, Outcome

HERE = Path(__file__).resolve().parent


def environment() -> jinja2.Environment:
    """Return the templates' environment: every value escaped unless marked safe."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def mount(app: falcon.App[Any, Any], *, sessions: Callable[[], Session], keys: KeyDirectory,
          box: SecretBox, settings: Settings,
          send: Callable[[list[Job]], list[Outcome]], engine: Engine,
          check_broker: Callable[[], None],
          clock: Callable[[], datetime] = utcnow) -> None:
    """Add the console's routes, static files and error page to ``app``.

    ``check_broker`` is /readyz's check of the broker; ``clock`` tells the time to the
    sign-in limit (the tests give their own).
    """
    console = Console(sessions, keys, box, settings, environment(), engine, check_broker,
                      clock)
    routes = {
        "": home.Home(console),
        "/login": login.Login(console),
        "/logout": login.Logout(console),
        "/prefs": login.Prefs(console),
        "/overview": overview.OverviewPage(console),
        "/receipts": receipts.Receipts(console),
        "/receipts/export": receipts.Export(console),
        "/messages/{message_id}": message.MessagePage(console),
        "/tenants": tenants.Tenants(console),
        # --- provider accounts, endpoints, deliveries ---
        "/accounts": accounts.Accounts(console),
        "/accounts/new": accounts.NewAccount(console),
        "/accounts/{account_id}": accounts.AccountPage(console),
        "/accounts/{account_id}/rotate": accounts.AccountRotate(console),
        "/accounts/{account_id}/callbacks/{inbox_id}": accounts.RefusedCallback(console),
        "/endpoints": endpoints.Endpoints(console),
        "/endpoints/new": endpoints.NewEndpoint(console),
        "/endpoints/{endpoint_id}": endpoints.EndpointPage(console),
        "/endpoints/{endpoint_id}/state": endpoints.EndpointState(console),
        "/endpoints/{endpoint_id}/secret": endpoints.EndpointSecret(console),
        "/endpoints/{endpoint_id}/secret/rotate": endpoints.EndpointRotate(console),
        "/endpoints/{endpoint_id}/test": endpoints.EndpointTest(console, send),
        "/endpoints/{endpoint_id}/replay": endpoints.EndpointReplay(console),
        "/deliveries": deliveries.Deliveries(console),
        "/deliveries/{delivery_id}": deliveries.DeliveryPage(console),
        "/deliveries/{delivery_id}/retry": deliveries.DeliveryRetry(console),
        # --- insight: analytics, expectations, alert rules ---
        "/analytics": analytics.Analytics(console),
        "/expectations": expectations.Expectations(console),
        "/alerts": alerts.Alerts(console),
        "/alerts/new": alerts.NewAlert(console),
        "/alerts/{rule_id}": alerts.AlertPage(console),
        "/alerts/{rule_id}/delete": alerts.AlertDelete(console),
        # --- admin ---
        "/tenants/{tenant_id}": tenants.TenantPage(console),
        "/tenants/{tenant_id}/state": tenants.TenantState(console),
        "/tenants/{tenant_id}/delete": tenants.TenantDelete(console),
        "/tenants/{tenant_id}/keys": tenants.TenantKeys(console),
        "/tenants/{tenant_id}/keys/{key_id}/revoke": tenants.KeyRevoke(console),
        "/system": system.SystemPage(console),
    }
    for path, resource in routes.items():
        app.add_route(PREFIX + path, resource)
    app.add_static_route(f"{PREFIX}/static", HERE / "static")
    app.add_sink(home.Missing(console), f"{PREFIX}/(?!static/)")  # static files: their own

    def error_page(req: falcon.Request, resp: falcon.Response, ex: ConsoleError,
                   params: dict[str, Any]) -> None:
        ctx: Ctx = getattr(req.context, "console", None) or _default_ctx(req)
        console.render(resp, ctx, "error.html", status=ex.status, message=ex.message,
                       values=ex.values)

    app.add_error_handler(ConsoleError, error_page)


def middleware() -> list[Any]:
    """Return the console's Falcon middleware (its security headers)."""
    return [SecurityHeaders()]
