"""Read JSON bodies and query strings into models; write models as JSON."""

from __future__ import annotations

from typing import Any, TypeVar

import falcon
import orjson
from pydantic import BaseModel, ValidationError

from dlrhub.services.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


class BodyTooLarge(falcon.HTTPContentTooLarge):
    """A body over ``DLRHUB_MAX_BODY_BYTES``."""


def read_json(req: falcon.Request, model: type[M], max_bytes: int) -> M:
    """Validate the JSON body into ``model``: 415 if not JSON, 413 if too big, 422 if wrong.

    The names of the fields the body set (never their values) are left on
    ``req.context.body_fields`` for the audit trail.
    """
    body = validate(model, read_json_doc(req, max_bytes))
    req.context.body_fields = sorted(body.model_fields_set)
    return body


def read_json_doc(req: falcon.Request, max_bytes: int) -> Any:
    """Return the JSON body parsed but not validated: 415 if not JSON, 413 if too big."""
    media = (req.content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise falcon.HTTPUnsupportedMediaType(description="the body must be application/json")
    if (req.content_length or 0) > max_bytes:
        raise BodyTooLarge(description=f"the body is larger than {max_bytes} bytes")
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise BodyTooLarge(description=f"the body is larger than {max_bytes} bytes")
    try:
        doc = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as ex:
        raise falcon.HTTPBadRequest(description=f"the body is not valid JSON: {ex}") from ex
    return doc


def read_query(req: falcon.Request, model: type[M]) -> M:
    """Validate the query string into ``model`` (422 naming the parameter)."""
    return validate(model, {k: v for k, v in req.params.items() if v != ""})


def validate(model: type[M], doc: Any) -> M:
    """Validate a parsed document into ``model`` (422 naming the first wrong field)."""
    try:
        return model.model_validate(doc)
    except ValidationError as ex:
        first = ex.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from ex


def write(resp: falcon.Response, model: BaseModel | dict[str, Any], status: int = 200) -> None:
    """Answer ``model`` as JSON with ``status``."""
    resp.status = status
    resp.content_type = "application/json"
    doc = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
    resp.data = orjson.dumps(doc)
