"""``/console/expectations``: expected messages by state, a page at a time, and a form
that registers one (the same service as ``POST /v1/expectations``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon

from dlrhub.console.forms import local_time, number, refusal
from dlrhub.console.web import PREFIX, Accepts, ConsoleError, Ctx, Shows
from dlrhub.models import ExpectationState, utcnow
from dlrhub.services import accounts
from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.expectations import intake, register, rules
from dlrhub.services.expectations.register import NewExpectation

PAGE = 50
COUNT_CAP = 10_000  # counts above this read "more than 10,000"
STATES = [s.value for s in ExpectationState]


# The longest value of each field, as the API takes them.
LONGEST = {"account_id": 40, "message_id": 200, "phone": 64, "template": 200,
           "reference": 200}


def new_expectation(fields: dict[str, str], ctx: Ctx) -> NewExpectation:
    """Return the expectation of the form; raise ``InvalidInput`` naming what is wrong.

    The service checks the rest as it does for the API (the account, the deadline's
    range, the send time, the phone number).
    """
    given = {k: fields.get(k, "").strip() for k in LONGEST}
    for name, longest in LONGEST.items():
        if len(given[name]) > longest:
            raise InvalidInput(name, f"at most {longest} characters")
    for name in ("account_id", "message_id"):
        if not given[name]:
            raise InvalidInput(name, "is required")
    deadline = number(fields, "deadline_seconds")
    seconds = None
    if deadline is not None:
        if deadline != int(deadline):
            raise InvalidInput("deadline_seconds", "must be a whole number")
        seconds = rules.check_seconds("deadline_seconds", int(deadline))
    return NewExpectation(account_id=given["account_id"], message_id=given["message_id"],
                          phone=given["phone"] or None,
                          sent_at=local_time(fields, "sent_at", ctx.tz),
                          deadline_seconds=seconds, template=given["template"] or None,
                          reference=given["reference"] or None)


class Expectations(Shows, Accepts):
    """``/console/expectations[?state=pending|met|missing]``; ``POST`` registers one."""

    audit = "expectation.create"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List a page of the tenant's expectations, newest first, with the counts."""
        state = req.get_param("state") or None
        if state is not None and state not in STATES:
            raise ConsoleError(400, "error.bad_input", detail="state: not a known value")
        self._page(resp, ctx, state, req.get_param("after") or None,
                   notice="registered" if req.get_param("registered") else None)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Register one expectation; show the form again with what is wrong (400)."""
        try:
            item = new_expectation(fields, ctx)
            with self.console.sessions() as session:
                intake.register_items(session, tenant_id=ctx.tenant_id, items=[item],
                                      now=utcnow())
                session.commit()
        except InvalidInput as ex:
            self._page(resp, ctx, None, None, status=400, error=refusal(ex), given=fields)
            return
        except NotFound:  # another tenant's account, or a revoked one: the form's fault
            self._page(resp, ctx, None, None, status=400, given=fields,
                       error="account_id: no such account")
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/expectations?registered=1")

    def _page(self, resp: falcon.Response, ctx: Ctx, state: str | None, after: str | None,
              *, status: int = 200, **values: Any) -> None:
        with self.console.sessions() as session:
            rows, cursor = register.list_expectations(session, tenant_id=ctx.tenant_id,
                                                      state=state, limit=PAGE, after=after)
            counts = {s: register.count_in_state(session, tenant_id=ctx.tenant_id, state=s,
                                                 cap=COUNT_CAP)
                      for s in (ExpectationState.pending, ExpectationState.missing)}
            listed, _ = accounts.list_accounts(session, tenant_id=ctx.tenant_id, limit=100)
        given = {"state": state} if state else {}
        self.console.render(
            resp, ctx, "expectations.html", status=status, rows=rows, state=state,
            states=STATES, counts={s.value: n for s, n in counts.items()}, cap=COUNT_CAP,
            accounts=listed, api_url=self.console.settings.effective_public_url,
            next_query=urlencode({**given, "after": cursor}) if cursor else None,
            **{"notice": None, "error": None, "given": {}, **values})
