"""``/console/overview``: the last 24 hours or 7 days of a tenant at a glance."""

from __future__ import annotations

from typing import Any

import falcon

from dlrhub.console.formats import Formats
from dlrhub.console.web import Ctx, Shows
from dlrhub.models import utcnow
from dlrhub.services.overview import CHART_STATUSES, RANGES, Overview, tenant_overview


class OverviewPage(Shows):
    """``GET /console/overview?range=24h|7d``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Render the overview of the chosen range."""
        chosen = req.get_param("range") or "24h"
        if chosen not in RANGES:
            chosen = "24h"
        with self.console.sessions() as session:
            view = tenant_overview(session, self.console.box, tenant_id=ctx.tenant_id,
                                   public_url=self.console.settings.effective_public_url,
                                   span=RANGES[chosen], now=utcnow())
        self.console.render(resp, ctx, "overview.html", view=view, chosen=chosen,
                            ranges=list(RANGES), chart=chart(view, Formats(ctx.lang, ctx.tz)))


def chart(view: Overview, fmt: Formats) -> dict[str, Any]:
    """Return the chart's data: hour labels in the viewer's zone, a series per status."""
    labels = [fmt.local(h["hour"], "%m-%d %H:00") for h in view.hours]
    series = [{"status": s, "label": fmt.v(s), "data": [h.get(s, 0) for h in view.hours]}
              for s in CHART_STATUSES]
    return {"labels": labels, "series": series}
