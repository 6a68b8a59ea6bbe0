"""Every error reporter-etl raises on purpose, under one root: catch ``ReporterEtlError`` for all of them.

    ReporterEtlError
    ├── ConfigurationError       settings that cannot work: no token, a malformed base URL, an unknown time zone
    ├── ClientError              the Reporter API client (carries operation, status, the server's error code)
    │   ├── ApiError             the server answered with an error
    │   │   ├── AuthenticationError, BadRequestError, NotFoundError, RateLimitedError, ServerError
    │   │   └── UnexpectedResponseError    an answer not as the spec says
    │   │       └── RecordContractError    a record that does not fit its entity's columns (also a ContractError)
    │   ├── TransportError       no usable HTTP response
    │   └── ReportTaskError      a report task failed or did not finish
    ├── ContractError            data that does not follow an entity's column contract
    │   ├── RecordContractError  (from the API)
    │   └── BatchSchemaError     (handed to the warehouse; also a WarehouseError)
    ├── WarehouseError           the DuckDB warehouse
    │   ├── WarehouseLockedError, WarehouseBusyError    another writer / process holds the file
    │   ├── SchemaVersionError   the file's schema is newer than this version, or differs from the descriptions
    │   └── LoadError            a load asked for something inconsistent
    └── SyncError                the sync cannot go on
        └── DriftError           the source kept changing until even the smallest window could not be read whole

No message ever holds the API token: the client builds its messages from parts it controls and passes anything
that came from ``requests`` or ``urllib3`` through the redactor first.  This module imports nothing, so any layer
(the warehouse included) can raise these without importing the HTTP stack.
"""

from __future__ import annotations


class ReporterEtlError(Exception):
    """Base of every error reporter-etl raises on purpose."""


class ConfigurationError(ReporterEtlError):
    """The settings cannot work: a missing token, a malformed base URL, an unknown time zone."""


class ClientError(ReporterEtlError):
    """Base of what the API client raises; says which operation failed and how."""

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


class ApiError(ClientError):
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


class TransportError(ClientError):
    """No usable HTTP response: connection refused or dropped, a timeout, a broken body."""


class ReportTaskError(ClientError):
    """A report task ended FAILED or STOPPED, or did not finish in time."""


class ContractError(ReporterEtlError):
    """Data that does not follow an entity's column contract (``reporter_etl.entities``)."""


class RecordContractError(UnexpectedResponseError, ContractError):
    """A page's items could not become the entity's Arrow columns (a required field missing, a type changed)."""


class WarehouseError(ReporterEtlError):
    """Base of what the warehouse raises."""


class WarehouseLockedError(WarehouseError):
    """Another writer held the warehouse for longer than we were willing to wait."""


class WarehouseBusyError(WarehouseError):
    """DuckDB refused to open the file because another process has it open in a conflicting mode."""


class SchemaVersionError(WarehouseError):
    """The file was written by a newer reporter-etl, or its raw tables differ from the entity descriptions."""


class BatchSchemaError(WarehouseError, ContractError):
    """A batch handed to the loader does not follow the Arrow column contract."""


class LoadError(WarehouseError):
    """A load was asked for something inconsistent (unknown entity, wrong project, run not begun, ...)."""


class SyncError(ReporterEtlError):
    """The sync cannot go on; the message says why (never with the token)."""


class DriftError(SyncError):
    """The source kept changing under the reader until even the smallest window could not be read whole."""
