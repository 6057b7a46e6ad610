"""``/console/messages/{id}``: a message's timeline per recipient, with what to do."""

from __future__ import annotations

import falcon

from dlrhub.console.web import Ctx, Shows
from dlrhub.services import receipts
from dlrhub.services.insight.reasons import describe_classes


class MessagePage(Shows):
    """``GET /console/messages/{message_id}``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Render each recipient's status, reason class and events."""
        message_id = params["message_id"]
        with self.console.sessions() as session:
            timeline = receipts.message_timeline(session, tenant_id=ctx.tenant_id,
                                                 message_id=message_id)
        classes = {c.reason_class.value: c for c in describe_classes()}
        self.console.render(resp, ctx, "message.html", timeline=timeline, classes=classes)
