"""What every console page shares: who is viewing, in which language and time zone,
the CSRF check of every form, the error pages and the security headers.

A page is one handler class: ``Shows`` gives it ``GET`` (its ``show``), ``Accepts``
gives it ``POST`` (its ``accept``, after the CSRF token is checked). ``role`` says who
may see it: ``"tenant"``, ``"admin"``, ``"any"`` signed-in viewer, or ``None`` (public).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import falcon
import jinja2
from sqlalchemy import Engine
from sqlmodel import Session

from dlrhub.config import Settings
from dlrhub.console import i18n
from dlrhub.console.formats import Formats
from dlrhub.models import utcnow
from dlrhub.services import signin
from dlrhub.services.crypto import SecretBox, new_token
from dlrhub.services.errors import InvalidInput, NotFound, ServiceError
from dlrhub.services.keys import KeyDirectory
from dlrhub.services.signin_limit import SignInLimit

PREFIX = "/console"
SESSION_COOKIE = "dlrhub_session"
FORM_COOKIE = "dlrhub_form"  # the CSRF anchor of a browser not signed in yet
LANG_COOKIE = "dlrhub_lang"
TZ_COOKIE = "dlrhub_tz"
# Scripts and styles only from the console's own files: nothing inline runs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
ZONES = ("UTC", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore",
         "Asia/Tokyo", "Asia/Kolkata", "Asia/Dubai", "Europe/London", "Europe/Berlin",
         "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo",
         "Australia/Sydney")


@dataclass(frozen=True)
class NavItem:
    """One entry of the persistent navigation."""

    path: str
    label: str  # a catalogue key
    role: str  # who sees it: "tenant" or "admin"


# Adding a page: its handler module in pages/, its template, one line here, its labels.
NAV = (
    NavItem(f"{PREFIX}/overview", "nav.overview", "tenant"),
    NavItem(f"{PREFIX}/receipts", "nav.receipts", "tenant"),
    NavItem(f"{PREFIX}/tenants", "nav.tenants", "admin"),
    # --- provider accounts, endpoints, deliveries ---
    NavItem(f"{PREFIX}/accounts", "nav.accounts", "tenant"),
    NavItem(f"{PREFIX}/endpoints", "nav.endpoints", "tenant"),
    NavItem(f"{PREFIX}/deliveries", "nav.deliveries", "tenant"),
    # --- insight ---
    NavItem(f"{PREFIX}/analytics", "nav.analytics", "tenant"),
    NavItem(f"{PREFIX}/expectations", "nav.expectations", "tenant"),
    NavItem(f"{PREFIX}/alerts", "nav.alerts", "tenant"),
    # --- admin ---
    NavItem(f"{PREFIX}/system", "nav.system", "admin"),
)


class ConsoleError(Exception):
    """A page that cannot be shown: rendered as the error page with ``status``."""

    def __init__(self, status: int, message: str, **values: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.values = values


@dataclass
class Ctx:
    """One request's viewer, language, time zone and CSRF token."""

    lang: str
    tz: ZoneInfo
    viewer: signin.Viewer | None
    anchor: str
    csrf: str
    path: str
    secure: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        """Return the signed-in tenant's id (pages of role "tenant" only)."""
        if self.viewer is None or self.viewer.tenant_id is None:
            raise ConsoleError(403, "error.tenant_only")
        return self.viewer.tenant_id


