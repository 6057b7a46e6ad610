"""Retry policies of outbound deliveries, as tenacity strategies that are evaluated, never slept.

A policy answers one question: after attempt ``n`` failed, how long until the next one,
or is the delivery exhausted? The caller turns the answer into a Celery countdown (or
marks the delivery dead), so no worker ever sleeps. Policies are stored as JSON, either
a name (``"standard"``, ``"ucloud"``, ``"aliyun"``, ``"tencent"``) or an object
(``{"waits": [...]}`` or ``{"exponential": {...}}``).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeAlias

import tenacity
from tenacity.wait import wait_base

from dlrhub.services.errors import InvalidInput

FIELD = "retry_policy"
DEFAULT_POLICY = "standard"
MAX_WAIT = 86400 * 3
MAX_WAITS = 20
# A Retry-After beyond a day is more likely a misconfigured server than a plan; the
# policy's own schedule takes over again after that.
RETRY_AFTER_CAP = 86400.0

PolicyJSON: TypeAlias = str | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Exponential:
    """The shape of an exponential policy: ``initial * multiplier ** (n - 1)``, capped."""

    initial: float
    multiplier: float
    max: float
    #: every attempt, the first included (as tenacity's ``stop_after_attempt`` counts)
    attempts: int


Shape: TypeAlias = tuple[float, ...] | Exponential


class _Jitter(wait_base):
    # tenacity's wait_random draws from the global ``random`` module, which a caller
    # cannot seed per call; this applies the same bounded jitter with a given Random.
    def __init__(self, inner: wait_base, fraction: float, rng: random.Random) -> None:
        self.inner = inner
        self.fraction = fraction
        self.rng = rng

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        nominal = self.inner(retry_state)
        return nominal * (1 + self.rng.uniform(-self.fraction, self.fraction))


_RNG = random.Random()


class RetryPolicy:
    """A named schedule of waits between delivery attempts, built on tenacity.

    ``max_attempts`` counts every attempt, the first one included. Build one with
    ``parse_policy`` (or take one of ``NAMED``) rather than by hand.
    """

    __slots__ = ("_stop", "_wait", "description", "jitter", "max_attempts", "name", "shape")

    def __init__(self, name: str, shape: Shape, *, jitter: float = 0.0,
                 description: str | None = None) -> None:
        self.name = name
        self.shape = shape
        #: the largest deviation of a wait from its nominal value, as a fraction of it
        self.jitter = jitter
        if isinstance(shape, Exponential):
            self.max_attempts = shape.attempts
            self._wait: wait_base = tenacity.wait_exponential(
                multiplier=shape.initial, exp_base=shape.multiplier, max=shape.max)
        else:
            self.max_attempts = len(shape) + 1
            self._wait = tenacity.wait_chain(*(tenacity.wait_fixed(w) for w in shape))
        self._stop = tenacity.stop_after_attempt(self.max_attempts)
        self.description = description or _describe(self)

    def next_wait(self, attempt_number: int, rng: random.Random | None = None) -> float | None:
        """Return the seconds to wait after attempt ``attempt_number`` failed, or ``None``.

        ``attempt_number`` is 1-based: 1 is the first attempt. ``None`` means the policy
        is exhausted and the delivery is dead. ``rng`` draws the jitter, for tests that
        want it reproducible.
        """
        if attempt_number < 1:
            raise ValueError("attempt_number starts at 1")
        state = _state(attempt_number)
        if self._stop(state):
            return None
        wait = self._wait
        if self.jitter:
            wait = _Jitter(wait, self.jitter, rng or _RNG)
        return float(wait(state))

    def schedule(self) -> list[float]:
        """Return the nominal waits, without jitter, one per retry."""
        return [float(self._wait(_state(n))) for n in range(1, self.max_attempts)]

    def to_json(self) -> PolicyJSON:
        """Return the JSON form that ``parse_policy`` reads back into an equal policy."""
        if self.name in NAMED and NAMED[self.name] == self:
            return self.name
        if isinstance(self.shape, Exponential):
            s = self.shape
            return {"exponential": {"initial": s.initial, "multiplier": s.multiplier,
                                    "max": s.max, "attempts": s.attempts}}
        return {"waits": list(self.shape)}

    @classmethod
    def from_json(cls, value: object, field: str = FIELD) -> RetryPolicy:
        """Return the policy of a decoded JSON value; the same as ``parse_policy``."""
        return parse_policy(value, field)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryPolicy):
            return NotImplemented
        return (self.name, self.shape, self.jitter) == (other.name, other.shape, other.jitter)

    def __hash__(self) -> int:
        return hash((self.name, self.shape, self.jitter))

    def __repr__(self) -> str:
        return f"RetryPolicy({self.name!r}, {self.shape!r}, jitter={self.jitter!r})"


def _state(attempt_number: int) -> tenacity.RetryCallState:
    # tenacity's strategies only read attempt_number; a bare state is enough to ask them.
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(),
                                    kwargs={})
    state.attempt_number = attempt_number
    return state


def _describe(policy: RetryPolicy) -> str:
    if isinstance(policy.shape, Exponential):
        s = policy.shape
        text = (f"exponential from {_duration(s.initial)}, x{s.multiplier:g}, "
                f"at most {_duration(s.max)}, {s.attempts} attempts in all")
    else:
        text = "waits of " + ", ".join(_duration(w) for w in policy.shape)
    if policy.jitter:
        text += f" (±{policy.jitter:.0%} jitter)"
    return text


def _duration(seconds: float) -> str:
    if seconds == 0:
        return "0 s"
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


NAMED: Mapping[str, RetryPolicy] = {
    p.name: p for p in (
        # The default for long outages: quick retries for a blip, then spread over ~1.5
        # days (DESIGN.md §5). Jitter keeps endpoints that failed together from being
        # retried together.
        RetryPolicy("standard", (0, 5, 300, 1800, 7200, 18000, 36000, 36000), jitter=0.1),
        # The providers' own semantics, for customers whose handlers expect them; no
        # jitter, since the point is to behave as the provider does (docs/providers/:
        # tencent.md, ucloud.md, aliyun.md).
        # UCloud: "每隔1秒进行重推，累计重推3次".
        RetryPolicy("ucloud", (1, 1, 1)),
        # Aliyun: re-pushes "at 1, 5 and 10 min" after the first failure; read as the
        # waits between attempts (the doc does not say whether they are offsets from
        # the first failure instead).
        RetryPolicy("aliyun", (60, 300, 600)),
        # Tencent: "会再重试2次" (2 more tries); the interval is not documented by
        # Tencent (docs/providers/tencent.md), so 5 s is ours.
        RetryPolicy("tencent", (5, 5)),
    )
}


def parse_policy(value: object, field: str = FIELD) -> RetryPolicy:
    """Return the policy of a decoded JSON value; raise ``InvalidInput`` naming the field.

    ``None`` is the default policy, a string names a policy of ``NAMED``, and an object
    is ``{"waits": [seconds, ...]}`` (1 to 20 waits of 0 to 3 days) or
    ``{"exponential": {"initial": s, "multiplier": m, "max": s, "attempts": n}}``, where
    ``attempts`` counts every attempt, the first included (2 to 21).
    """
    if value is None:
        return NAMED[DEFAULT_POLICY]
    if isinstance(value, str):
        try:
            return NAMED[value]
        except KeyError:
            raise InvalidInput(field, f"unknown policy {value!r}; expected one of "
                                      f"{', '.join(NAMED)} or an object") from None
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be a policy name or an object")
    if len(value) != 1 or next(iter(value)) not in ("waits", "exponential"):
        raise InvalidInput(field, 'must have exactly one key, "waits" or "exponential"')
    if "waits" in value:
        return RetryPolicy("custom", _parse_waits(value["waits"], f"{field}.waits"))
    return RetryPolicy("exponential",
                       _parse_exponential(value["exponential"], f"{field}.exponential"))


def _parse_waits(value: object, field: str) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise InvalidInput(field, "must be a list of seconds")
    if not 1 <= len(value) <= MAX_WAITS:
        raise InvalidInput(field, f"must hold 1 to {MAX_WAITS} waits")
    return tuple(_seconds(w, f"{field}[{i}]", 0, MAX_WAIT) for i, w in enumerate(value))


def _parse_exponential(value: object, field: str) -> Exponential:
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object")
    keys = ("initial", "multiplier", "max", "attempts")
    for key in keys:
        if key not in value:
            raise InvalidInput(f"{field}.{key}", "is required")
    for key in value:
        if key not in keys:
            raise InvalidInput(f"{field}.{key}", "is not a field of an exponential policy")
    # A zero initial wait would make every wait zero: that is {"waits": [0, ...]}.
    initial = _seconds(value["initial"], f"{field}.initial", 0, MAX_WAIT, low_open=True)
    multiplier = _seconds(value["multiplier"], f"{field}.multiplier", 1, 10)
    cap = _seconds(value["max"], f"{field}.max", initial, MAX_WAIT)
    attempts = value["attempts"]
    if (not isinstance(attempts, int) or isinstance(attempts, bool)
            or not 2 <= attempts <= MAX_WAITS + 1):
        raise InvalidInput(f"{field}.attempts",
                           f"must be a whole number from 2 to {MAX_WAITS + 1}")
    return Exponential(initial, multiplier, cap, attempts)


def _seconds(value: object, field: str, low: float, high: float, *,
             low_open: bool = False) -> float:
    # bool is an int to Python but never a number of seconds to a client.
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value)):
        raise InvalidInput(field, "must be a number")
    if value < low or value > high or (low_open and value == low):
        low_text = f"more than {low:g}" if low_open else f"at least {low:g}"
        raise InvalidInput(field, f"must be {low_text} and at most {high:g}")
    return value


_DELTA_SECONDS = re.compile(r"[0-9]+")


def retry_after(header_value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks us to wait, or ``None``.

    Both forms of RFC 9110 §10.2.3 are read: delta-seconds and an HTTP-date (a date in
    the past means now, 0). The answer is capped at 24 h. ``None`` means the header is
    absent or unreadable, and the policy decides alone. ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if header_value is None:
        return None
    text = header_value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        return min(float(int(text)), RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # The asctime form carries no zone; HTTP-dates are always GMT.
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), RETRY_AFTER_CAP)


def is_retryable(status: int | None) -> bool:
    """Return whether a failed attempt that got ``status`` is worth trying again.

    ``None`` is a failure before any answer (a refused connection, a timeout) and is
    retried, as are 408, 429 and every 5xx: the endpoint may recover. Any other 4xx is
    the endpoint rejecting the request itself, which the same request will not fix.
    Call it only for failures: a 2xx is a success, and a 3xx (redirects are not
    followed) answers ``False`` like any other status not listed above.
    """
    if status is None:
        return True
    return status in (408, 429) or 500 <= status <= 599
