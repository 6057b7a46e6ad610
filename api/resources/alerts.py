"""Tenant routes: ``/v1/alert-rules[/{rule_id}]``."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_json, read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.alerts import (
    AlertEventList,
    AlertEventQuery,
    AlertRuleCreate,
    AlertRulePage,
    AlertRulePublic,
    AlertRuleUpdate,
)
from dlrhub.api.schemas.common import PageQuery
from dlrhub.services.alerts import history, rules

Sessions = Callable[[], Session]


class _Base:
    def __init__(self, sessions: Sessions, max_body: int) -> None:
        self._sessions = sessions
        self._max_body = max_body


class AlertRules(_Base):
    """``/v1/alert-rules``."""

    @operation("Create an alert rule", audit="alert_rule.create",
               auth="tenant", body=AlertRuleCreate,
               response=AlertRulePublic, status=201, tag="alerts",
               description="Evaluated at least every minute; each time it starts firing "
               "and each time it clears, one `sms.alert` event is stored and relayed.")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a rule."""
        spec = read_json(req, AlertRuleCreate, self._max_body)
        with self._sessions() as session:
            rule = rules.create_rule(session, tenant_id=req.context.tenant_id, spec=spec)
            session.commit()
            write(resp, AlertRulePublic.model_validate(rule), 201)

    @operation("List alert rules", auth="tenant", query=PageQuery, response=AlertRulePage,
               tag="alerts")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's rules, newest first, with where each stands."""
        query = read_query(req, PageQuery)
        with self._sessions() as session:
            rows, cursor = rules.list_rules(session, tenant_id=req.context.tenant_id,
                                            limit=query.limit, after=query.after)
            write(resp, AlertRulePage(data=[AlertRulePublic.model_validate(r) for r in rows],
                                      next=cursor))


class AlertRuleItem(_Base):
    """``/v1/alert-rules/{rule_id}``."""

    @operation("Read an alert rule", auth="tenant", response=AlertRulePublic, tag="alerts")
    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: str) -> None:
        """Return one rule and where it stands."""
        with self._sessions() as session:
            rule = rules.get_rule(session, tenant_id=req.context.tenant_id, rule_id=rule_id)
            write(resp, AlertRulePublic.model_validate(rule))

    @operation("Update an alert rule", audit="alert_rule.update",
               auth="tenant", body=AlertRuleUpdate,
               response=AlertRulePublic, tag="alerts",
               description="Changes only the fields sent. A firing rule keeps firing until "
               "the next evaluation, with the new settings, says it cleared; disabling it "
               "resolves it.")
    def on_patch(self, req: falcon.Request, resp: falcon.Response, rule_id: str) -> None:
        """Change a rule."""
        spec = read_json(req, AlertRuleUpdate, self._max_body)
        with self._sessions() as session:
            rule = rules.update_rule(session, tenant_id=req.context.tenant_id,
                                     rule_id=rule_id, spec=spec)
            session.commit()
            write(resp, AlertRulePublic.model_validate(rule))

    @operation("Delete an alert rule", audit="alert_rule.delete",
               auth="tenant", status=204, tag="alerts")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, rule_id: str) -> None:
        """Delete a rule; the events it emitted stay."""
        with self._sessions() as session:
            rules.delete_rule(session, tenant_id=req.context.tenant_id, rule_id=rule_id)
            session.commit()
        resp.status = 204


class AlertRuleEvents(_Base):
    """``/v1/alert-rules/{rule_id}/events``."""

    @operation("A rule's firing history", auth="tenant", query=AlertEventQuery,
               response=AlertEventList, tag="alerts",
               description="The `sms.alert` events the rule emitted, newest first: each "
               "time it started firing and each time it cleared.")
    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: str) -> None:
        """Return the rule's latest events."""
        query = read_query(req, AlertEventQuery)
        with self._sessions() as session:
            events = history.rule_history(session, tenant_id=req.context.tenant_id,
                                          rule_id=rule_id, limit=query.limit)
        write(resp, AlertEventList.model_validate({"data": [vars(e) for e in events]}))
