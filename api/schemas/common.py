"""Models shared by every route family."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

from dlrhub.providers.registry import PROVIDERS

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _a_time_not_a_number(value: Any) -> Any:
    # pydantic reads a number (or a string of one) as seconds since 1970: `until=0.5`
    # or `{"since": 0}` is a client's mistake far more often than a date in 1970.
    if isinstance(value, int | float) or (isinstance(value, str)
                                           and _NUMBER.fullmatch(value.strip())):
        raise ValueError("must be a time in ISO 8601 with a zone, such as "
                         "2026-01-31T00:00:00Z, not a number")
    return value


# A moment in time as the API takes it: ISO 8601 with a zone, never a bare number.
Instant = Annotated[AwareDatetime, BeforeValidator(_a_time_not_a_number)]


def _one_of(choices: list[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    return check


# A provider filter: a registered slug, documented as an enum and checked as one, so
# that a typo is a 422 naming the choices rather than an empty answer.
_SLUGS = sorted(PROVIDERS)
ProviderSlug = Annotated[str, AfterValidator(_one_of(_SLUGS)),
                         WithJsonSchema({"type": "string", "enum": _SLUGS})]
# What receipts name as their provider: a slug, or `dlrhub` (an alert over every one).
_EVENT_SOURCES = sorted({*PROVIDERS, "dlrhub"})
EventSource = Annotated[str, AfterValidator(_one_of(_EVENT_SOURCES)),
                        WithJsonSchema({"type": "string", "enum": _EVENT_SOURCES})]


class Input(BaseModel):
    """A request body or query: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    """An answer, read from table rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


class PageQuery(Input):
    """Cursor pagination: ``?limit=&after=``."""

    limit: int = Field(default=50, ge=1, le=500, description="page size")
    after: str | None = Field(default=None, description="the `next` of the previous page")
