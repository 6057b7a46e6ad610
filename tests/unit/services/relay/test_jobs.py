"""A job's request headers: the endpoint's own, never one that frames the request."""

from __future__ import annotations

from dlrhub.models import Endpoint, utcnow
from dlrhub.services.relay.jobs import signed_job
from dlrhub.services.relay.transport import signing


def test_an_endpoint_saved_with_a_framing_header_sends_its_other_headers_only() -> None:
    # Saved before such headers were refused: the relay frames each request itself.
    endpoint = Endpoint(tenant_id="ten_1", url="https://example.com/hook",
                        secret_encrypted="x", headers={"Transfer-Encoding": "chunked",
                                                       "connection": "close",
                                                       "X-Team": "sms"})
    job = signed_job(endpoint, [signing.new_secret()], "dlv_1", b"{}",
                     "application/json", utcnow())
    names = {name.lower() for name in job.headers}
    assert "x-team" in names
    assert not names & {"transfer-encoding", "connection"}
    assert {"webhook-id", "webhook-signature", "content-type"} <= names
