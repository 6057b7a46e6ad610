"""Sign-in, sign-out and the viewer's preferences (language, time zone)."""

from __future__ import annotations

import falcon

from dlrhub.console import i18n
from dlrhub.console.web import (
    LANG_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    TZ_COOKIE,
    Accepts,
    Ctx,
    Shows,
    safe_next,
    zone,
)
from dlrhub.services import signin, signin_limit

_YEAR = 365 * 24 * 3600


class Login(Shows, Accepts):
    """``/console/login``: a form of ``key`` and ``csrf_token``."""

    audit = None  # not a change of dlrhub's data
    role = None

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the form (or go in, when already signed in)."""
        if ctx.viewer is not None:
            raise falcon.HTTPSeeOther(f"{PREFIX}/")
        notice = "login.ended" if req.get_param("ended") else None
        self.console.render(resp, ctx, "login.html", error=None, notice=notice)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Open a session for a valid key and go in; show the form again otherwise.

        An address that posted too many wrong keys lately gets the form with a 429,
        whatever it posts now, until the window has passed.
        """
        console = self.console
        limit = console.signin_limit
        client = signin_limit.client_hash(console.settings.secret_key, req.remote_addr or "")
        now = console.clock()
        with console.sessions() as session:
            if signin_limit.blocked(session, limit, client=client, now=now):
                resp.set_header("Retry-After", str(int(limit.window.total_seconds())))
                console.render(resp, ctx, "login.html", status=429, error="login.limited",
                               notice=None, minutes=_minutes(limit.window.total_seconds()))
                return
            session_id = signin.sign_in(session, console.keys, key=fields.get("key", ""),
                                        admin_token=console.settings.admin_token,
                                        lifetime=console.lifetime, now=now)
            if session_id is None:
                signin_limit.record_failure(session, limit, client=client, now=now)
            session.commit()
        if session_id is None:
            console.render(resp, ctx, "login.html", error="login.wrong", notice=None)
            return
        console.keep_session(resp, ctx, session_id)
        raise falcon.HTTPSeeOther(f"{PREFIX}/")


def _minutes(seconds: float) -> int:
    """Return a window in whole minutes, at least one."""
    return max(1, round(seconds / 60))


class Logout(Accepts):
    """``POST /console/logout``: end the session."""

    audit = None  # not a change of dlrhub's data
    role = "any"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Delete the session, forget the cookie, show the sign-in form."""
        with self.console.sessions() as session:
            signin.sign_out(session, session_id=req.cookies.get(SESSION_COOKIE, ""))
            session.commit()
        self.console.forget_cookie(resp, ctx)
        raise falcon.HTTPSeeOther(f"{PREFIX}/login")


class Prefs(Accepts):
    """``POST /console/prefs``: the viewer's language and time zone, kept in cookies."""

    audit = None  # not a change of dlrhub's data
    role = None

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Keep the choices and go back to the page they were made on."""
        lang = fields.get("lang", "")
        if lang in i18n.LANGUAGES:
            resp.set_cookie(LANG_COOKIE, lang, path=PREFIX, max_age=_YEAR, secure=ctx.secure,
                            http_only=True, same_site="Lax")
        tz = zone(fields.get("tz"))
        if tz is not None:
            resp.set_cookie(TZ_COOKIE, tz.key, path=PREFIX, max_age=_YEAR, secure=ctx.secure,
                            http_only=True, same_site="Lax")
        raise falcon.HTTPSeeOther(safe_next(fields.get("next")))
