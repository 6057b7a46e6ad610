"""Domain errors of the services; the API maps each to one HTTP answer in one place."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""

    kind = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    """The thing does not exist, or belongs to another tenant (the same answer)."""

    kind = "not-found"


class InvalidInput(ServiceError):
    """A field of the request is wrong; ``field`` names it."""

    kind = "validation"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


def non_blank(value: str | None, field: str) -> str:
    """Return ``value`` stripped, or raise ``InvalidInput`` naming ``field`` if it is blank."""
    out = (value or "").strip()
    if not out:
        raise InvalidInput(field, "must not be empty")
    return out


class Unauthorized(ServiceError):
    """Credentials are missing or wrong."""

    kind = "unauthorized"


class Forbidden(ServiceError):
    """The credentials are right but may not do this (a suspended tenant)."""

    kind = "forbidden"


class TooManyRequests(ServiceError):
    """The caller is over its request rate; ``retry_after`` says when it may go on."""

    kind = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Conflict(ServiceError):
    """The request conflicts with the current state (a tenant that still has accounts)."""

    kind = "conflict"
