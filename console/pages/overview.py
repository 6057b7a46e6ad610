"""``/console/overview``: the last 24 hours or 7 days of a tenant at a glance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import falcon

from dlrhub.console.formats import Formats, as_utc
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
    """Return the chart's data: every hour of the range (in the viewer's zone, empty ones
    at zero) and a series per status."""
    by_hour = {as_utc(h["hour"]): h for h in view.hours}
    hours = []
    at = view.since
    while at < view.until:
        hours.append(at)
        at += timedelta(hours=1)
    labels = [fmt.local(h, "%m-%d %H:00") for h in hours]
    series = [{"status": s, "label": fmt.v(s),
               "data": [by_hour.get(h, {}).get(s, 0) for h in hours]} for s in CHART_STATUSES]
    return {"labels": labels, "series": series}
