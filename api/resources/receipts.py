"""Tenant routes: receipts, ``/v1/messages/{id}``, ``/v1/stats``, ``/v1/inbox[/{id}[/body]]``.

The tenant comes from the API key (``req.context.tenant_id``, set by the auth
middleware); every service call is scoped by it, so another tenant's ids are 404.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas import receipts as schemas
from dlrhub.services import export, inbox, receipts

Sessions = Callable[[], Session]


class _Base:
    def __init__(self, sessions: Sessions, max_body: int) -> None:
        self._sessions = sessions
        self._max_body = max_body


class Receipts(_Base):
    """``/v1/receipts``."""

    @operation("List receipts", auth="tenant", query=schemas.ReceiptQuery,
               response=schemas.EventPage, tag="receipts",
               description="Newest first (by `received_at`). Send the same filters with "
                           "`after` as with the first page.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's receipts, newest first."""
        q = read_query(req, schemas.ReceiptQuery)
        with self._sessions() as session:
            page = receipts.list_receipts(
                session, tenant_id=req.context.tenant_id, limit=q.limit, after=q.after,
                message_id=q.message_id, reference=q.reference, phone=q.phone,
                status=q.status, provider=q.provider, account_id=q.account_id, type=q.type,
                reason_class=q.reason_class, since=q.since, until=q.until)
            write(resp, schemas.EventPage.model_validate({"data": page.data,
                                                          "next": page.next}))


class ReceiptExport(_Base):
    """``/v1/receipts/export``."""

    @operation("Export receipts", auth="tenant", query=schemas.ExportQuery, tag="receipts",
               raw_response=True,
               description="Every receipt the filters match (the receipt list's filters), "
                           "newest first, streamed as NDJSON or CSV in constant memory: "
                           "millions in one request. A bad filter is a 400 before the "
                           "stream starts.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Stream the tenant's receipts that match the filters."""
        q = read_query(req, schemas.ExportQuery)
        filters = q.model_dump(exclude={"format"})
        tenant_id = req.context.tenant_id
        with self._sessions() as session:
            export.check(session, tenant_id=tenant_id, **filters)
        resp.content_type = export.MEDIA_TYPES[q.format]
        resp.downloadable_as = f"receipts.{q.format}"
        resp.stream = export.lines(q.format, export.documents(self._sessions, tenant_id,
                                                              filters))


class Receipt(_Base):
    """``/v1/receipts/{receipt_id}``."""

    @operation("Read a receipt", auth="tenant", response=schemas.Event, tag="receipts")
    def on_get(self, req: falcon.Request, resp: falcon.Response, receipt_id: str) -> None:
        """Return one of the tenant's receipts."""
        with self._sessions() as session:
            event = receipts.get_receipt(session, tenant_id=req.context.tenant_id,
                                         receipt_id=receipt_id)
            write(resp, schemas.Event.model_validate(event))


class Message(_Base):
    """``/v1/messages/{message_id}``."""

    @operation("Read a message timeline", auth="tenant", response=schemas.Timeline,
               tag="messages",
               description="Every receipt of one message id, per recipient (account and "
                           "phone), oldest first (by the provider's report time), with "
                           "where each recipient stands: its status and whether it is "
                           "final, the reason class, the parts, the handset latency and "
                           "receipt lag, out-of-order reports and corrections.")
    def on_get(self, req: falcon.Request, resp: falcon.Response, message_id: str) -> None:
        """Return the status timeline of one message."""
        with self._sessions() as session:
            timeline = receipts.message_timeline(session, tenant_id=req.context.tenant_id,
                                                 message_id=message_id)
            write(resp, schemas.Timeline.model_validate(timeline))


class Stats(_Base):
    """``/v1/stats``."""

    @operation("Count receipts", auth="tenant", query=schemas.StatsQuery,
               response=schemas.Stats, tag="stats",
               description="Counts by status, provider, reason class and UTC hour of "
                           "`received_at`, "
                           "over at most 31 days; the last 24 hours by default.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Count the tenant's receipts in a range of received times."""
        q = read_query(req, schemas.StatsQuery)
        with self._sessions() as session:
            result = receipts.stats(session, tenant_id=req.context.tenant_id, since=q.since,
                                    until=q.until, account_id=q.account_id)
            write(resp, schemas.Stats.model_validate(result))


class Inbox(_Base):
    """``/v1/inbox``."""

    @operation("List raw callbacks", auth="tenant", query=schemas.InboxQuery,
               response=schemas.InboxPage, tag="inbox",
               description="The callbacks the tenant's providers sent, newest first; "
                           "`?state=rejected` shows what was refused and why. Each body is "
                           "an excerpt (its first 2 KiB) with its size: the whole body is "
                           "on `GET /v1/inbox/{inbox_id}` and, as sent, on "
                           "`GET /v1/inbox/{inbox_id}/body`.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's raw callbacks, newest first."""
        q = read_query(req, schemas.InboxQuery)
        with self._sessions() as session:
            rows, cursor = inbox.list_inbox(session, tenant_id=req.context.tenant_id,
                                            state=q.state, account_id=q.account_id,
                                            limit=q.limit, after=q.after)
            write(resp, schemas.InboxPage.model_validate({"data": rows, "next": cursor}))


class InboxItem(_Base):
    """``/v1/inbox/{inbox_id}``."""

    @operation("Read a raw callback", auth="tenant", response=schemas.InboxItem, tag="inbox",
               description="With its whole body, as text (where it is UTF-8) and base64.")
    def on_get(self, req: falcon.Request, resp: falcon.Response, inbox_id: str) -> None:
        """Return one of the tenant's raw callbacks."""
        with self._sessions() as session:
            item = inbox.get_inbox_item(session, tenant_id=req.context.tenant_id,
                                        inbox_id=inbox_id)
            write(resp, schemas.InboxItem.model_validate(item))


class InboxBody(_Base):
    """``/v1/inbox/{inbox_id}/body``."""

    @operation("Download a raw callback's body", auth="tenant", tag="inbox", raw_response=True,
               description="The body byte for byte, with the Content-Type it was sent with, "
                           "as an attachment.")
    def on_get(self, req: falcon.Request, resp: falcon.Response, inbox_id: str) -> None:
        """Stream one of the tenant's raw callback bodies as it was sent."""
        tenant_id = req.context.tenant_id
        with self._sessions() as session:
            body = inbox.raw_body(session, tenant_id=tenant_id, inbox_id=inbox_id)
        resp.content_type = body.content_type
        # Whatever a provider (or anyone holding its URL) sent must not run in a browser
        # on our origin: a download, never sniffed, sandboxed if opened anyway.
        resp.downloadable_as = f"{inbox_id}.body"
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Content-Security-Policy", "sandbox")
        resp.set_stream(inbox.body_chunks(self._sessions, tenant_id=tenant_id, body=body),
                        body.size)
