"""``/console/system``: the admin's view of the hub itself — database and broker, the
inbox and delivery backlogs, and when the workers were last seen at work."""

from __future__ import annotations

import falcon

from dlrhub.console.pages.endpoints import duration
from dlrhub.console.web import Ctx, Shows
from dlrhub.services import system


class SystemPage(Shows):
    """``GET /console/system``: the figures of /readyz and /metrics, and a little more."""

    role = "admin"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Read every figure now and show them."""
        status = system.system_status(self.console.engine, self.console.check_broker,
                                      self.console.clock())
        # 200 whatever it finds: the page works; /readyz is the check machines read.
        self.console.render(resp, ctx, "system.html", system=status,
                            dur=duration(ctx.lang))
