"""Errors a service raises on bad input; the HTTP layer turns each into problem+json."""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions: dict[str, str] = {}
        """Members the problem carries besides its standard ones (RFC 9457 extensions), such
        as the id of the record a conflict is with."""


def existing[T](record: T | None, what: str) -> T:
    """`record`, read by its id; a 404 naming `what` (e.g. "queue q1") when there is none."""
    if record is None:
        raise NotFound(f"{what} does not exist")
    return record


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"


class UnprocessableEntity(ServiceError):
    status = 422
    title = "Unprocessable entity"


class ServiceUnavailable(ServiceError):
    status = 503
    title = "Service unavailable"
