"""The OpenAPI 3.1 document, built from the same models the responders use.

Each responder is decorated with ``@operation(...)``: its summary, who may call it,
and the pydantic models of its query, body and answer. The auth middleware reads the
same declaration, so what is documented is what is enforced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import falcon
import orjson
from pydantic import BaseModel

from dlrhub.api.schemas.events import OperationalEvent
from dlrhub.api.schemas.receipts import Event
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.event_types import EventTypeInfo

# "any": a tenant's key, or the admin token (which then names the tenant itself).
Auth = Literal["admin", "tenant", "public", "any"]
F = TypeVar("F", bound=Callable[..., Any])

_ERRORS = {
    400: "Malformed request",
    401: "Missing or wrong credentials",
    403: "The tenant is suspended",
    404: "Not found (or not yours)",
    408: "The body stopped coming, or came too slowly",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Body is not JSON",
    422: "A field is invalid; `field` names it",
    429: "This API key is over its rate limit; `Retry-After` says when to retry",
    503: "As many uploads as the server takes at once are under way; retry later",
}


@dataclass(frozen=True)
class Operation:
    """What a responder declares about itself."""

    summary: str
    auth: Auth
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)
    # The answer is bytes of any media type (a kept body as it was sent), not JSON.
    raw_response: bool = False
    # The body's media type: ``body`` then describes each line of an NDJSON stream.
    body_media: str = "application/json"
    # Answered in the calling provider's own form (a callback), not in problem+json.
    provider_form: bool = False
    # The audit trail's name of what a successful call changes (``account.create``):
    # every POST, PUT, PATCH and DELETE but the providers' callbacks declares one.
    audit: str = ""


# Each declared responder function and its contract (kept here rather than as an
# attribute on the function, which the type checker cannot see).
_DECLARED: dict[Callable[..., Any], Operation] = {}


def operation(summary: str, *, auth: Auth, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              status: int = 200, errors: Iterable[int] = (), tag: str = "",
              description: str = "", raw_response: bool = False,
              body_media: str = "application/json",
              extra_responses: dict[int, str] | None = None,
              provider_form: bool = False, audit: str = "") -> Callable[[F], F]:
    """Declare a responder's contract for the auth middleware and the OpenAPI document."""
    def mark(fn: F) -> F:
        _DECLARED[fn] = Operation(
            summary=summary, auth=auth, body=body, query=query, response=response,
            status=status, errors=tuple(errors), tags=(tag,) if tag else (),
            description=description, raw_response=raw_response, body_media=body_media,
            extra_responses=dict(extra_responses or {}), provider_form=provider_form,
            audit=audit)
        return fn
    return mark


def operation_of(resource: object, method: str, suffix: str | None = None) -> Operation | None:
    """Return the declaration of a resource's responder for ``method``, if any."""
    name = f"on_{method.lower()}" + (f"_{suffix}" if suffix else "")
    responder = getattr(resource, name, None)
    if responder is None:
        return None
    # A responder is read as a bound method; it was declared as its function.
    return _DECLARED.get(getattr(responder, "__func__", responder))


@dataclass(frozen=True)
class Route:
    """A path template, its resource and the responder suffix Falcon uses."""

    path: str
    resource: object
    suffix: str | None = None


_METHODS = ("get", "post", "put", "patch", "delete")


