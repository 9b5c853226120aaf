"""Authentication refusals that carry their own error code and headers.

Kept apart from :mod:`core.api`: authentication classes are imported while REST
framework's views module is still loading, and :mod:`core.api` imports it.
:func:`core.api.exception_handler` reads ``error_code``, ``www_authenticate`` and
``retry_after_seconds`` from any API exception.
"""

from __future__ import annotations

from rest_framework import exceptions, status


class InvalidToken(exceptions.AuthenticationFailed):
    """A bearer token that is not valid (RFC 6750 §3.1): 401 ``invalid_token`` with
    ``WWW-Authenticate: Bearer error="invalid_token"``."""

    error_code = "invalid_token"
    www_authenticate = 'Bearer error="invalid_token"'


class ServiceUnavailable(exceptions.APIException):
    """Something Patchbay depends on (the IdP's keys) cannot be had now: 503, try again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    error_code = "service_unavailable"
    retry_after_seconds = 5

    def __init__(self, message: str, code: str = "service_unavailable") -> None:
        super().__init__(message)
        self.error_code = code
