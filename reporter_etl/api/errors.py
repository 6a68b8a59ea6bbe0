"""Errors raised by the Reporter API client.

Every message names the operation and the problem, and includes the server's ``{error, message}`` when the
server sent one.  No message ever holds the API token: the client builds these from parts it controls and
passes anything that came from ``requests`` or ``urllib3`` (whose texts carry the full URL, token included)
through the redactor first.
"""

from __future__ import annotations


class ReporterError(Exception):
    """Base of everything the client raises."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        server_message: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.error_code = error_code
        self.server_message = server_message
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(ReporterError):
    """The client cannot be built: a missing token, a malformed base URL."""


class ApiError(ReporterError):
    """The server answered, and the answer is an error."""


class AuthenticationError(ApiError):
    """401/403: the token is unknown, revoked, or lacks the permission. Retrying does not help."""


class BadRequestError(ApiError):
    """400 (and other 4xx not listed below): the request is malformed or a filter is invalid."""


class NotFoundError(ApiError):
    """404: the id in the request is unknown."""


class RateLimitedError(ApiError):
    """429 after the retry budget ran out."""


class ServerError(ApiError):
    """5xx after the retry budget ran out."""


class UnexpectedResponseError(ApiError):
    """The response is not what the spec says: not JSON where JSON is due, a missing field, a wrong type."""


class RecordContractError(UnexpectedResponseError):
    """A page could not be turned into the agreed Arrow columns (a required field missing, a type changed)."""


class TransportError(ReporterError):
    """No usable HTTP response: connection refused or dropped, a timeout, a broken body."""


class ReportTaskError(ReporterError):
    """A report task ended FAILED or STOPPED, or did not finish in time."""
