"""``/console/alerts``: alert rules — where each stands, create, edit, delete, and the
``sms.alert`` events each emitted. The same services as ``/v1/alert-rules``."""

from __future__ import annotations

from typing import Any

import falcon
from pydantic import ValidationError

from dlrhub.console.forms import number, refusal
from dlrhub.console.web import PREFIX, Accepts, ConsoleError, Ctx, Shows
from dlrhub.core.vocabulary import ReasonClass
from dlrhub.models import AlertKind, AlertRule, AlertRuleCreate, AlertRuleUpdate
from dlrhub.models.alert import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS
from dlrhub.services import accounts
from dlrhub.services.alerts import history, rules
from dlrhub.services.errors import InvalidInput

PAGE = 50
HISTORY = 50
SCOPE = ("account_id", "provider", "carrier", "country")
DEFAULTS = {"kind": AlertKind.delivery_rate_below.value, "threshold": "0.9",
            "window_seconds": "3600", "min_messages": "20", "enabled": "1"}


def _whole(fields: dict[str, str], name: str) -> int | None:
    value = number(fields, name)
    if value is None:
        return None
    if value != int(value):
        raise InvalidInput(name, "must be a whole number")
    return int(value)


def spec_of(fields: dict[str, str], *, with_kind: bool) -> dict[str, Any]:
    """Return the API's body of a rule form: blank fields are left out, numbers read."""
    body: dict[str, Any] = {"description": fields.get("description", "").strip(),
                            "enabled": bool(fields.get("enabled")),
                            "reason_class": fields.get("reason_class", "").strip() or None,
                            "scope": {k: v.strip() for k in SCOPE
                                      if (v := fields.get(f"scope.{k}", "")).strip()}}
    if with_kind:
        body["kind"] = fields.get("kind", "").strip()
    threshold = number(fields, "threshold")
    if threshold is not None:
        body["threshold"] = threshold
    for name in ("window_seconds", "min_messages"):
        value = _whole(fields, name)
        if value is not None:
            body[name] = value
    return body


def given_of(rule: AlertRule) -> dict[str, str]:
    """Return a rule's settings as the edit form shows them."""
    given = {"kind": str(rule.kind), "threshold": f"{rule.threshold:g}",
             "window_seconds": str(rule.window_seconds),
             "min_messages": str(rule.min_messages), "reason_class": rule.reason_class or "",
             "description": rule.description, "enabled": "1" if rule.enabled else ""}
    given.update({f"scope.{k}": str(v) for k, v in rule.scope.items() if v})
    return given


def _choices(ctx: Ctx, console: Any) -> dict[str, Any]:
    with console.sessions() as session:
        listed, _ = accounts.list_accounts(session, tenant_id=ctx.tenant_id, limit=100)
    return {"kinds": [k.value for k in AlertKind], "accounts": listed,
            "reason_classes": [r.value for r in ReasonClass],
            "min_window": MIN_WINDOW_SECONDS, "max_window": MAX_WINDOW_SECONDS,
            "shares": {k.value for k in rules.SHARES}}


class Alerts(Shows):
    """``GET /console/alerts``: the tenant's rules, newest first, and where each stands."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List a page of rules."""
        after = req.get_param("after") or None
        with self.console.sessions() as session:
            rows, cursor = rules.list_rules(session, tenant_id=ctx.tenant_id, limit=PAGE,
                                            after=after)
        self.console.render(resp, ctx, "alerts.html", rules=rows, cursor=cursor,
                            shares={k.value for k in rules.SHARES},
                            deleted=bool(req.get_param("deleted")))


class NewAlert(Shows, Accepts):
    """``/console/alerts/new``: the form of a new rule."""

    audit = "alert_rule.create"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the form with the defaults (the kind chosen by ``?kind=`` if given)."""
        given = dict(DEFAULTS)
        kind = req.get_param("kind")
        if kind in {k.value for k in AlertKind}:
            given["kind"] = kind
        self._form(resp, ctx, given, None)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Create the rule and open it; show the form again with what is wrong."""
        try:
            spec = AlertRuleCreate.model_validate(spec_of(fields, with_kind=True))
            with self.console.sessions() as session:
                rule = rules.create_rule(session, tenant_id=ctx.tenant_id, spec=spec)
                session.commit()
                rule_id = rule.id
        except (ValidationError, InvalidInput) as ex:
            self._form(resp, ctx, fields, refusal(ex), status=400)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/alerts/{rule_id}?created=1")

    def _form(self, resp: falcon.Response, ctx: Ctx, given: dict[str, str],
              error: str | None, status: int = 200) -> None:
        self.console.render(resp, ctx, "alert_new.html", status=status, given=given,
                            error=error, choices=_choices(ctx, self.console))


class AlertPage(Shows, Accepts):
    """``/console/alerts/{rule_id}``: the rule, its history and its edit form."""

    audit = "alert_rule.update"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the rule, where it stands and the events it emitted."""
        notice = next((n for n in ("created", "saved") if req.get_param(n)), None)
        self._page(resp, ctx, params["rule_id"], notice=notice)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Save the edit form (every field it shows; the kind stays)."""
        rule_id = params["rule_id"]
        try:
            spec = AlertRuleUpdate.model_validate(spec_of(fields, with_kind=False))
            with self.console.sessions() as session:
                rules.update_rule(session, tenant_id=ctx.tenant_id, rule_id=rule_id,
                                  spec=spec)
                session.commit()
        except (ValidationError, InvalidInput) as ex:
            self._page(resp, ctx, rule_id, status=400, error=refusal(ex), given=fields)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/alerts/{rule_id}?saved=1")

    def _page(self, resp: falcon.Response, ctx: Ctx, rule_id: str, *, status: int = 200,
              **values: Any) -> None:
        with self.console.sessions() as session:
            rule = rules.get_rule(session, tenant_id=ctx.tenant_id, rule_id=rule_id)
            events = history.rule_history(session, tenant_id=ctx.tenant_id,
                                          rule_id=rule_id, limit=HISTORY)
        values.setdefault("given", given_of(rule))
        self.console.render(resp, ctx, "alert.html", status=status, rule=rule,
                            events=events, choices=_choices(ctx, self.console),
                            **{"notice": None, "error": None, **values})


class AlertDelete(Accepts):
    """``POST /console/alerts/{rule_id}/delete``: only with its confirmation box ticked."""

    audit = "alert_rule.delete"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Delete the rule; its events stay with the receipts."""
        with self.console.sessions() as session:
            rules.get_rule(session, tenant_id=ctx.tenant_id, rule_id=params["rule_id"])
            if not fields.get("confirm"):
                raise ConsoleError(400, "error.bad_input",
                                   detail="confirm: tick the box to delete the rule")
            rules.delete_rule(session, tenant_id=ctx.tenant_id, rule_id=params["rule_id"])
            session.commit()
        raise falcon.HTTPSeeOther(f"{PREFIX}/alerts?deleted=1")