def build_document(routes: Iterable[Route], *, title: str, version: str, server: str = "",
                   webhooks: Iterable[EventTypeInfo] = ()) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of ``routes``, and of the events relayed.

    ``server`` is the base URL clients call (DLRHUB_PUBLIC_URL); ``webhooks`` are the
    event types an endpoint receives, each a request dlrhub makes (OpenAPI 3.1).
    """
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": _PROBLEM}
    for route in routes:
        item: dict[str, Any] = {}
        for method in _METHODS:
            op = operation_of(route.resource, method, route.suffix)
            if op is not None:
                item[method] = (_callback(route.path, op, method) if op.provider_form
                                else _operation(route.path, op, schemas))
        if item:
            paths[route.path] = item
    hooks = {info.type: _webhook(info, schemas) for info in webhooks}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "The dlrhub API: tenants, provider accounts and receipts."},
        **({"servers": [{"url": server}]} if server else {}),
        "paths": paths,
        **({"webhooks": hooks} if hooks else {}),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "admin": {"type": "http", "scheme": "bearer",
                          "description": "DLRHUB_ADMIN_TOKEN"},
                "tenant": {"type": "http", "scheme": "bearer",
                           "description": "a tenant API key (dlrhub_sk_…)"},
            },
        },
    }


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


# What a callback may be answered, each in the provider's own form (JSON, XML or a
# word: whatever the provider expects), and why.
_CALLBACK_ANSWERS = {
    200: "Accepted and kept", 400: "The body cannot be read", 401: "A bad signature",
    403: "The address is not in the account's allow-list",
    404: "No account has this callback URL (an unknown provider: problem+json)",
    405: "The provider does not call with this method",
    413: "Body too large", 415: "Not a media type the provider sends",
    503: "Could not be kept just now; the provider should retry",
}


def _callback(path: str, op: Operation, method: str) -> dict[str, Any]:
    """Document a provider callback: a slug of the registry, answers in its own form."""
    anything = {"*/*": {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        str(code): {"description": f"{text}; in the provider's own form",
                    "content": dict(anything)} for code, text in _CALLBACK_ANSWERS.items()}
    responses["404"]["content"]["application/problem+json"] = {
        "schema": {"$ref": "#/components/schemas/Problem"}}
    doc: dict[str, Any] = {
            "summary": op.summary, "operationId": _operation_id(path, op),
            "description": op.description, "tags": list(op.tags),
            "parameters": [
                {"name": "provider", "in": "path", "required": True,
                 "schema": {"type": "string", "enum": sorted(PROVIDERS)}},
                {"name": "token", "in": "path", "required": True,
                 "schema": {"type": "string"},
                 "description": "the secret of the account's callback_url"}],
            "responses": responses}
    if method != "get":  # a GET carries its record in the query string
        doc["requestBody"] = {"required": False, "content": {
            "*/*": {"schema": {"type": "string", "format": "binary"}}}}
    return doc


def _operation(path: str, op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "operationId": _operation_id(path, op)}
    if op.description:
        doc["description"] = op.description
    if op.tags:
        doc["tags"] = list(op.tags)
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", path)]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query",
                           "required": name in schema.get("required", []),
                           "schema": {k: v for k, v in prop.items() if k != "title"},
                           **({"description": prop["description"]}
                              if "description" in prop else {})})
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": {
            op.body_media: {"schema": _ref(op.body, schemas)}}}
    ok: dict[str, Any] = {"description": "Success"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(op.response, schemas)}}
    elif op.raw_response:
        ok["content"] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    responses: dict[str, Any] = {str(op.status): ok}
    # Other successes of the same answer model (a create that may find it stored).
    for code, description in op.extra_responses.items():
        responses[str(code)] = {**ok, "description": description}
    codes = set(op.errors)
    if op.auth != "public":
        codes |= {401}
        doc["security"] = ([{"tenant": []}, {"admin": []}] if op.auth == "any"
                           else [{op.auth: []}])
    if op.auth in ("tenant", "any"):
        codes |= {403, 429}  # a suspended tenant; a key over its rate limit
    if op.body is not None:
        codes |= {400, 413, 415, 422}
    if op.query is not None:
        codes |= {422}
    if "{" in path:
        codes |= {404}
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERRORS.get(code, "Error"), "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    doc["responses"] = responses
    return doc


# The Standard Webhooks headers every relayed request carries.
_WEBHOOK_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "the delivery's id, the same on every retry: dedupe on it"},
    {"name": "webhook-timestamp", "in": "header", "required": True,
     "schema": {"type": "string"}, "description": "seconds since 1970 when it was signed"},
    {"name": "webhook-signature", "in": "header", "required": True,
     "schema": {"type": "string"},
     "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated "
                    "when two secrets sign during a rotation"},
]


def _webhook(info: EventTypeInfo, schemas: dict[str, Any]) -> dict[str, Any]:
    event = _ref(OperationalEvent if info.operational else Event, schemas)
    words = re.sub(r"[^a-z0-9]+", " ", info.type).split()
    who = ("Sent only to endpoints whose `event_types` name it" if info.operational
           else "Sent to endpoints whose `event_types` include it (or are empty)")
    return {"post": {
        "summary": f"{info.type} event",
        "description": f"{info.description} {who}; a JSON array of events when the "
                       f"endpoint's `batch_size` is above 1.",
        "operationId": "".join(w.title() for w in words) + "Event",
        "parameters": _WEBHOOK_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [event, {"type": "array", "items": event}]},
            "example": info.example}}},
        "responses": {"2XX": {"description": "received; any other answer (or none within "
                                             "the endpoint's timeout) is retried"}},
    }}


def _operation_id(path: str, op: Operation) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", op.summary.lower()).split()
    return "".join(w if i == 0 else w.title() for i, w in enumerate(words))


_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "field": {"type": "string", "description": "the invalid field, on 422"},
    },
    "required": ["type", "title", "status"],
}


class OpenAPIResource:
    """Serve the document at ``/openapi.json``; it is given once every route is known."""

    def __init__(self) -> None:
        self._body = b"{}"

    def publish(self, document: dict[str, Any]) -> None:
        """Set the document to serve."""
        self._body = orjson.dumps(document)

    @operation("Describe this API", auth="public", tag="meta")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the OpenAPI 3.1 document."""
        resp.content_type = "application/json"
        resp.data = self._body
