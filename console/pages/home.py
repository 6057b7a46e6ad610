"""``/console/``: where a viewer starts (sign-in, a tenant's overview, the admin's tenants)."""

from __future__ import annotations

import falcon

from dlrhub.console.web import PREFIX, Console, ConsoleError, Ctx, Shows


class Home(Shows):
    """``GET /console/``."""

    role = None

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Send the viewer to its first page."""
        if ctx.viewer is None:
            raise falcon.HTTPSeeOther(f"{PREFIX}/login")
        raise falcon.HTTPSeeOther(f"{PREFIX}/tenants" if ctx.viewer.admin
                                  else f"{PREFIX}/overview")


class Missing:
    """Any other path under ``/console/``: the console's own 404 page, not JSON."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        """Show the error page."""
        self.console.begin(req, resp, None)
        raise ConsoleError(404, "error.not_found")
