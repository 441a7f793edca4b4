"""Domain errors. Services raise these; routers and the error handlers map them to HTTP.

``message`` is a Japanese message id translated at render time, so every error a user
sees is in their language.
"""

from __future__ import annotations

from app.core.i18n import gettext


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self) -> str:
        return gettext(self.message, **self.params)


class NotFound(DomainError):
    status_code = 404


class Invalid(DomainError):
    status_code = 422

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message, **params)
        self.field = field


class Conflict(DomainError):
    status_code = 409


class StaleVersion(Conflict):
    """Someone saved the record after the caller read it; ``current`` is the row as stored now."""

    def __init__(self, message: str, *, current=None):
        super().__init__(message)
        self.current = current


class Forbidden(DomainError):
    status_code = 403


class AuthFailed(DomainError):
    status_code = 401
