"""Domain exceptions. Each has exactly one HTTP status and one machine-readable code.

The resolver's exception handlers (``sso_core.edge.http``) are the only place that maps them to HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"
    default_message = "The request body is not valid."


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = "A valid bearer token is required."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = "Your role does not allow this action."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "No such resource."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Gone(DomainError):
    status = 410
    code = "gone"
    default_message = "This resource can no longer be used."


class InvalidDomain(DomainError):
    code = "invalid_domain"
    default_message = "That is not a domain name you can claim."


class DomainTaken(Conflict):
    code = "domain_taken"
    default_message = "This domain is already verified by another organisation."


class DomainNotFound(NotFound):
    code = "domain_not_found"
    default_message = "No such domain in your organisation."


class ConcurrentChange(Conflict):
    code = "concurrent_change"
    default_message = "The resource changed while this request ran; retry it."
