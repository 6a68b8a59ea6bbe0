"""Fault injection for the simulator: the misbehaviour a client of the real API must survive.

Off by default. Each API request draws the same number of values from one seeded generator, in arrival order,
so a given seed gives the same sequence of faults for the same sequence of requests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

FaultKind = Literal["rate_limit", "server_error", "html", "drop", "drop_mid_body", "hang"]

SERVER_ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class FaultConfig:
    """Shares are probabilities in [0, 1] per API request. The exclusive kinds (rate_limit, server_error, html,
    drop, drop_mid_body, hang) must sum to at most 1; slow and drift are drawn independently of them."""

    seed: int = 0
    rate_limit: float = 0.0  # answered 429 with Retry-After
    retry_after_seconds: int = 1
    server_error: float = 0.0  # answered 500, 502 or 503 (JSON error body)
    html: float = 0.0  # an HTML error page instead of JSON: 502 text/html, or 200 text/html (html_ok_share of them)
    html_ok_share: float = 0.5
    drop: float = 0.0  # connection closed before any response
    drop_mid_body: float = 0.0  # headers and part of the body sent, then the connection closed
    hang: float = 0.0  # the request is read and never answered: held until the client gives up, or hang_seconds
    hang_seconds: float = 600.0
    slow: float = 0.0  # answered after slow_seconds
    slow_seconds: float = 1.0
    drift: float = 0.0  # on a paged list with page > 0, held-back rows are released first (totalCount grows)
    drift_rows: int = 5
    operations: frozenset[str] = field(default_factory=frozenset)  # operationIds to affect; empty = all
    include_downloads: bool = False  # also apply to report file downloads
    include_admin: bool = False  # also apply to /_simulator/ endpoints

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and f.name not in ("slow_seconds", "hang_seconds") and not 0.0 <= value <= 1.0:
                raise ValueError(f"fault share {f.name}={value} is outside [0, 1]")
        if self.exclusive_total() > 1.0 + 1e-9:
            raise ValueError("rate_limit + server_error + html + drop + drop_mid_body + hang must be at most 1")
        if self.retry_after_seconds < 0 or self.slow_seconds < 0 or self.drift_rows < 0 or self.hang_seconds < 0:
            raise ValueError("retry_after_seconds, slow_seconds, hang_seconds and drift_rows must not be negative")
        object.__setattr__(self, "operations", frozenset(self.operations))

    def exclusive_total(self) -> float:
        return self.rate_limit + self.server_error + self.html + self.drop + self.drop_mid_body + self.hang

    @property
    def enabled(self) -> bool:
        return self.exclusive_total() > 0 or self.slow > 0 or self.drift > 0

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["operations"] = sorted(self.operations)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        values = dict(data)
        if "operations" in values:
            values["operations"] = frozenset(values["operations"] or ())  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FaultDecision:
    kind: FaultKind | None = None  # the exclusive fault, if any
    status: int = 200  # for server_error / html
    delay_seconds: float = 0.0
    drift: bool = False

    @property
    def is_clean(self) -> bool:
        return self.kind is None and self.delay_seconds == 0 and not self.drift


NO_FAULT = FaultDecision()


class FaultInjector:
    """Draws a FaultDecision per request from a seeded generator (thread-safe)."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def applies_to(self, operation_id: str | None, *, download: bool = False, admin: bool = False) -> bool:
        cfg = self.config
        if not cfg.enabled:
            return False
        if download:
            return cfg.include_downloads
        if admin:
            return cfg.include_admin
        return not cfg.operations or operation_id in cfg.operations

    def decide(self) -> FaultDecision:
        cfg = self.config
        with self._lock:
            # Always five draws, whatever the outcome, so the sequence depends only on the request count.
            u_kind, u_status, u_slow, u_drift = (self._rng.random() for _ in range(4))
            self._rng.random()  # reserved, keeps the stride stable if a kind is added
        kind: FaultKind | None = None
        status = 200
        edge = 0.0
        for name, share in (("rate_limit", cfg.rate_limit), ("server_error", cfg.server_error), ("html", cfg.html),
                            ("drop", cfg.drop), ("drop_mid_body", cfg.drop_mid_body), ("hang", cfg.hang)):  # fmt: skip
            edge += share
            if u_kind < edge:
                kind = name  # type: ignore[assignment]
                break
        if kind == "rate_limit":
            status = 429
        elif kind == "server_error":
            status = SERVER_ERROR_STATUSES[int(u_status * len(SERVER_ERROR_STATUSES))]
        elif kind == "html":
            status = 200 if u_status < cfg.html_ok_share else 502
        decision = FaultDecision(
            kind=kind,
            status=status,
            delay_seconds=cfg.slow_seconds if u_slow < cfg.slow else 0.0,
            drift=u_drift < cfg.drift,
        )
        if not decision.is_clean:
            with self._lock:
                for name in (kind, "slow" if decision.delay_seconds else None, "drift" if decision.drift else None):
                    if name:
                        self.counts[name] = self.counts.get(name, 0) + 1
        return decision


HTML_ERROR_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def html_error_page(status: int, reason: str) -> bytes:
    return HTML_ERROR_PAGE.format(status=status if status != 200 else 502, reason=reason).encode()
