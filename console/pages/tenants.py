"""``/console/tenants``: the admin's list of tenants."""

from __future__ import annotations

import falcon

from dlrhub.console.web import Ctx, Shows
from dlrhub.services import tenancy


class Tenants(Shows):
    """``GET /console/tenants``."""

    role = "admin"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List the tenants, newest first, a page at a time."""
        after = req.get_param("after") or None
        with self.console.sessions() as session:
            rows, cursor = tenancy.list_tenants(session, limit=50, after=after)
        self.console.render(resp, ctx, "tenants.html", tenants=rows, cursor=cursor)
