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
from dlrhub.models import utcnow
from dlrhub.services import signin

_YEAR = 365 * 24 * 3600


class Login(Shows, Accepts):
    """``/console/login``: a form of ``key`` and ``csrf_token``."""

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
        """Open a session for a valid key and go in; show the form again otherwise."""
        with self.console.sessions() as session:
            session_id = signin.sign_in(session, self.console.keys, key=fields.get("key", ""),
                                        admin_token=self.console.settings.admin_token,
                                        lifetime=self.console.lifetime, now=utcnow())
            session.commit()
        if session_id is None:
            self.console.render(resp, ctx, "login.html", error="login.wrong",
                                notice=None)
            return
        self.console.keep_session(resp, ctx, session_id)
        raise falcon.HTTPSeeOther(f"{PREFIX}/")


class Logout(Accepts):
    """``POST /console/logout``: end the session."""

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
