"""A tenant's alert rules: create, read, update, delete, each checked as a whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from dlrhub.models import (
    ACCOUNT_TABLE,
    ALERT_RULE_TABLE,
    AlertKind,
    AlertRule,
    AlertRuleCreate,
    AlertRuleUpdate,
    AlertScope,
    utcnow,
)
from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.pagination import newest_by_id

# The kinds whose threshold is a share of messages, from 0 to 1.
SHARES = frozenset({AlertKind.delivery_rate_below, AlertKind.reason_share_above,
                    AlertKind.missing_share_above})

# What a rule always has: a PATCH may change these, not clear them.
_REQUIRED = ("threshold", "window_seconds", "min_messages", "description", "enabled")


def create_rule(session: Session, *, tenant_id: str, spec: AlertRuleCreate) -> AlertRule:
    """Create an alert rule; it is first evaluated at the next run."""
    if spec.threshold is None and spec.kind in SHARES:
        raise InvalidInput("threshold", f"is required by {spec.kind.value}")
    rule = AlertRule(tenant_id=tenant_id, kind=spec.kind, threshold=spec.threshold or 0.0,
                     window_seconds=spec.window_seconds, min_messages=spec.min_messages,
                     reason_class=spec.reason_class, scope=_scope(spec.scope),
                     description=spec.description, enabled=spec.enabled)
    check(session, rule)
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, *, tenant_id: str, rule_id: str,
                spec: AlertRuleUpdate) -> AlertRule:
    """Change a rule; a firing one keeps firing until an evaluation says otherwise."""
    rule = get_rule(session, tenant_id=tenant_id, rule_id=rule_id)
    changes: dict[str, Any] = spec.model_dump(exclude_unset=True)
    for name in _REQUIRED:
        if name in changes and changes[name] is None:
            raise InvalidInput(name, "must not be null")
    if "scope" in changes:
        changes["scope"] = _scope(spec.scope or AlertScope())
    for name, value in changes.items():
        setattr(rule, name, value)
    check(session, rule)
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    return rule


def check(session: Session, rule: AlertRule) -> None:
    """Raise ``InvalidInput`` naming the field where the rule as a whole makes no sense."""
    kind = AlertKind(rule.kind)
    if kind in SHARES and rule.threshold > 1:
        raise InvalidInput("threshold", "is a share of messages: between 0 and 1")
    if kind is AlertKind.reason_share_above and rule.reason_class is None:
        raise InvalidInput("reason_class", "is required by reason_share_above")
    if kind is not AlertKind.reason_share_above and rule.reason_class is not None:
        raise InvalidInput("reason_class", "is only used by reason_share_above")
    scope = rule.scope
    if kind is AlertKind.no_receipts_for and not scope.get("account_id"):
        raise InvalidInput("scope.account_id", "is required by no_receipts_for")
    if kind is AlertKind.missing_share_above:
        for name in ("carrier", "country"):
            if scope.get(name):
                # An expectation keeps its account and provider, not its number's carrier.
                raise InvalidInput(f"scope.{name}", "cannot scope missing_share_above")
    if scope.get("account_id"):
        table = ACCOUNT_TABLE
        found = session.execute(select(table.c.id).where(
            table.c.tenant_id == rule.tenant_id, table.c.id == scope["account_id"])).first()
        if found is None:
            raise InvalidInput("scope.account_id", "no such account")


def _scope(scope: AlertScope) -> dict[str, Any]:
    out = scope.model_dump(exclude_none=True)
    if "country" in out:
        out["country"] = out["country"].upper()
    return out


def get_rule(session: Session, *, tenant_id: str, rule_id: str) -> AlertRule:
    """Return one of the tenant's rules, or raise ``NotFound`` (also if not theirs)."""
    table = ALERT_RULE_TABLE
    rule: AlertRule | None = session.execute(select(AlertRule).where(
        table.c.tenant_id == tenant_id, table.c.id == rule_id)).scalars().first()
    if rule is None:
        raise NotFound(f"no alert rule {rule_id}")
    return rule


def list_rules(session: Session, *, tenant_id: str, limit: int = 50,
               after: str | None = None) -> tuple[list[AlertRule], str | None]:
    """Return the tenant's rules, newest first, and the next cursor."""
    table = ALERT_RULE_TABLE
    query = select(AlertRule).where(table.c.tenant_id == tenant_id)
    return newest_by_id(session, query, table.c.id, limit=limit, after=after)


def delete_rule(session: Session, *, tenant_id: str, rule_id: str) -> None:
    """Delete a rule; the events it emitted stay with the tenant's receipts."""
    session.delete(get_rule(session, tenant_id=tenant_id, rule_id=rule_id))
    session.flush()
