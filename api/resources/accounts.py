"""Tenant routes: ``/v1/accounts[/{account_id}[/rotate-token]]``."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_json, read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.accounts import (
    AccountCreate,
    AccountPage,
    AccountPublic,
    AccountQuery,
    AccountUpdate,
    RotateToken,
)
from dlrhub.models import ProviderAccount
from dlrhub.services import accounts
from dlrhub.services.crypto import SecretBox

Sessions = Callable[[], Session]


class _Base:
    def __init__(self, sessions: Sessions, box: SecretBox, public_url: str,
                 max_body: int) -> None:
        self._sessions = sessions
        self._box = box
        self._public_url = public_url
        self._max_body = max_body

    def _public(self, account: ProviderAccount) -> AccountPublic:
        return accounts.public_account(account, self._box, self._public_url)


class Accounts(_Base):
    """``/v1/accounts``."""

    @operation("Create a provider account", audit="account.create",
               auth="tenant", body=AccountCreate,
               response=AccountPublic, status=201, tag="accounts",
               description="Configure the answer's `callback_url` at the provider. "
               "Credentials are write-only: answers list their names, never their values.")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a provider account for the calling tenant."""
        body = read_json(req, AccountCreate, self._max_body)
        with self._sessions() as session:
            new = accounts.create_account(session, self._box,
                                          tenant_id=req.context.tenant_id, spec=body)
            session.commit()
            write(resp, self._public(new.account), 201)

    @operation("List provider accounts", auth="tenant", query=AccountQuery,
               response=AccountPage, tag="accounts")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's accounts, newest first."""
        query = read_query(req, AccountQuery)
        with self._sessions() as session:
            rows, cursor = accounts.list_accounts(
                session, tenant_id=req.context.tenant_id, limit=query.limit,
                after=query.after, provider=query.provider)
            write(resp, AccountPage(data=[self._public(r) for r in rows], next=cursor))


class Account(_Base):
    """``/v1/accounts/{account_id}``."""

    @operation("Read a provider account", auth="tenant", response=AccountPublic,
               tag="accounts")
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Return one of the tenant's accounts."""
        with self._sessions() as session:
            account = accounts.get_account(session, tenant_id=req.context.tenant_id,
                                           account_id=account_id)
            write(resp, self._public(account))

    @operation("Update a provider account", audit="account.update",
               auth="tenant", body=AccountUpdate,
               response=AccountPublic, tag="accounts",
               description="Absent fields stay as they are. `credentials`, `options` and "
               "`reason_overrides` replace the whole set; `null` clears `default_region`, "
               "`ip_allowlist`, `credentials`, `options` or `reason_overrides`. The "
               "provider cannot change.")
    def on_patch(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Change the given fields of one of the tenant's accounts."""
        # Only the fields the client sent change: an explicit null clears, an absent one keeps.
        body = read_json(req, AccountUpdate, self._max_body)
        with self._sessions() as session:
            account = accounts.update_account(
                session, self._box, tenant_id=req.context.tenant_id, account_id=account_id,
                spec=body)
            session.commit()
            write(resp, self._public(account))

    @operation("Delete a provider account", audit="account.delete",
               auth="tenant", status=204, tag="accounts",
               description="Its callback URL stops within seconds; its receipts are kept.")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Delete one of the tenant's accounts."""
        with self._sessions() as session:
            accounts.delete_account(session, tenant_id=req.context.tenant_id,
                                    account_id=account_id)
            session.commit()
        resp.status = 204


class AccountToken(_Base):
    """``/v1/accounts/{account_id}/rotate-token``."""

    @operation("Rotate a callback token", audit="account.rotate_token",
               auth="tenant", body=RotateToken,
               response=AccountPublic, tag="accounts",
               description="Issues a new `callback_url`; the previous one keeps working "
               "for `grace_seconds` (default one day, at most seven) so that the provider "
               "can be reconfigured. The body may be left out.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Give one of the tenant's accounts a new callback URL."""
        body = self._body(req)
        with self._sessions() as session:
            new = accounts.rotate_token(session, self._box, tenant_id=req.context.tenant_id,
                                        account_id=account_id,
                                        grace_seconds=body.grace_seconds)
            session.commit()
            write(resp, self._public(new.account))

    def _body(self, req: falcon.Request) -> RotateToken:
        # Every field has a default, so a bare POST is a rotation with the default grace.
        if not req.content_length and not req.content_type:
            return RotateToken()
        return read_json(req, RotateToken, self._max_body)
