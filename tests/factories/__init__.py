"""factory-boy factories, one per domain object, writing through the test's session.

They flush, so that the rows are in the test's transaction (rolled back at its end);
bound with ``commit=True`` (a test marked ``commits``, the end-to-end stack) they commit,
for the other processes to read.
"""

from __future__ import annotations

from typing import Any

import factory
from sqlmodel import Session

from dlrhub.models import AccountCreate, InboundCallback, ProviderAccount, Receipt, Tenant, utcnow
from dlrhub.services.accounts import NewAccount, create_account
from dlrhub.services.crypto import SecretBox
from dlrhub.services.simulate import build_callback

_bound: dict[str, Any] = {}


def bind_session(session: Session, box: SecretBox, *, commit: bool = False) -> None:
    """Make the factories write through ``session`` and encrypt with ``box``.

    ``commit``: commit each object made, not only flush it.
    """
    _bound["session"] = session
    _bound["box"] = box
    _bound["commit"] = commit


def _save(session: Session) -> None:
    session.flush()
    if _bound["commit"]:
        session.commit()


class TenantFactory(factory.Factory):  # type: ignore[misc]
    """A stored tenant."""

    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"tenant {n}")

    @classmethod
    def _create(cls, model_class: type[Tenant], *args: Any, **kwargs: Any) -> Tenant:
        session: Session = _bound["session"]
        tenant = model_class(*args, **kwargs)
        session.add(tenant)
        _save(session)
        return tenant


class AccountFactory(factory.Factory):  # type: ignore[misc]
    """A stored provider account, made the way the product makes one."""

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
        tenant_id = kwargs.pop("tenant_id")
        new = create_account(session, _bound["box"], tenant_id=tenant_id,
                             spec=AccountCreate(**kwargs))
        _save(session)
        return new


class _Stored(factory.Factory):  # type: ignore[misc]
    """A row added through the bound session and stored."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type[Any], *args: Any, **kwargs: Any) -> Any:
        session: Session = _bound["session"]
        kwargs.pop("account", None)
        row = model_class(*args, **kwargs)
        session.add(row)
        _save(session)
        return row

    @classmethod
    def _build(cls, model_class: type[Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("account", None)
        return model_class(*args, **kwargs)


def _simulated_body(o: Any) -> bytes:
    return build_callback(o.provider, "http://localhost/cb", seq=o.seq, batch=o.records,
                          kind="status", credentials={}).body


class InboundCallbackFactory(_Stored):
    """A pending inbox row as the API keeps it: a simulated callback of its provider.

    ``account`` (a ProviderAccount, made by AccountFactory unless given) sets the
    tenant, account and provider; ``records`` and ``seq`` shape the simulated body.
    """

    class Meta:
        model = InboundCallback

    class Params:
        records = 1
        seq = factory.Sequence(lambda n: n)

    account: ProviderAccount = factory.LazyFunction(lambda: AccountFactory().account)
    tenant_id = factory.LazyAttribute(lambda o: o.account.tenant_id)
    account_id = factory.LazyAttribute(lambda o: o.account.id)
    provider = factory.LazyAttribute(lambda o: o.account.provider)
    content_type = "application/json"
    body = factory.LazyAttribute(_simulated_body)
    received_at = factory.LazyFunction(utcnow)


class ReceiptFactory(_Stored):
    """A stored delivery receipt of ``account`` (made by AccountFactory unless given)."""

    class Meta:
        model = Receipt

    account: ProviderAccount = factory.LazyFunction(lambda: AccountFactory().account)
    tenant_id = factory.LazyAttribute(lambda o: o.account.tenant_id)
    account_id = factory.LazyAttribute(lambda o: o.account.id)
    provider = factory.LazyAttribute(lambda o: o.account.provider)
    inbox_id = "inb_factory"
    type = "sms.status"
    status = "delivered"
    message_id = factory.Sequence(lambda n: f"msg-{n}")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    received_at = factory.LazyFunction(utcnow)
    dedupe_key = factory.Sequence(lambda n: f"key-{n}")