@dataclass
class Console:
    """The console's parts, built once by ``app.mount``."""

    sessions: Callable[[], Session]
    keys: KeyDirectory
    box: SecretBox
    settings: Settings
    env: jinja2.Environment
    engine: Engine
    check_broker: Callable[[], None]  # connects to the broker or raises, as /readyz does
    clock: Callable[[], datetime] = utcnow

    # --- who is viewing ---

    def begin(self, req: falcon.Request, resp: falcon.Response, role: str | None) -> Ctx:
        """Return the request's context; redirect to sign-in or refuse by ``role``."""
        lang = i18n.choose(req.cookies.get(LANG_COOKIE), req.get_header("Accept-Language"))
        tz = zone(req.cookies.get(TZ_COOKIE)) or ZoneInfo("UTC")
        secure = req.forwarded_scheme == "https"
        sid = req.cookies.get(SESSION_COOKIE, "")
        viewer = None
        if sid:
            with self.sessions() as session:
                viewer = signin.viewer_of(session, self.keys, session_id=sid,
                                          admin_token=self.settings.admin_token,
                                          now=utcnow())
                session.commit()
        anchor = sid or req.cookies.get(FORM_COOKIE, "")
        if not anchor:
            anchor = new_token("", 24)
            resp.set_cookie(FORM_COOKIE, anchor, path=PREFIX, secure=secure, http_only=True,
                            same_site="Lax")
        ctx = Ctx(lang, tz, viewer, anchor, signin.csrf_token(self.settings.secret_key, anchor),
                  req.path, secure)
        req.context.console = ctx
        if role is None:
            return ctx
        if viewer is None:
            if sid:  # it expired, was signed out elsewhere, or its key was revoked
                self.forget_cookie(resp, ctx)
            raise falcon.HTTPSeeOther(f"{PREFIX}/login" + ("?ended=1" if sid else ""))
        if role == "admin" and not viewer.admin:
            raise ConsoleError(403, "error.admin_only")
        if role == "tenant" and viewer.admin:
            raise ConsoleError(403, "error.tenant_only")
        return ctx

    def keep_session(self, resp: falcon.Response, ctx: Ctx, session_id: str) -> None:
        """Give the browser its session cookie (the only thing it keeps)."""
        resp.set_cookie(SESSION_COOKIE, session_id, path=PREFIX, secure=ctx.secure,
                        http_only=True, same_site="Lax",
                        max_age=self.settings.console_session_seconds)

    def forget_cookie(self, resp: falcon.Response, ctx: Ctx) -> None:
        """Remove the session cookie from the browser."""
        resp.unset_cookie(SESSION_COOKIE, path=PREFIX)

    @property
    def lifetime(self) -> timedelta:
        """Return how long a sign-in lasts."""
        return timedelta(seconds=self.settings.console_session_seconds)

    @property
    def signin_limit(self) -> SignInLimit:
        """Return how many wrong keys an address may post to the sign-in form, and when."""
        return SignInLimit(self.settings.console_signin_attempts,
                           timedelta(seconds=self.settings.console_signin_window_seconds))

    # --- forms ---

    def form(self, req: falcon.Request, ctx: Ctx) -> dict[str, str]:
        """Return a POSTed form's fields; refuse it (403) without this viewer's CSRF token."""
        size = req.content_length or 0
        if size > self.settings.max_body_bytes:
            raise ConsoleError(413, "error.bad_input", detail="the form is too large")
        raw = req.bounded_stream.read(size) if size else b""
        try:
            parsed = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=100)
        except (UnicodeDecodeError, ValueError) as ex:
            raise ConsoleError(400, "error.bad_input", detail="the form is not readable") from ex
        fields = {name: values[-1] for name, values in parsed.items()}
        if not signin.csrf_ok(self.settings.secret_key, ctx.anchor,
                              fields.get("csrf_token", "")):
            raise ConsoleError(403, "error.csrf")
        # The audit trail names the fields a form set, never their values.
        req.context.body_fields = sorted(n for n in fields if n != "csrf_token")
        return fields

    # --- answers ---

    def render(self, resp: falcon.Response, ctx: Ctx, template: str, *,
               status: int = 200, **values: Any) -> None:
        """Answer with a page rendered from ``template`` in the viewer's language."""
        fmt = Formats(ctx.lang, ctx.tz)
        page = self.env.get_template(template).render(
            t=fmt.t, v=fmt.v, when=fmt.when, ms=fmt.ms, pct=fmt.pct, ctx=ctx,
            nav=[n for n in NAV if ctx.viewer and n.role == ctx.viewer.role],
            languages=i18n.NAMES, zones=_zones(ctx.tz), prefix=PREFIX, **values)
        resp.status = falcon.code_to_http_status(status)
        resp.content_type = "text/html; charset=utf-8"
        resp.text = page


@contextmanager
def shown_as_pages() -> Iterator[None]:
    """Turn the services' refusals into console error pages."""
    try:
        yield
    except NotFound as ex:
        raise ConsoleError(404, "error.not_found") from ex
    except InvalidInput as ex:
        raise ConsoleError(400, "error.bad_input", detail=str(ex)) from ex
    except ServiceError as ex:
        raise ConsoleError(409, "error.bad_input", detail=str(ex)) from ex


class Shows:
    """A page that answers ``GET`` with ``show``."""

    role: str | None = "tenant"

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        """Check the viewer, then show the page."""
        ctx = self.console.begin(req, resp, self.role)
        with shown_as_pages():
            self.show(ctx, req, resp, **params)

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Render the page."""
        raise NotImplementedError


class Accepts:
    """A page that answers ``POST`` with ``accept``, once its CSRF token is checked.

    ``audit`` names what a successful post changes (``endpoint.update``), for the audit
    trail (api/audit.py); ``None`` only for forms that change none of dlrhub's data.
    """

    role: str | None = "tenant"
    audit: str | None = ""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        """Check the viewer and the form's CSRF token, then act."""
        ctx = self.console.begin(req, resp, self.role)
        fields = self.console.form(req, ctx)
        with shown_as_pages():
            self.accept(ctx, req, resp, fields, **params)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Act on the form."""
        raise NotImplementedError


def begin_default(req: falcon.Request) -> Ctx:
    """Return a context for an error raised before the viewer was known."""
    lang = i18n.choose(req.cookies.get(LANG_COOKIE), req.get_header("Accept-Language"))
    return Ctx(lang, ZoneInfo("UTC"), None, "", "", req.path, False)


def zone(name: str | None) -> ZoneInfo | None:
    """Return the time zone of an IANA name, or ``None`` for no valid name."""
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zones(current: ZoneInfo) -> list[str]:
    return list(ZONES) if current.key in ZONES else [current.key, *ZONES]


def safe_next(value: str | None) -> str:
    """Return a console path to go back to, never another site."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//") \
            and "\\" not in value:
        return value
    return f"{PREFIX}/"


class SecurityHeaders:
    """Falcon middleware: the console's pages forbid framing and inline scripts."""

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        """Add the headers to every answer under ``/console``."""
        if req.path != PREFIX and not req.path.startswith(f"{PREFIX}/"):
            return
        resp.set_header("Content-Security-Policy", CSP)
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "same-origin")
        if not req.path.startswith(f"{PREFIX}/static/"):
            resp.set_header("Cache-Control", "no-store")
