"""What the console's functional tests share: a browser-like client and a tenant's key.

The fixtures built on them (``console_tenant``, ``signed_in``) are in this folder's
conftest.py, so that every console test module has them without a module's own
``tenant`` fixture being shadowed.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import falcon.testing

from dlrhub.services.keys import create_key
from dlrhub.services.runtime import Runtime

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
XSS = "<script>alert('owned')</script>"


class Browser:
    """A test client that keeps cookies and reads forms' CSRF tokens, like a browser."""

    def __init__(self, client: falcon.testing.TestClient, *, address: str = "127.0.0.1",
                 **headers: str) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.headers = headers
        self.address = address  # the client address the app sees

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**self.headers, **({"Cookie": cookie} if cookie else {}), **(extra or {})}

    def _keep(self, result: falcon.testing.Result) -> falcon.testing.Result:
        for name, cookie in result.cookies.items():
            if cookie.value and (cookie.max_age is None or cookie.max_age > 0):
                self.cookies[name] = cookie.value
            else:
                self.cookies.pop(name, None)
        return result

    def get(self, path: str, **params: str) -> falcon.testing.Result:
        return self._keep(self.client.simulate_get(path, params=params or None,
                                                   headers=self._headers(),
                                                   remote_addr=self.address))

    def post(self, path: str, body: str, **headers: str) -> falcon.testing.Result:
        return self._keep(self.client.simulate_post(path, body=body,
                                                    headers=self._headers({**FORM, **headers}),
                                                    remote_addr=self.address))

    def csrf(self, path: str = "/console/login") -> str:
        page = self.get(path)
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def submit(self, path: str, page: str | None = None,
               **fields: str) -> falcon.testing.Result:
        """Post a form of ``page`` (default: ``path``) with its CSRF token."""
        return self.post(path, urlencode({**fields, "csrf_token": self.csrf(page or path)}))

    def sign_in(self, key: str) -> falcon.testing.Result:
        return self.post("/console/login", f"key={key}&csrf_token={self.csrf()}")


def tenant_key(runtime: Runtime, tenant_id: str) -> tuple[str, str]:
    with runtime.sessions() as session:
        new = create_key(session, tenant_id=tenant_id, name="console")
        session.commit()
    return new.key, new.record.id
