"""Keep callback tokens out of the access log."""

from __future__ import annotations

import logging
import re

# The token is the secret of a callback URL: /v1/callbacks/{provider}/{token}.
_TOKEN = re.compile(r"^(/v1/callbacks/[^/?]+/)[^/?]+")


class MaskCallbackTokens(logging.Filter):
    """Replace the token of a callback path in uvicorn's access lines with ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the path argument (uvicorn's third) and let the line through."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _TOKEN.sub(r"\1***", args[2]), *args[3:])
        return True


def install() -> None:
    """Mask tokens on every access line of this process."""
    logging.getLogger("uvicorn.access").addFilter(MaskCallbackTokens())
