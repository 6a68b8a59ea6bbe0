"""Client settings: where the API is, how long to wait, how to retry, and reading them from the environment."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from reporter_etl.errors import ConfigurationError

TOKEN_ENV = "REPORTER_TOKEN"
BASE_URL_ENV = "REPORTER_BASE_URL"
# The public JAICP host; the legacy paths hang off it as /api/reporter/p/{token}/... (reporter-api.md §1).
DEFAULT_BASE_URL = "https://app.jaicp.com"

MAX_PAGE_SIZE = 1000  # the simulator's cap, and the size every bulk read asks for (docs/decisions.md)
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `read` bounds the wait for each chunk of the response, not the whole download."""

    connect: float = 10.0
    read: float = 120.0

    def as_requests(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, a bounded number of attempts, Retry-After honoured up to a cap.

    The n-th retry waits ``d/2 + uniform(0, d/2)`` with ``d = min(max_delay, base_delay * 2**(n-1))``: never
    zero (so a flapping server is not hammered) and never more than ``max_delay``.  When the server sends
    ``Retry-After``, the wait is at least that, capped at ``retry_after_cap`` so a hostile or broken header
    cannot stall a sync for hours.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 120.0
    statuses: frozenset[int] = RETRYABLE_STATUSES

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.retry_after_cap < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry_number` (1 = the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        wait = self.backoff(retry_number, rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return wait


@dataclass(frozen=True)
class ClientSettings:
    base_url: str = DEFAULT_BASE_URL
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int = MAX_PAGE_SIZE
    user_agent: str = "reporter-etl"


def token_from_env(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigurationError(
            f"{TOKEN_ENV} is not set: put the project's Reporter API token (Project properties → API tokens) "
            f"in the {TOKEN_ENV} environment variable"
        )
    return token


def base_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
