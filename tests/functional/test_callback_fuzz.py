"""No body, header set or content type makes the callback endpoint answer 500."""

from __future__ import annotations

import falcon.testing
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from api.app import create_app
from config import Settings
from providers.registry import PROVIDERS
from services.runtime import Runtime
from tests.catalog import NETEASE_CREDS, NXCLOUD_CREDS, cases
from tests.factories import AccountFactory

CREDENTIALS = {"netease": NETEASE_CREDS, "nxcloud": NXCLOUD_CREDS,
               "huawei": {"access_key": "ak", "secret_key": "sk"}}
SAMPLES = [c.body for c in cases()]

content_types = st.sampled_from([
    "", "application/json", "application/json; charset=utf-8", "text/xml", "application/xml",
    "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
    "application/octet-stream", "*/*", ";;;", "application/json; charset=gbk",
])
header_names = st.sampled_from([
    "CurTime", "MD5", "CheckSum", "AppKey", "accessKey", "ts", "bizType", "action", "sign",
    "algorithm", "X-Sdk-Date", "Authorization", "X-Forwarded-For", "Content-Length",
])
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    st.integers(min_value=-(10**15), max_value=10**16).map(str),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(SAMPLES),
    st.sampled_from(SAMPLES).flatmap(
        lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda n: b[:n])),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                    inner, max_size=4),
        max_leaves=12,
    ).map(orjson.dumps),
)


@pytest.fixture
def endpoints(settings: Settings, runtime: Runtime) -> tuple[falcon.testing.TestClient,
                                                             dict[str, str]]:
    client = falcon.testing.TestClient(create_app(settings, runtime=runtime))
    urls = {}
    for name in PROVIDERS:
        new = AccountFactory(provider=name, credentials=CREDENTIALS.get(name))
        urls[name] = f"/v1/callbacks/{name}/{new.token}"
    return client, urls


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@hsettings(max_examples=300, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(provider=st.sampled_from(sorted(PROVIDERS)), body=bodies, content_type=content_types,
       headers=st.dictionaries(header_names, header_values, max_size=6))
def test_no_input_gets_a_server_error(
        endpoints: tuple[falcon.testing.TestClient, dict[str, str]], provider: str,
        body: bytes, content_type: str, headers: dict[str, str]) -> None:
    client, urls = endpoints
    headers = {k: v for k, v in headers.items() if k != "Content-Length"}
    if content_type:
        headers["Content-Type"] = content_type
    result = client.simulate_post(urls[provider], body=body, headers=headers)
    assert result.status_code < 500, (result.status_code, result.text)
