"""``/console/receipts``: the API's filters as a form, cursor pages, CSV and NDJSON export."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import falcon

from dlrhub.console.web import ConsoleError, Ctx, Shows
from dlrhub.core.vocabulary import EventType, ReasonClass, ReceiptStatus
from dlrhub.services import accounts, export, receipts

PAGE = 50
MAX_FILTER = 200
TEXT_FILTERS = ("message_id", "reference", "phone", "provider", "account_id")
CHOICE_FILTERS = {
    "status": [s.value for s in ReceiptStatus],
    "type": [t.value for t in EventType],
    "reason_class": [r.value for r in ReasonClass],
}
TIME_FILTERS = ("since", "until")


def read_filters(req: falcon.Request, tz: ZoneInfo) -> tuple[dict[str, str], dict[str, Any]]:
    """Return the filters as given (for the form) and as the service takes them.

    Times come from ``datetime-local`` fields, in the viewer's zone; an unknown choice
    or an unreadable time is a 400 that says which field.
    """
    given: dict[str, str] = {}
    query: dict[str, Any] = {}
    for name in (*TEXT_FILTERS, *CHOICE_FILTERS, *TIME_FILTERS):
        value = (req.get_param(name) or "").strip()
        if not value:
            continue
        given[name] = value
        if len(value) > MAX_FILTER:
            raise ConsoleError(400, "error.bad_input",
                               detail=f"{name}: at most {MAX_FILTER} characters")
        if name in CHOICE_FILTERS and value not in CHOICE_FILTERS[name]:
            raise ConsoleError(400, "error.bad_input", detail=f"{name}: not a known value")
        if name in TIME_FILTERS:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError as ex:
                raise ConsoleError(400, "error.bad_input",
                                   detail=f"{name}: not a date and time") from ex
            query[name] = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
        else:
            query[name] = value
    return given, query


class Receipts(Shows):
    """``GET /console/receipts``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Render a page of the filtered receipts."""
        given, query = read_filters(req, ctx.tz)
        after = req.get_param("after") or None
        with self.console.sessions() as session:
            page = receipts.list_receipts(session, tenant_id=ctx.tenant_id, limit=PAGE,
                                          after=after, **query)
            live, _ = accounts.list_accounts(session, tenant_id=ctx.tenant_id, limit=100)
        filters = urlencode(given)
        nxt = urlencode({**given, "after": page.next}) if page.next else None
        self.console.render(
            resp, ctx, "receipts.html", rows=page.data, given=given, choices=CHOICE_FILTERS,
            providers=sorted({a.provider for a in live}), accounts=live, filters=filters,
            next_query=nxt, paged=after is not None)


class Export(Shows):
    """``GET /console/receipts/export?format=csv|ndjson&<filters>``: streamed."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Stream every receipt the filters match, newest first."""
        fmt = req.get_param("format") or "csv"
        if fmt not in ("csv", "ndjson"):
            raise ConsoleError(400, "error.bad_input", detail="format: csv or ndjson")
        _, query = read_filters(req, ctx.tz)
        with self.console.sessions() as session:  # a bad filter fails here, as a page
            export.check(session, tenant_id=ctx.tenant_id, **query)
        resp.content_type = export.MEDIA_TYPES[fmt]
        resp.downloadable_as = f"receipts.{fmt}"
        resp.stream = export.lines(fmt, export.documents(self.console.sessions,
                                                         ctx.tenant_id, query))


