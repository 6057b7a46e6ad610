"""The composition root of the API process: ``create_app(settings)``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import falcon

from dlrhub import __version__
from dlrhub.api import errors
from dlrhub.api.audit import AuditTrail
from dlrhub.api.auth import Authentication, RateLimits
from dlrhub.api.middleware import LogIds, RequestId, RequestMetrics
from dlrhub.api.openapi import OpenAPIResource, Route, build_document
from dlrhub.api.resources.accounts import Account, Accounts, AccountToken
from dlrhub.api.resources.alerts import AlertRuleEvents, AlertRuleItem, AlertRules
from dlrhub.api.resources.analytics import Delivery
from dlrhub.api.resources.audit import AdminAudit, Audit
from dlrhub.api.resources.callbacks import CallbackResource
from dlrhub.api.resources.deliveries import Deliveries, DeliveryItem, DeliveryRetry
from dlrhub.api.resources.endpoints import (
    EndpointItem,
    EndpointReplay,
    Endpoints,
    EndpointSecretItem,
    EndpointSecretRotation,
    EndpointTest,
)
from dlrhub.api.resources.erasures import Erasures
from dlrhub.api.resources.events import Events
from dlrhub.api.resources.expectations import Expectations, ExpectationsBulk
from dlrhub.api.resources.health import Health, Metrics, Ready
from dlrhub.api.resources.insight import EventTypes, ReasonClasses
from dlrhub.api.resources.receipts import (
    Inbox,
    InboxBody,
    InboxItem,
    Message,
    Receipt,
    ReceiptExport,
    Receipts,
    Stats,
)
from dlrhub.api.resources.tenants import OwnTenant, Tenant, TenantKey, TenantKeys, Tenants
from dlrhub.config import Settings, tracing
from dlrhub.config.logging import mask_tokens_in_logs
from dlrhub.console import app as console
from dlrhub.console.web import PREFIX as CONSOLE
from dlrhub.models import utcnow
from dlrhub.services import sns_certificates
from dlrhub.services.accounts import TokenDirectory
from dlrhub.services.callbacks import CallbackLimits
from dlrhub.services.event_types import event_types
from dlrhub.services.keys import KeyDirectory
from dlrhub.services.ratelimit import RefusalLog, limiter_for
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.retention import Periods
from dlrhub.services.runtime import Runtime
from dlrhub.tasks.app import QUEUES, create_celery, queue_depths
from dlrhub.tasks.enqueue import Enqueuer
from dlrhub.tasks.wakeups import CeleryWakeups

if TYPE_CHECKING:
    from dlrhub.services.relay.transport.http import Sender


@dataclass(frozen=True)
class Api:
    """The WSGI app and the part of it the event loop's callback lane shares."""

    app: falcon.App[Any, Any]
    callbacks: CallbackResource


def create_app(settings: Settings, *, runtime: Runtime | None = None,
               celery: Any = None, enqueuer: Enqueuer | None = None) -> falcon.App[Any, Any]:
    """Build the WSGI app of ``settings``: engine, registry, Celery client, routes."""
    return build_api(settings, runtime=runtime, celery=celery, enqueuer=enqueuer).app


