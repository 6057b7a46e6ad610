"""/openapi.json is valid OpenAPI 3.1, covers every route, and no documented call gives 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import falcon.inspect
import falcon.testing
import orjson
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.models import DeliveryStatus, EventType, InboxState, ReceiptStatus
from dlrhub.services.keys import create_key
from dlrhub.services.runtime import Runtime
from tests.conftest import truncate
from tests.factories import AccountFactory, bind_session

ADMIN_TOKEN = "test-admin-token"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """A stream of one line: the schema of `POST /v1/expectations/bulk` is a line's."""
    return orjson.dumps(value) + b"\n"


@contextmanager
def build_app(url: str, data_dir: Path
              ) -> Iterator[tuple[falcon.App[Any, Any], dict[str, str]]]:
    """Yield the real app on ``url`` and the headers of a tenant holding one account."""
    rt = Runtime.build(Settings(data_dir=data_dir, database_url=url,
                                secret_key="k", admin_token=ADMIN_TOKEN))
    truncate(rt.engine)
    session = rt.sessions()
    bind_session(session, rt.box, commit=True)
    account = AccountFactory(provider="tencent")
    key = create_key(session, tenant_id=account.account.tenant_id, name="fuzz")
    session.commit()
    session.close()
    try:
        yield create_app(rt.settings, runtime=rt), {"Authorization": f"Bearer {key.key}"}
    finally:
        rt.close()  # an engine left to the garbage collector warns on Python 3.13


def test_the_document_is_valid_openapi_3_1_and_covers_every_route(
        sqlite_url: str, tmp_path: Path) -> None:
    with build_app(sqlite_url, tmp_path) as (app, _):
        doc = falcon.testing.TestClient(app).simulate_get("/openapi.json").json
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    # Each vocabulary is one enum, and every field that takes it points at it.
    schemas = doc["components"]["schemas"]
    for vocabulary in (ReceiptStatus, EventType, InboxState, DeliveryStatus):
        assert schemas[vocabulary.__name__]["enum"] == [v.value for v in vocabulary]
    assert schemas["Event"]["properties"]["status"] == {
        "$ref": "#/components/schemas/ReceiptStatus"}
    assert schemas["EndpointPublic"]["properties"]["statuses"]["items"] == {
        "$ref": "#/components/schemas/ReceiptStatus"}
    for route in falcon.inspect.inspect_routes(app):
        if route.path.startswith("/console"):  # the console's HTML pages, not the API
            continue
        for method in route.methods:
            if method.method in ("OPTIONS",) or method.internal:
                continue
            assert method.method.lower() in doc["paths"].get(route.path, {}), (
                f"{method.method} {route.path} is served but not documented")


def test_no_documented_call_answers_a_server_error(sqlite_url: str, tmp_path: Path) -> None:
    """Fuzz every operation of the document with schemathesis, as admin or tenant."""
    with build_app(sqlite_url, tmp_path) as (app, tenant_headers):
        schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            fuzz(operation, tenant_headers)


def fuzz(operation: Any, tenant_headers: dict[str, str]) -> None:
    """Run one operation's generated cases with the credentials it declares."""
    security = operation.definition.raw.get("security") or [{}]
    scheme = next(iter(security[0]), None)
    headers = ({"Authorization": f"Bearer {ADMIN_TOKEN}"} if scheme == "admin"
               else tenant_headers if scheme == "tenant" else {})
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    if not operation.path.startswith("/v1/callbacks"):  # providers' own answer forms
        checks.append(response_schema_conformance)

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    call()


def test_the_document_names_its_server_and_describes_every_event_relayed(
        sqlite_url: str, tmp_path: Path) -> None:
    with build_app(sqlite_url, tmp_path) as (app, tenant_headers):
        client = falcon.testing.TestClient(app)
        doc = client.simulate_get("/openapi.json").json
        listed = client.simulate_get("/v1/event-types", headers=tenant_headers)
    assert doc["servers"] == [{"url": "http://127.0.0.1:8000"}]
    assert set(doc["webhooks"]) == {t.value for t in EventType}
    status = doc["webhooks"]["sms.status"]["post"]
    assert {p["name"] for p in status["parameters"]} == {
        "webhook-id", "webhook-timestamp", "webhook-signature"}
    body = status["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"][0] == {"$ref": "#/components/schemas/Event"}
    assert listed.status_code == 200
    assert [e["type"] for e in listed.json["data"]] == [t.value for t in EventType]
    assert body["example"] == listed.json["data"][0]["example"]


def test_callbacks_are_documented_as_answered_in_the_providers_form(
        sqlite_url: str, tmp_path: Path) -> None:
    with build_app(sqlite_url, tmp_path) as (app, _):
        doc = falcon.testing.TestClient(app).simulate_get("/openapi.json").json
    callback = doc["paths"]["/v1/callbacks/{provider}/{token}"]
    post, get = callback["post"], callback["get"]
    assert "tencent" in post["parameters"][0]["schema"]["enum"]
    assert set(post["responses"]["404"]["content"]) == {"*/*", "application/problem+json"}
    assert set(post["responses"]["401"]["content"]) == {"*/*"}
    assert "requestBody" in post
    assert "requestBody" not in get
    stats_since = next(p for p in doc["paths"]["/v1/stats"]["get"]["parameters"]
                       if p["name"] == "since")
    assert "31 days" in stats_since["description"]
    receipts_provider = next(p for p in doc["paths"]["/v1/receipts"]["get"]["parameters"]
                             if p["name"] == "provider")
    assert "tencent" in str(receipts_provider["schema"])
