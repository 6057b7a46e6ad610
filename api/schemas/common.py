"""Models shared by every route family."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