def build_api(settings: Settings, *, runtime: Runtime | None = None,
              celery: Any = None, enqueuer: Enqueuer | None = None) -> Api:
    """Build the API of ``settings``: the app, and its callback resource for the lane."""
    # Whatever server runs the app logs request paths: none may show a callback token.
    mask_tokens_in_logs()
    celery = celery or create_celery(settings)
    # One way to wake the workers; ingest wake-ups are coalesced (batch-1 traffic
    # shares tasks), and the services' wake-ups go out once their session commits.
    wakeups = CeleryWakeups(celery, coalesce=enqueuer or Enqueuer(celery))
    rt = (runtime or Runtime.build(settings)).waking(wakeups)

    def broker_check() -> None:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)

    keys = KeyDirectory(rt.engine)
    middleware: list[Any] = [
        # First: it times the others too, and counts what they refuse.
        RequestMetrics(fixed=[(f"{CONSOLE}/static/", f"{CONSOLE}/static/{{file}}")]),
        RequestId(),
        Authentication(settings.admin_token, keys, RateLimits(
            limiter_for(settings.broker_url), settings.api_rate_limit,
            settings.api_rate_burst_seconds, RefusalLog(rt.engine))),
        LogIds(),
        AuditTrail(rt.sessions),
        *console.middleware(),
        *tracing.hooks().middleware(),  # none unless tracing is on
    ]
    # AWS SNS callbacks name their signing certificate's URL: fetched through the guard.
    sns_certificates.install(allow_private=settings.allow_private_endpoints)
    app = falcon.App(middleware=middleware)
    # Providers post bodies in their own media types; the callback resource reads raw
    # bytes and decides, so Falcon must not try to parse forms itself.
    app.req_options.auto_parse_form_urlencoded = False
    app.req_options.strip_url_path_trailing_slash = True
    errors.register(app)

    body = settings.max_body_bytes

    send_tests = _test_sender(settings.allow_private_endpoints)
    relay_args = (rt.sessions, rt.box, body, settings.allow_private_endpoints, send_tests,
                  Periods.of_settings(settings))
    callbacks = CallbackResource(
        rt.engine, TokenDirectory(rt.engine, rt.box), wakeups,
        CallbackLimits(settings.max_body_bytes, settings.signature_max_skew), utcnow,
        settings.effective_public_url)
    routes = [
        Route("/v1/callbacks/{provider}/{token}", callbacks),
        Route("/v1/tenants", Tenants(rt.sessions, body)),
        Route("/v1/tenants/{tenant_id}", Tenant(rt.sessions, body)),
        Route("/v1/tenants/{tenant_id}/keys", TenantKeys(rt.sessions, body)),
        Route("/v1/tenants/{tenant_id}/keys/{key_id}", TenantKey(rt.sessions, body)),
        # --- tenant routes: the key's own tenant, accounts ---
        Route("/v1/tenant", OwnTenant(rt.sessions, Periods.of_settings(settings))),
        Route("/v1/accounts", Accounts(rt.sessions, rt.box, settings.effective_public_url,
                                       body)),
        Route("/v1/accounts/{account_id}", Account(rt.sessions, rt.box,
                                                   settings.effective_public_url, body)),
        Route("/v1/accounts/{account_id}/rotate-token", AccountToken(
            rt.sessions, rt.box, settings.effective_public_url, body)),
        # --- tenant routes: receipts, messages, stats, inbox ---
        Route("/v1/receipts", Receipts(rt.sessions, body)),
        Route("/v1/receipts/export", ReceiptExport(rt.sessions, body)),
        Route("/v1/receipts/{receipt_id}", Receipt(rt.sessions, body)),
        Route("/v1/messages/{message_id}", Message(rt.sessions, body)),
        Route("/v1/stats", Stats(rt.sessions, body)),
        Route("/v1/events", Events(rt.sessions)),
        # --- tenant routes: expected messages ---
        Route("/v1/expectations", Expectations(rt.sessions, body)),
        Route("/v1/expectations/bulk", ExpectationsBulk(rt.sessions)),
        Route("/v1/reason-classes", ReasonClasses()),
        Route("/v1/event-types", EventTypes()),
        Route("/v1/inbox", Inbox(rt.sessions, body)),
        Route("/v1/inbox/{inbox_id}", InboxItem(rt.sessions, body)),
        Route("/v1/inbox/{inbox_id}/body", InboxBody(rt.sessions, body)),
        Route("/v1/analytics/delivery", Delivery(rt.sessions)),
        Route("/v1/alert-rules", AlertRules(rt.sessions, body)),
        Route("/v1/alert-rules/{rule_id}", AlertRuleItem(rt.sessions, body)),
        Route("/v1/alert-rules/{rule_id}/events", AlertRuleEvents(rt.sessions, body)),
        # --- tenant routes: endpoints ---
        Route("/v1/endpoints", Endpoints(*relay_args)),
        Route("/v1/endpoints/{endpoint_id}", EndpointItem(*relay_args)),
        Route("/v1/endpoints/{endpoint_id}/secret", EndpointSecretItem(*relay_args)),
        Route("/v1/endpoints/{endpoint_id}/secret/rotate", EndpointSecretRotation(*relay_args)),
        Route("/v1/endpoints/{endpoint_id}/replay", EndpointReplay(*relay_args)),
        Route("/v1/endpoints/{endpoint_id}/test", EndpointTest(*relay_args)),
        Route("/v1/deliveries", Deliveries(rt.sessions)),
        Route("/v1/deliveries/{delivery_id}", DeliveryItem(rt.sessions)),
        Route("/v1/deliveries/{delivery_id}/retry", DeliveryRetry(rt.sessions)),
        # --- privacy and the audit trail ---
        Route("/v1/erasures", Erasures(rt.sessions, settings.secret_key, body)),
        Route("/v1/audit", Audit(rt.sessions)),
        Route("/v1/admin/audit", AdminAudit(rt.sessions)),
        Route("/healthz", Health()),
        Route("/readyz", Ready(rt.engine, broker_check)),
        Route("/metrics", Metrics(rt.engine, lambda: queue_depths(celery, QUEUES))),
    ]
    spec = OpenAPIResource()
    routes.append(Route("/openapi.json", spec))
    spec.publish(build_document(routes, title="dlrhub", version=__version__,
                                server=settings.effective_public_url,
                                webhooks=event_types()))
    for route in routes:
        app.add_route(route.path, route.resource)
    # The console, on the same port: its pages call the same services with the same keys.
    console.mount(app, sessions=rt.sessions, keys=keys, box=rt.box, settings=settings,
                  send=send_tests, engine=rt.engine, check_broker=broker_check)
    return Api(app, callbacks)


def _test_sender(allow_private: bool) -> Callable[[list[Job]], list[Outcome]]:
    """Return how the API sends test events: by the relay's HTTP client, built on first use.

    Imported then, not at start-up: an API that never sends a test event never loads
    the HTTP client library (aiohttp) and its event loop thread.
    """
    built: list[Sender] = []
    lock = threading.Lock()

    def send(jobs: list[Job]) -> list[Outcome]:
        with lock:
            if not built:
                from dlrhub.services.relay.transport.http import Sender

                built.append(Sender(allow_private=allow_private))
        return built[0].send(jobs)

    return send
