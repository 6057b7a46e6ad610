"""Read an NDJSON body line by line, in bounded memory, whatever its length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

# A line longer than this is refused (and skipped to its end) rather than held.
MAX_LINE = 64 * 1024
_CHUNK = 64 * 1024


class Readable(Protocol):
    """A body: ``read(n)`` returns up to n bytes, b"" at its end."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes."""


def numbered_lines(stream: Readable, *, max_line: int = MAX_LINE
                   ) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number from 1, line without its end) of ``stream``; None if too long.

    At most ``max_line`` bytes of a line and one read are held at a time; a final line
    without a newline counts.
    """
    number = 0
    pending = b""
    too_long = False
    while chunk := stream.read(_CHUNK):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            yield number, None if too_long or len(line) > max_line else line.rstrip(b"\r")
            too_long = False
        if len(pending) > max_line:
            too_long, pending = True, b""
    if pending or too_long:
        yield number + 1, None if too_long else pending.rstrip(b"\r")
