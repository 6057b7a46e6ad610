"""``/console/analytics``: the API's delivery analytics as a form, a chart and a table.

The form takes what ``GET /v1/analytics/delivery`` takes, is checked by the API's own
query schema, and is answered by the same service (``services.analytics.delivery``,
which reads the aggregate, never the receipts). The chart is a second, time-grouped
answer of the same query: delivery rate and handset latency by hour (by day beyond
three days).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import falcon

from dlrhub.console import i18n
from dlrhub.console.formats import Formats
from dlrhub.console.forms import local_time, refusal
from dlrhub.console.web import Ctx, Shows
from dlrhub.core.times import iso_z
from dlrhub.core.vocabulary import ReasonClass
from dlrhub.services import accounts, analytics
from dlrhub.services.analytics.plan import GROUP_KEYS
from dlrhub.services.errors import InvalidInput

# The filters and the longest value of each, as the API takes them.
FILTERS = {"provider": 40, "account_id": 40, "country": 2, "carrier": 40, "template": 200,
           "reason_class": 40}
REASONS = [r.value for r in ReasonClass]
MAX_ROWS = 500  # groups shown in the table; the rest: narrow the query
HOURLY_UP_TO = timedelta(days=3)  # the chart's buckets: hours up to this range, then days
MAX_FIELD = 200


def read_form(req: falcon.Request, ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the form as given (to show it again) and the service's query of it.

    Raises ``InvalidInput`` naming the field; the service checks the range, the keys and
    the zone as it does for the API.
    """
    given: dict[str, Any] = {"group_by": [], "tz": ctx.tz.key}
    raw: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for name in ("since", "until", "tz", *FILTERS):
        value = (req.get_param(name) or "").strip()
        longest = FILTERS.get(name, MAX_FIELD)
        if len(value) > longest:
            raise InvalidInput(name, f"at most {longest} characters")
        if name == "reason_class" and value and value not in REASONS:
            raise InvalidInput(name, "not a known reason class")
        if value:
            fields[name] = given[name] = value
    keys = [k.strip() for k in req.get_param_as_list("group_by") or [] if k.strip()]
    given["group_by"] = keys
    if keys:
        raw["group_by"] = ",".join(keys)
    for name in ("since", "until"):
        moment = local_time(fields, name, ctx.tz)
        if moment is not None:
            raw[name] = moment
    raw["tz"] = given["tz"]
    raw["filters"] = {k: fields.get(k) for k in FILTERS}
    return given, raw


def buckets(report: analytics.DeliveryReport, key: str) -> list[str]:
    """Return every bucket of the report's range: its UTC hours, or its days in its zone."""
    if key == "hour":
        hours, at = [], report.since
        while at < report.until:
            hours.append(iso_z(at))
            at += timedelta(hours=1)
        return hours
    zone = ZoneInfo(report.tz)
    day, last = report.since.astimezone(zone).date(), \
        (report.until - timedelta(seconds=1)).astimezone(zone).date()
    days = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def chart(report: analytics.DeliveryReport, key: str, fmt: Formats) -> dict[str, Any]:
    """Return the chart's series over every bucket of the range (null where no message
    was final): delivery rate (%) and handset latency (s).

    A latency series with no value at all (the providers of the range give no
    submission time) is left out, so that the legend names only lines that are drawn.
    """
    groups = {g[key]: g for g in report.data}
    keys = buckets(report, key)
    found = [groups.get(k) for k in keys]
    labels = [fmt.local(k, "%m-%d %H:00") if key == "hour" else k for k in keys]
    rate = [None if g is None or g["delivery_rate"] is None
            else round(g["delivery_rate"] * 100, 2) for g in found]
    latency = [{"label": fmt.t(f"analytics.handset_{p}"),
                "data": [None if g is None else g["handset_latency"][p] for g in found]}
               for p in ("p50", "p90")]
    return {"labels": labels,
            "rate": {"label": fmt.t("analytics.delivery_rate_pct"), "data": rate},
            "latency": [s for s in latency if any(v is not None for v in s["data"])],
            "rate_axis": fmt.t("analytics.rate_axis"),
            "latency_axis": fmt.t("analytics.latency_axis")}


def top_reasons(group: dict[str, Any], n: int = 3) -> list[tuple[str, int]]:
    """Return a group's ``n`` most frequent reason classes, most first."""
    reasons: dict[str, int] = group.get("reasons") or {}
    return sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:n]


def seconds(lang: str) -> Any:
    """Return how a duration in seconds reads in ``lang`` (— when unknown)."""

    def shown(value: float | None) -> str:
        if value is None:
            return i18n.t(lang, "none")
        if value < 10:
            return i18n.t(lang, "unit.s", n=f"{value:,.2f}")
        return i18n.t(lang, "unit.s", n=f"{value:,.0f}")

    return shown


class Analytics(Shows):
    """``GET /console/analytics[?since=…&until=…&group_by=…&tz=…&<filters>]``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Answer the form's query, or show the form again with what is wrong (400)."""
        with self.console.sessions() as session:
            listed, _ = accounts.list_accounts(session, tenant_id=ctx.tenant_id, limit=100)
        choices = {"group_by": list(GROUP_KEYS), "reason_class": [r.value for r in ReasonClass],
                   "accounts": listed,
                   "providers": sorted({a.provider for a in listed})}
        given: dict[str, Any] = {"group_by": [], "tz": ctx.tz.key}
        try:
            given, q = read_form(req, ctx)
            filters = q["filters"]
            with self.console.sessions() as session:
                report = analytics.delivery(session, tenant_id=ctx.tenant_id,
                                            since=q.get("since"), until=q.get("until"),
                                            group_by=q.get("group_by"), tz=q["tz"],
                                            filters=filters)
                key = "hour" if report.until - report.since <= HOURLY_UP_TO else "day"
                series = (report if report.group_by == [key] else analytics.delivery(
                    session, tenant_id=ctx.tenant_id, since=report.since,
                    until=report.until, group_by=key, tz=q["tz"], filters=filters))
        except InvalidInput as ex:
            self.console.render(resp, ctx, "analytics.html", status=400, error=refusal(ex),
                                given=given, choices=choices, report=None, chart=None,
                                rows=[], shown_keys=[], has_expected=False,
                                sec=seconds(ctx.lang), top_reasons=top_reasons,
                                max_rows=MAX_ROWS)
            return
        fmt = Formats(ctx.lang, ctx.tz)
        self.console.render(
            resp, ctx, "analytics.html", error=None, given=given, choices=choices,
            report=report, chart=chart(series, key, fmt) if report.data else None,
            rows=report.data[:MAX_ROWS], shown_keys=report.group_by,
            has_expected=any(g["expected"] for g in report.data), sec=seconds(ctx.lang),
            top_reasons=top_reasons, max_rows=MAX_ROWS)
