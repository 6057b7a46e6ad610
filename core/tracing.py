"""Where dlrhub's own code meets tracing: hooks that do nothing until tracing is on.

Tracing is opt-in (``config/tracing.py`` turns it on from the environment). Until it
does, every hook here is a no-op of a function call or two, and nothing of
OpenTelemetry is imported: the callback path and the relay pay nothing for a feature
that is off. When it is on, ``config/tracing.py`` installs :class:`Hooks` that do the
work through OpenTelemetry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Attribute = str | int | float | bool


class Span(Protocol):
    """The part of a span that dlrhub's code writes to."""

    def set_attribute(self, key: str, value: Attribute) -> None:
        """Record one attribute on the span."""


class _NoSpan:
    """The span of tracing that is off: it records nothing."""

    def set_attribute(self, key: str, value: Attribute) -> None:
        """Record nothing."""


class _NoSpanContext:
    """A reusable context manager yielding :data:`NO_SPAN` (cheaper than a generator)."""

    def __enter__(self) -> Span:
        return NO_SPAN

    def __exit__(self, *_: object) -> None:
        return None


NO_SPAN: Span = _NoSpan()
_NO_SPAN_CONTEXT = _NoSpanContext()


class Hooks:
    """What the product's code asks of tracing; this base class does nothing (off)."""

    enabled = False

    def span(self, name: str, attributes: Mapping[str, Attribute]
             ) -> AbstractContextManager[Span]:
        """Return a context manager for a span named ``name``, current while it runs."""
        return _NO_SPAN_CONTEXT

    def capture(self) -> object | None:
        """Return the current trace context, to carry to another thread (None: none)."""
        return None

    def carried(self, contexts: Sequence[object | None], name: str
                ) -> AbstractContextManager[Span]:
        """Run a block in a span that continues the first of ``contexts`` and links the rest."""
        return _NO_SPAN_CONTEXT

    def headers(self) -> dict[str, str] | None:
        """Return the current trace context as task message headers (None: none)."""
        return None

    def middleware(self) -> list[Any]:
        """Return the Falcon middleware the API adds when traced (none while off)."""
        return []


_hooks = Hooks()


def install(hooks: Hooks) -> None:
    """Make ``hooks`` the process's tracing hooks (``config/tracing.py`` does, when on)."""
    global _hooks
    _hooks = hooks


def hooks() -> Hooks:
    """Return the process's tracing hooks (those that do nothing while tracing is off)."""
    return _hooks


def span(name: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Span]:
    """Return :meth:`Hooks.span` of the process's hooks."""
    return _hooks.span(name, attributes)


def capture() -> object | None:
    """Return :meth:`Hooks.capture` of the process's hooks."""
    return _hooks.capture()


def carried(contexts: Sequence[object | None], name: str) -> AbstractContextManager[Span]:
    """Return :meth:`Hooks.carried` of the process's hooks."""
    return _hooks.carried(contexts, name)


def headers() -> dict[str, str] | None:
    """Return :meth:`Hooks.headers` of the process's hooks."""
    return _hooks.headers()
