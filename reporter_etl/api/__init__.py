"""Typed client of the Tovie Platform (JAICP) Reporter API, and its items as Arrow (``records``)."""

from reporter_etl.api.client import ReporterClient, report_settings
from reporter_etl.api.config import RetryPolicy, Timeouts
from reporter_etl.api.filters import (
    Checkbox,
    Composite,
    CompositeOption,
    CustomFieldsInResponse,
    DateTimeRange,
    NumericRange,
    Radio,
    Text,
    Tree,
    message_time,
)
from reporter_etl.api.paging import Page
from reporter_etl.api.transport import BearerTransport, LegacyTokenPathTransport
from reporter_etl.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConfigurationError,
    NotFoundError,
    RateLimitedError,
    RecordContractError,
    ReportTaskError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)

__all__ = [
    "ApiError", "AuthenticationError", "BadRequestError", "BearerTransport", "ClientError", "Checkbox", "Composite",
    "CompositeOption", "ConfigurationError", "CustomFieldsInResponse", "DateTimeRange", "LegacyTokenPathTransport",
    "NotFoundError", "NumericRange", "Page", "Radio", "RateLimitedError", "RecordContractError", "ReportTaskError",
    "ReporterClient", "RetryPolicy", "ServerError", "Text", "Timeouts", "TransportError", "Tree",
    "UnexpectedResponseError", "message_time", "report_settings",
]  # fmt: skip
