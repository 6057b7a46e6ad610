"""Console sign-in: sessions kept server-side, by the SHA-256 of their id.

A browser holds only the session id (an HttpOnly cookie), never the key it signed in
with. A tenant's session is checked against its key on every request through the same
``KeyDirectory`` the API authenticates with, so revoking the key or suspending the
tenant ends it at once; an admin's session ends when the admin token changes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from dlrhub.models import CONSOLE_SESSION_TABLE, ConsoleSession
from dlrhub.services.crypto import new_token, token_hash
from dlrhub.services.keys import KeyDirectory

ADMIN = "admin"
TENANT = "tenant"


@dataclass(frozen=True)
class Viewer:
    """Who a console session belongs to."""

    role: str
    tenant_id: str | None
    tenant_name: str = ""
    # The API key a tenant signed in with: the audit trail's actor (never the key).
    key_id: str | None = None

    @property
    def admin(self) -> bool:
        """Tell whether the viewer signed in with the admin token."""
        return self.role == ADMIN


def sign_in(session: Session, keys: KeyDirectory, *, key: str, admin_token: str | None,
            lifetime: timedelta, now: datetime) -> str | None:
    """Open a session for a tenant key or the admin token; return its id, or ``None``.

    ``None`` means the key is unknown, revoked or its tenant suspended, as for the API.
    """
    key = key.strip()
    if not key:
        return None
    record: ConsoleSession
    if admin_token and hmac.compare_digest(key.encode(), admin_token.encode()):
        record = ConsoleSession(id_hash="", role=ADMIN, admin_hash=token_hash(admin_token),
                                expires_at=now + lifetime)
    else:
        principal = keys.authenticate(key)
        if principal is None or principal.suspended:
            return None
        record = ConsoleSession(id_hash="", role=TENANT, tenant_id=principal.tenant_id,
                                key_id=principal.key_id, expires_at=now + lifetime)
    # Sessions nobody used again until they expired go as new ones come.
    table = CONSOLE_SESSION_TABLE
    session.execute(delete(table).where(table.c.expires_at <= now))
    session_id = new_token("", 32)
    record.id_hash = token_hash(session_id)
    record.created_at = now
    session.add(record)
    session.flush()
    return session_id


def viewer_of(session: Session, keys: KeyDirectory, *, session_id: str,
              admin_token: str | None, now: datetime) -> Viewer | None:
    """Return who a live session belongs to, or ``None``.

    A session that has expired, whose key was revoked, whose tenant was suspended or
    whose admin token changed is deleted here (the caller commits): it has ended, and
    resuming the tenant later does not bring it back.
    """
    if not session_id:
        return None
    record = session.get(ConsoleSession, token_hash(session_id))
    if record is None:
        return None
    viewer = _still_valid(record, keys, admin_token, now)
    if viewer is None:
        session.delete(record)
        session.flush()
    return viewer


def _still_valid(record: ConsoleSession, keys: KeyDirectory, admin_token: str | None,
                 now: datetime) -> Viewer | None:
    if record.expires_at <= now:
        return None
    if record.role == ADMIN:
        if not admin_token or not record.admin_hash or not hmac.compare_digest(
                record.admin_hash, token_hash(admin_token)):
            return None
        return Viewer(ADMIN, None)
    principal = keys.principal_of(record.key_id or "")
    if principal is None or principal.suspended or principal.tenant_id != record.tenant_id:
        return None
    return Viewer(TENANT, principal.tenant_id, principal.tenant_name, principal.key_id)


def sign_out(session: Session, *, session_id: str) -> None:
    """End a session (ending an unknown one is harmless)."""
    table = CONSOLE_SESSION_TABLE
    session.execute(delete(table).where(table.c.id_hash == token_hash(session_id)))


def csrf_token(secret_key: str, anchor: str) -> str:
    """Return the CSRF token of a form shown to the holder of ``anchor``.

    ``anchor`` is the session id (or, before sign-in, a random cookie of the login
    form): a cross-site page can neither read it nor compute the token.
    """
    return hmac.new(secret_key.encode(), b"csrf:" + anchor.encode(),
                    hashlib.sha256).hexdigest()


def csrf_ok(secret_key: str, anchor: str, given: str) -> bool:
    """Tell whether ``given`` is the CSRF token of ``anchor``."""
    if not anchor or not given:
        return False
    return hmac.compare_digest(csrf_token(secret_key, anchor), given)
