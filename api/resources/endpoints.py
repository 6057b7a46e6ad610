"""Tenant routes: ``/v1/endpoints[/{id}[/secret[/rotate]]]``."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_json, read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.common import PageQuery
from dlrhub.api.schemas.endpoints import (
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointPublic,
    EndpointSecret,
    EndpointUpdate,
    ReplayRequest,
    ReplayResult,
    TestResult,
)
from dlrhub.models import DeliveryStatus, utcnow
from dlrhub.services import endpoints
from dlrhub.services.crypto import SecretBox
from dlrhub.services.relay import outbox
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.retention import Periods

Sessions = Callable[[], Session]
Send = Callable[[list[Job]], list[Outcome]]


class _Base:
    def __init__(self, sessions: Sessions, box: SecretBox, max_body: int,
                 allow_private: bool, send: Send, periods: Periods) -> None:
        self._sessions = sessions
        self._box = box
        self._max_body = max_body
        self._allow_private = allow_private
        self._send = send
        self._periods = periods


class Endpoints(_Base):
    """``/v1/endpoints``."""

    @operation("Create an endpoint", audit="endpoint.create", auth="tenant", body=EndpointCreate,
               response=EndpointCreated, status=201, tag="endpoints")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register a webhook endpoint; the answer carries its signing secret."""
        spec = read_json(req, EndpointCreate, self._max_body)
        with self._sessions() as session:
            endpoint, secret = endpoints.create_endpoint(
                session, self._box, tenant_id=req.context.tenant_id, spec=spec,
                allow_private=self._allow_private)
            session.commit()
            doc = EndpointPublic.model_validate(endpoint).model_dump()
            write(resp, EndpointCreated(**doc, secret=secret), 201)

    @operation("List endpoints", auth="tenant", query=PageQuery, response=EndpointPage,
               tag="endpoints")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's endpoints, newest first."""
        query = read_query(req, PageQuery)
        with self._sessions() as session:
            rows, cursor = endpoints.list_endpoints(session, tenant_id=req.context.tenant_id,
                                                    limit=query.limit, after=query.after)
            write(resp, EndpointPage(data=[EndpointPublic.model_validate(r) for r in rows],
                                     next=cursor))


class EndpointItem(_Base):
    """``/v1/endpoints/{endpoint_id}``."""

    @operation("Read an endpoint", auth="tenant", response=EndpointPublic, tag="endpoints")
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Return one endpoint."""
        with self._sessions() as session:
            endpoint = endpoints.get_endpoint(session, tenant_id=req.context.tenant_id,
                                              endpoint_id=endpoint_id)
            write(resp, EndpointPublic.model_validate(endpoint))

    @operation("Update an endpoint", audit="endpoint.update", auth="tenant", body=EndpointUpdate,
               response=EndpointPublic, tag="endpoints",
               description="Changes only the fields sent; `enabled: true` re-enables an "
               "endpoint the relay disabled and clears why.")
    def on_patch(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Change an endpoint."""
        spec = read_json(req, EndpointUpdate, self._max_body)
        with self._sessions() as session:
            endpoint = endpoints.update_endpoint(
                session, tenant_id=req.context.tenant_id, endpoint_id=endpoint_id, spec=spec,
                allow_private=self._allow_private)
            session.commit()
            write(resp, EndpointPublic.model_validate(endpoint))

    @operation("Delete an endpoint", audit="endpoint.delete",
               auth="tenant", status=204, tag="endpoints")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Delete an endpoint with its deliveries."""
        with self._sessions() as session:
            endpoints.delete_endpoint(session, tenant_id=req.context.tenant_id,
                                      endpoint_id=endpoint_id)
            session.commit()
        resp.status = 204


class EndpointSecretItem(_Base):
    """``/v1/endpoints/{endpoint_id}/secret``."""

    @operation("Read an endpoint's signing secret", auth="tenant", response=EndpointSecret,
               tag="endpoints")
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Return the current signing secret (only here, and when created or rotated)."""
        with self._sessions() as session:
            endpoint = endpoints.get_endpoint(session, tenant_id=req.context.tenant_id,
                                              endpoint_id=endpoint_id)
            write(resp, EndpointSecret(
                secret=self._box.decrypt(endpoint.secret_encrypted),
                previous_secret_expires_at=endpoint.previous_secret_expires_at))


class EndpointSecretRotation(_Base):
    """``/v1/endpoints/{endpoint_id}/secret/rotate``."""

    @operation("Rotate an endpoint's signing secret", audit="endpoint.rotate_secret",
               auth="tenant", response=EndpointSecret,
               tag="endpoints", description="The old secret keeps signing beside the new "
               "one for 24 h, so receivers can switch without dropping a webhook.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Make a new secret."""
        with self._sessions() as session:
            endpoint, secret = endpoints.rotate_secret(
                session, self._box, tenant_id=req.context.tenant_id, endpoint_id=endpoint_id)
            session.commit()
            write(resp, EndpointSecret(
                secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at))


class EndpointReplay(_Base):
    """``/v1/endpoints/{endpoint_id}/replay``."""

    @operation("Replay events to an endpoint", audit="endpoint.replay",
               auth="tenant", body=ReplayRequest,
               response=ReplayResult, status=202, tag="endpoints",
               description="Sends the tenant's events received in [since, until) again, as "
               "new deliveries, through the endpoint's own filters (and `statuses`). "
               "`since` may go back at most the tenant's receipt retention period "
               "(`GET /v1/tenant`): older events are no longer kept.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Plan the range's events again; the relay is woken once committed."""
        body = read_json(req, ReplayRequest, self._max_body)
        now = utcnow()
        with self._sessions() as session:
            ids = outbox.replay(session, tenant_id=req.context.tenant_id,
                                endpoint_id=endpoint_id, since=body.since,
                                until=body.until or now, statuses=list(body.statuses),
                                now=now, periods=self._periods)
            session.commit()
        write(resp, ReplayResult(deliveries=len(ids), delivery_ids=ids[:1000]), 202)


class EndpointTest(_Base):
    """``/v1/endpoints/{endpoint_id}/test``."""

    @operation("Send a test event", audit="endpoint.test",
               auth="tenant", response=TestResult, tag="endpoints",
               description="POSTs one signed test event (`\"test\": true`) now and returns "
               "what the endpoint answered; it is logged as a delivery, not retried, and "
               "does not count toward the endpoint's failures. A `native` endpoint gets "
               "a realistic callback of its (first) account's provider instead, judged by "
               "that provider's rule, so a receiver that would fail real deliveries fails "
               "the test too (422 if the tenant has no provider account).")
    def on_post(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        """Send a test event and return the attempt."""
        with self._sessions() as session:
            endpoint = endpoints.get_endpoint(session, tenant_id=req.context.tenant_id,
                                              endpoint_id=endpoint_id)
            delivery, attempt = endpoints.send_test(session, self._box, endpoint,
                                                    send=self._send, now=utcnow())
            session.commit()
            write(resp, TestResult(delivery_id=delivery.id,
                                   succeeded=delivery.status == DeliveryStatus.succeeded,
                                   status_code=attempt.status_code,
                                   latency_ms=attempt.latency_ms, error=attempt.error,
                                   response_excerpt=attempt.response_excerpt))
