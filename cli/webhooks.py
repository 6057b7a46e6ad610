"""A tenant's webhook endpoints and their deliveries on the command line."""

from __future__ import annotations

from typing import Any

import click

from dlrhub.cli.output import (
    after_option,
    delete_and_say,
    emit,
    emit_page,
    json_object,
    json_option,
    limit_option,
    tenant_option,
    tenant_session,
)
from dlrhub.core.vocabulary import DeliveryStatus, EndpointFormat, EventType, ReceiptStatus

ENDPOINT_COLUMNS = ("id", "url", "format", "enabled", "consecutive_failures", "created_at")
DELIVERY_COLUMNS = ("id", "endpoint_id", "status", "attempts", "last_status_code",
                    "created_at")
STATUSES = tuple(s.value for s in ReceiptStatus)
EVENT_TYPES = tuple(t.value for t in EventType)
FORMATS = tuple(f.value for f in EndpointFormat)
DELIVERY_STATUSES = tuple(s.value for s in DeliveryStatus)


@click.group()
def endpoint() -> None:
    """Manage a tenant's webhook endpoints (as the tenant API does)."""


@endpoint.command("create")
@tenant_option
@click.option("--url", required=True, help="Where events are POSTed (http or https).")
@click.option("--description", default="", help="A note for people.")
@click.option("--event-type", "event_types", multiple=True,
              type=click.Choice(EVENT_TYPES),
              help="Only these event types (repeat it); none: all.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only these statuses (repeat it); none: all.")
@click.option("--account", "account_ids", multiple=True, metavar="ID",
              help="Only these accounts' events (repeat it); none: all.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              default="normalized", show_default=True, help="What is POSTed.")
@click.option("--batch-size", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Events per POST.")
@click.option("--retry-policy", default="standard", show_default=True,
              help="standard, ucloud, aliyun, tencent, or a JSON object.")
@click.option("--timeout", type=click.FloatRange(0, 30, min_open=True), default=10.0,
              show_default=True, help="Seconds per attempt.")
@click.option("--rate-limit", type=click.FloatRange(0, 10_000, min_open=True),
              help="At most this many requests per second.")
@click.option("--headers", metavar="JSON", callback=json_object,
              help="Extra request headers.")
@json_option
def endpoint_create(tenant_id: str, url: str, description: str, event_types: tuple[str, ...],
                    statuses: tuple[str, ...], account_ids: tuple[str, ...], fmt: str,
                    batch_size: int, retry_policy: str, timeout: float,
                    rate_limit: float | None, headers: dict[str, Any] | None,
                    as_json: bool) -> None:
    """Register a webhook endpoint; its signing secret is shown with it."""
    from dlrhub.api.schemas.endpoints import EndpointCreate, EndpointCreated, EndpointPublic
    from dlrhub.services.endpoints import create_endpoint

    policy: Any = retry_policy
    if retry_policy.lstrip().startswith("{"):
        policy = json_object(None, None, retry_policy)
    with tenant_session(tenant_id) as (rt, session):
        # The API's request model checks the values first, so both refuse alike.
        body = EndpointCreate.model_validate({
            "url": url, "description": description, "event_types": list(event_types),
            "statuses": list(statuses), "account_ids": list(account_ids), "format": fmt,
            "batch_size": batch_size, "retry_policy": policy, "timeout": timeout,
            "rate_limit": rate_limit, "headers": headers or {}})
        created, secret = create_endpoint(
            session, rt.box, tenant_id=tenant_id, spec=body,
            allow_private=rt.settings.allow_private_endpoints)
        session.commit()
        doc = EndpointPublic.model_validate(created).model_dump()
        emit(EndpointCreated(**doc, secret=secret), as_json)


@endpoint.command("list")
@tenant_option
@limit_option
@after_option
@json_option
def endpoint_list(tenant_id: str, limit: int, after: str | None, as_json: bool) -> None:
    """List a tenant's endpoints, newest first."""
    from dlrhub.api.schemas.endpoints import EndpointPublic
    from dlrhub.services.endpoints import list_endpoints

    with tenant_session(tenant_id) as (_rt, session):
        rows, cursor = list_endpoints(session, tenant_id=tenant_id, limit=limit, after=after)
        emit_page([EndpointPublic.model_validate(r) for r in rows], cursor, ENDPOINT_COLUMNS,
                  as_json)


@endpoint.command("get")
@tenant_option
@click.argument("endpoint_id")
@json_option
def endpoint_get(tenant_id: str, endpoint_id: str, as_json: bool) -> None:
    """Show an endpoint and how it is doing (never its secret)."""
    from dlrhub.api.schemas.endpoints import EndpointPublic
    from dlrhub.services.endpoints import get_endpoint

    with tenant_session(tenant_id) as (_rt, session):
        emit(EndpointPublic.model_validate(
            get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)), as_json)


@endpoint.command("secret")
@tenant_option
@click.argument("endpoint_id")
@json_option
def endpoint_secret(tenant_id: str, endpoint_id: str, as_json: bool) -> None:
    """Show an endpoint's signing secret, to verify webhook signatures."""
    from dlrhub.api.schemas.endpoints import EndpointSecret
    from dlrhub.services.endpoints import get_endpoint

    with tenant_session(tenant_id) as (rt, session):
        found = get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        emit(EndpointSecret(secret=rt.box.decrypt(found.secret_encrypted),
                            previous_secret_expires_at=found.previous_secret_expires_at),
             as_json)


@endpoint.command("delete")
@tenant_option
@click.argument("endpoint_id")
def endpoint_delete(tenant_id: str, endpoint_id: str) -> None:
    """Delete an endpoint with its deliveries."""
    from dlrhub.services.endpoints import delete_endpoint

    delete_and_say(tenant_id, endpoint_id,
                   lambda session, i: delete_endpoint(session, tenant_id=tenant_id,
                                                      endpoint_id=i))


@click.group()
def delivery() -> None:
    """Read a tenant's deliveries (as the tenant API does)."""


@delivery.command("list")
@tenant_option
@click.option("--endpoint", "endpoint_id", metavar="ID", help="Only this endpoint's.")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES),
              help="Only deliveries in this status.")
@limit_option
@after_option
@json_option
def delivery_list(tenant_id: str, endpoint_id: str | None, status: str | None, limit: int,
                  after: str | None, as_json: bool) -> None:
    """List a tenant's deliveries, newest first."""
    from dlrhub.api.schemas.deliveries import DeliveryPublic
    from dlrhub.models import DeliveryStatus
    from dlrhub.services.deliveries import list_deliveries

    with tenant_session(tenant_id) as (_rt, session):
        rows, cursor = list_deliveries(
            session, tenant_id=tenant_id, endpoint_id=endpoint_id,
            status=DeliveryStatus(status) if status else None, limit=limit, after=after)
        emit_page([DeliveryPublic.model_validate(r) for r in rows], cursor,
                  DELIVERY_COLUMNS, as_json)


@delivery.command("get")
@tenant_option
@click.argument("delivery_id")
@json_option
def delivery_get(tenant_id: str, delivery_id: str, as_json: bool) -> None:
    """Show a delivery with every attempt."""
    from dlrhub.api.schemas.deliveries import AttemptPublic, DeliveryDetail, DeliveryPublic
    from dlrhub.services.deliveries import attempts_of, get_delivery

    with tenant_session(tenant_id) as (_rt, session):
        found = get_delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
        doc = DeliveryPublic.model_validate(found).model_dump()
        log = [AttemptPublic.model_validate(a) for a in attempts_of(session, found.id)]
        emit(DeliveryDetail(**doc, attempt_log=log), as_json)
