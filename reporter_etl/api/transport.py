"""Where requests go and how they authenticate: the only place that knows where the token sits.

Everything above the transport speaks in operation paths relative to the API root (``/sessions/filter``);
the transport turns one into a URL plus the headers and query parameters its API generation needs.

- ``LegacyTokenPathTransport``: ``{base}/api/reporter/p/{token}{path}``; the generation reporter-etl targets.
- ``BearerTransport``: ``{base}/api/v1/reporter{path}`` with ``Authorization: Bearer`` and ``projectShortName``
  (reporter-api.md §13).  A sketch: the current API's asynchronous report creation (a requestId to long-poll
  on the Async API) is not implemented, and the operations it lacks (block/unblock, list groups, list session
  labels) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlsplit

from reporter_etl.api.operations import Operation
from reporter_etl.api.redaction import Secret, register_secret
from reporter_etl.errors import ConfigurationError


@dataclass(frozen=True)
class Target:
    """Where one request goes.  `url` may hold the token: never log it; log `display` instead."""

    url: str
    display: str
    headers: dict[str, str]
    query: tuple[tuple[str, str], ...] = ()


class Transport(Protocol):
    base_url: str

    def target(self, operation: Operation, path: str) -> Target:
        """`path`: the operation's path with its parameters filled in (already URL-quoted)."""
        ...


def normalise_base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"base URL {base_url!r} is not an http(s) URL like https://app.jaicp.com")
    if parts.query or parts.fragment:
        raise ConfigurationError("the base URL must not carry a query or fragment")
    return base_url.strip().rstrip("/")


def _check_token(token: str) -> Secret:
    if not isinstance(token, str) or not token.strip():
        raise ConfigurationError("the Reporter API token is empty")
    if any(c.isspace() or c == "/" for c in token.strip()):
        raise ConfigurationError("the Reporter API token holds whitespace or '/'; check that it was copied whole")
    register_secret(token.strip())
    return Secret(token.strip())


class LegacyTokenPathTransport:
    """The legacy API: the project's analytics token is a path segment (``/api/reporter/p/{token}``)."""

    PREFIX = "/api/reporter/p/"

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = normalise_base_url(base_url)
        self._token = _check_token(token)
        self._root = f"{self.base_url}{self.PREFIX}{quote(self._token.reveal(), safe=':')}"

    def target(self, operation: Operation, path: str) -> Target:
        return Target(url=self._root + path, display=f"{operation.method} {self.PREFIX}***{path}", headers={})

    def __repr__(self) -> str:
        return f"LegacyTokenPathTransport(base_url={self.base_url!r}, token=***)"


class BearerTransport:
    """The current API generation (sketch; see the module docstring for what is missing)."""

    PREFIX = "/api/v1/reporter"
    MISSING_OPERATIONS = frozenset({"block_client", "unblock_client", "list_message_label_groups",
                                    "list_session_labels"})  # fmt: skip
    ASYNC_OPERATIONS = frozenset({
        "create_session_report", "create_message_report", "create_client_report", "create_telephony_report",
        "create_daily_report", "create_client_list_report",
    })  # fmt: skip

    def __init__(self, base_url: str, token: str, project_short_name: str | None = None) -> None:
        self.base_url = normalise_base_url(base_url)
        self._token = _check_token(token)
        self.project_short_name = project_short_name

    def target(self, operation: Operation, path: str) -> Target:
        if operation.name in self.MISSING_OPERATIONS:
            raise ConfigurationError(f"{operation.name}: the current API generation has no such operation")
        if operation.name in self.ASYNC_OPERATIONS:
            raise NotImplementedError(f"{operation.name}: asynchronous report creation is not implemented yet")
        query = (("projectShortName", self.project_short_name),) if self.project_short_name else ()
        return Target(
            url=f"{self.base_url}{self.PREFIX}{path}",
            display=f"{operation.method} {self.PREFIX}{path}",
            headers={"Authorization": f"Bearer {self._token.reveal()}"},
            query=query,
        )

    def __repr__(self) -> str:
        return f"BearerTransport(base_url={self.base_url!r}, token=***)"
