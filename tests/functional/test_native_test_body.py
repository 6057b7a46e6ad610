"""A native endpoint's test is its provider's callback, whatever the account can sign.

Only Telnyx holds a real account's private key, so the simulator cannot sign for it; the
endpoint gets the body and its content type only, so the test body is built with the
simulator's key, not refused with a 500.
"""

from __future__ import annotations

import orjson

from dlrhub.models import EndpointCreate, ProviderAccount, utcnow
from dlrhub.services.accounts import adapter_account
from dlrhub.services.endpoints import create_endpoint, native_test_body
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory

# A Telnyx account's own public key (not the simulator's): what a real tenant holds.
REAL_KEY = "Ka4ZrD2Nfh3u2JLFiLQX3AAUnqFWvvIEDI7q0z3l6Ss="


def test_a_real_telnyx_accounts_native_endpoint_gets_a_telnyx_event(runtime: Runtime) -> None:
    new = AccountFactory(provider="telnyx", credentials={"public_key": REAL_KEY})
    with runtime.sessions() as session:
        endpoint, _ = create_endpoint(
            session, runtime.box, tenant_id=new.account.tenant_id,
            spec=EndpointCreate(url="http://127.0.0.1:9/hook", format="native",
                                account_ids=[new.account.id]), allow_private=True)
        session.commit()
        body, content_type, provider = native_test_body(session, runtime.box, endpoint,
                                                        utcnow())
    assert (provider, content_type) == ("telnyx", "application/json")
    data = orjson.loads(body)["data"]
    assert data["event_type"] in ("message.sent", "message.finalized")
    # the account keeps its own key: the simulator's was not written back
    with runtime.sessions() as session:
        stored = session.get(ProviderAccount, new.account.id)
        assert stored is not None
        assert adapter_account(stored, runtime.box).credentials == {"public_key": REAL_KEY}
