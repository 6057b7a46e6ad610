"""factory-boy factories, one per domain object, writing through the test's session."""

from __future__ import annotations

from typing import Any

import factory
from sqlmodel import Session

from models import Tenant
from services.accounts import NewAccount, create_account
from services.crypto import SecretBox

_bound: dict[str, Any] = {}


def bind_session(session: Session, box: SecretBox) -> None:
    """Make the factories write through ``session`` and encrypt with ``box``."""
    _bound["session"] = session
    _bound["box"] = box


class TenantFactory(factory.Factory):  # type: ignore[misc]
    """A committed tenant."""

    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"tenant {n}")

    @classmethod
    def _create(cls, model_class: type[Tenant], *args: Any, **kwargs: Any) -> Tenant:
        session: Session = _bound["session"]
        tenant = model_class(*args, **kwargs)
        session.add(tenant)
        session.commit()
        return tenant


class AccountFactory(factory.Factory):  # type: ignore[misc]
    """A committed provider account, made the way the product makes one."""

    class Meta:
        model = NewAccount

    provider = "tencent"
    name = factory.LazyAttribute(lambda o: f"{o.provider} account")
    credentials: Any = None
    options: Any = None
    ip_allowlist: Any = None
    tenant_id = factory.LazyFunction(lambda: TenantFactory().id)

    @classmethod
    def _create(cls, model_class: type[NewAccount], *args: Any, **kwargs: Any) -> NewAccount:
        session: Session = _bound["session"]
        new = create_account(session, _bound["box"], **kwargs)
        session.commit()
        return new
