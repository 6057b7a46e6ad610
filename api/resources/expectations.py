"""Tenant routes: ``/v1/expectations`` and ``/v1/expectations/bulk``.

The tenant comes from the API key (``req.context.tenant_id``); every service call is
scoped by it, so another tenant's accounts are 404.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon
import orjson
from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.api.io import read_json_doc, read_query, validate, write
from dlrhub.api.ndjson import numbered_lines
from dlrhub.api.openapi import operation
from dlrhub.api.schemas import expectations as schemas
from dlrhub.models import utcnow
from dlrhub.services.errors import InvalidInput
from dlrhub.services.expectations import intake, register
from dlrhub.services.expectations.register import NewExpectation

_NDJSON = ("application/x-ndjson", "application/jsonl", "application/json-lines")


def _new(item: schemas.ExpectationCreate) -> NewExpectation:
    # Field by field: model_dump() would cost as much as the validation did.
    return NewExpectation(
        account_id=item.account_id, message_id=item.message_id, phone=item.phone,
        sent_at=item.sent_at, deadline_seconds=item.deadline_seconds,
        template=item.template, reference=item.reference)


class Expectations:
    """``/v1/expectations``."""

    def __init__(self, sessions: Callable[[], Session], max_body: int) -> None:
        self._sessions = sessions
        self._max_body = max_body

    @operation("Register expected messages", audit="expectation.create",
               auth="tenant", body=schemas.ExpectationBody,
               response=schemas.ExpectationAnswer, status=200, errors=(404,),
               extra_responses={201: "One expectation, stored by this request"},
               tag="expectations",
               description="One expectation (answered 201 as stored, or 200 as it already "
               "was) or `{\"data\": [...]}` of up to 1,000 (answered with each, in order), "
               "stored all or none. Registering the same (account, message id, phone) "
               "again changes nothing: a client may resend after a time-out. Past its "
               "deadline without a final receipt, an expectation emits "
               "`sms.receipt_missing`; past its horizon, a synthetic `sms.status` "
               "`unknown`. Streams of any length: `POST /v1/expectations/bulk`.")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register one expectation, or a list of up to 1,000."""
        doc = read_json_doc(req, self._max_body)
        single = not (isinstance(doc, dict) and "data" in doc)
        items = ([validate(schemas.ExpectationCreate, doc)] if single
                 else validate(schemas.ExpectationList, doc).data)
        with self._sessions() as session:
            done = intake.register_items(session, tenant_id=req.context.tenant_id,
                                         items=[_new(i) for i in items], now=utcnow(),
                                         prefix="" if single else "data.")
            session.commit()
        if single:
            write(resp, schemas.ExpectationPublic.model_validate(done.data[0]),
                  201 if done.accepted else 200)
        else:
            write(resp, schemas.ExpectationBatchResult.model_validate(
                {"accepted": done.accepted, "duplicates": done.duplicates,
                 "data": done.data}))

    @operation("List expected messages", auth="tenant", query=schemas.ExpectationQuery,
               response=schemas.ExpectationPage, errors=(404,), tag="expectations",
               description="Newest first; `?state=missing` lists the messages whose final "
               "receipt did not come by their deadline.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's expectations, newest first."""
        q = read_query(req, schemas.ExpectationQuery)
        with self._sessions() as session:
            rows, cursor = register.list_expectations(
                session, tenant_id=req.context.tenant_id, state=q.state,
                account_id=q.account_id, message_id=q.message_id, limit=q.limit,
                after=q.after)
            write(resp, schemas.ExpectationPage.model_validate(
                {"data": [register.document(r) for r in rows], "next": cursor}))


class ExpectationsBulk:
    """``/v1/expectations/bulk``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @operation("Stream expected messages", audit="expectation.create_stream",
               auth="tenant", body=schemas.ExpectationCreate,
               body_media="application/x-ndjson", response=schemas.BulkResult,
               errors=(408, 503), tag="expectations",
               description="NDJSON of any length, one expectation per line (the fields of "
               "`POST /v1/expectations`). Read as it arrives and stored 1,000 lines per "
               "transaction: a bad line is counted with its number and reason and the "
               "others are stored. Chunks stored stay if the upload breaks off; sending "
               "the same stream again stores the rest (what is stored counts as "
               "duplicates). The body must keep coming: no gap longer than "
               "`DLRHUB_BODY_TIMEOUT`, and on average at least `DLRHUB_UPLOAD_MIN_RATE` "
               "bytes a second (408 otherwise); 503 when `DLRHUB_UPLOAD_THREADS` uploads "
               "are under way already.")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Register the expectations of an NDJSON stream."""
        media = (req.content_type or "").split(";")[0].strip().lower()
        if media not in _NDJSON:
            raise falcon.HTTPUnsupportedMediaType(
                description="the body must be application/x-ndjson: one JSON object a line")
        report = intake.register_stream(
            self._sessions, tenant_id=req.context.tenant_id,
            lines=numbered_lines(req.stream), parse=parse_line, now=utcnow)
        write(resp, schemas.BulkResult.model_validate(
            {"accepted": report.accepted, "duplicates": report.duplicates,
             "rejected": report.rejected,
             "errors": [{"line": e.line, "field": e.field, "detail": e.detail}
                        for e in report.errors]}))


def parse_line(raw: bytes) -> NewExpectation:
    """Read one NDJSON line, or raise ``InvalidInput`` naming what is wrong."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as ex:
        raise InvalidInput("line", f"is not JSON: {ex}") from ex
    try:
        return _new(schemas.ExpectationCreate.model_validate(doc))
    except ValidationError as ex:
        first = ex.errors()[0]
        raise InvalidInput(".".join(str(p) for p in first["loc"]) or "line",
                           first["msg"]) from ex
