"""Sending one operation's request: connection reuse, timeouts, retries, error mapping, request counting.

One ``requests.Session`` per client.  urllib3's own retries are switched off: this module decides what to
retry (see ``operations.Retry``), waits with exponential backoff and jitter (``config.RetryPolicy``),
honours ``Retry-After`` up to a cap, and gives up after a bounded number of attempts with an error that names
the operation and the problem.  Texts that came from ``requests`` are redacted before they reach a message,
and errors are raised ``from None`` so the original exception (whose text holds the URL) is not chained.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from reporter_etl.api.config import ClientSettings
from reporter_etl.api.operations import Operation, ResponseKind, Retry
from reporter_etl.api.redaction import redact
from reporter_etl.api.transport import Transport
from reporter_etl.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_NOT_CONNECTED = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError,
                  ConnectionRefusedError)  # fmt: skip


@dataclass
class Response:
    status: int
    content_type: str
    content: bytes
    data: Any  # parsed JSON, text, or None, per the operation's response kind


@dataclass
class _Failure:
    """One failed attempt, and whether another may be made."""

    error: Exception  # the error to raise if no retry follows
    retryable: bool
    unsent: bool = False  # the server certainly did not act on the request
    retry_after: float | None = None
    no_answer: bool = False  # the server took the request (or the connection) and said nothing in time


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _server_error_fields(content: bytes) -> tuple[str | None, str | None]:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code, message = body.get("error"), body.get("message")
    return (str(code) if code is not None else None, str(message) if message is not None else None)


def _describe_body(content_type: str, content: bytes) -> str:
    kind = content_type.split(";")[0].strip() or "no content type"
    return f"a {kind} body of {len(content)} bytes"


def _looks_like_html(content_type: str, content: bytes) -> bool:
    return "html" in content_type.lower() or content.lstrip()[:1] == b"<"


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        stack.extend([current.__cause__, current.__context__])
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return False


class HttpSender:
    def __init__(
        self,
        transport: Transport,
        settings: ClientSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.transport = transport
        self.settings = settings
        self.session = requests.Session()
        self.session.headers["User-Agent"] = settings.user_agent
        self.session.headers["Accept"] = "application/json"
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._sleep = sleep
        self._rng = rng or random.Random()
        # Counted under a lock: a paged read has a few requests in flight from a small thread pool.
        self._count_lock = threading.Lock()
        self.request_count = 0
        self.retry_count = 0
        self.host = urlsplit(transport.base_url).netloc  # named in errors; never the token, which is in the path
        # Each attempt's (connect, read) timeouts, cut to what is left of its request's budget; per thread, since
        # a paged read has a few requests in flight at once.
        self._default_attempt_timeouts = settings.timeouts.as_requests()
        self._per_thread = threading.local()
        self.requests_by_operation: Counter[str] = Counter()

    def _attempt_timeouts(self) -> tuple[float, float]:
        return getattr(self._per_thread, "attempt_timeouts", self._default_attempt_timeouts)

    def close(self) -> None:
        self.session.close()

    # ---- one operation --------------------------------------------------------------------------------

    def send(
        self,
        op: Operation,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Response:
        """``parse`` reads a JSON body in place of ``orjson.loads`` (the sync's pages go straight into Arrow);
        when it returns None the body is parsed as usual, so an unreadable body is still retried as before."""
        target = self.transport.target(op, path)
        all_headers = {**target.headers, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        params = list(target.query) + list(query)

        def attempt_once(attempt: int) -> Response | _Failure:
            outcome = self._attempt(op, target.url, target.display, params, all_headers, body, attempt, parse)
            if (isinstance(outcome, _Failure) and op.delete_missing_ok and attempt > 1
                    and isinstance(outcome.error, NotFoundError)):  # fmt: skip
                log.info("%s: already gone on attempt %d, so an earlier attempt did it", op.name, attempt)
                return Response(200, "", b"", None)
            return outcome

        return self._with_retries(op, attempt_once)

    def _with_retries(self, op: Operation, attempt_once: Callable[[int], _T | _Failure]) -> _T:
        """Call ``attempt_once(n)`` for n = 1, 2, ... until it returns a result, waiting between attempts as the
        retry policy says, while the failure is retryable and the operation safe to send again."""
        policy = self.settings.retry
        timeouts = self.settings.timeouts
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            # Every attempt's waits fit in what is left of the operation's budget (timeouts.request).
            left = max(timeouts.request - (time.monotonic() - started), 0.001)
            self._per_thread.attempt_timeouts = (min(timeouts.connect, left), min(timeouts.read, left))
            outcome = attempt_once(attempt)
            if not isinstance(outcome, _Failure):
                return outcome
            failure = outcome
            may_retry = failure.retryable and (op.retry is Retry.ALWAYS or failure.unsent)
            delay = policy.delay(attempt, failure.retry_after, self._rng)
            elapsed = time.monotonic() - started
            # An attempt left with next to nothing of the budget could only time out, and its timeout would then
            # be reported instead of the failure worth reporting (an HTML page, a refused connection).
            least_worth_trying = min(0.1, timeouts.request / 10)
            out_of_time = elapsed + delay + least_worth_trying >= timeouts.request
            if not may_retry or attempt >= policy.max_attempts or out_of_time:
                error = failure.error
                if isinstance(error, ApiError | TransportError) and (attempt > 1 or (may_retry and out_of_time)):
                    budget = f"; the request timeout is {timeouts.request:g} s" if out_of_time else ""
                    error.message = (f"{error.message} (gave up after {attempt} attempt{'s' if attempt > 1 else ''} "
                                     f"in {elapsed:.1f} s to {self.host}{budget})")  # fmt: skip
                    error.attempts = attempt
                elif failure.retryable and not may_retry and isinstance(error, ApiError | TransportError):
                    error.message = f"{error.message} (not retried: {op.name} is not safe to send twice)"
                raise error
            with self._count_lock:
                self.retry_count += 1
            if failure.no_answer:
                # Silence is the one failure that shows nothing for minutes: say that we wait, and until when.
                log.warning("%s; %s has not answered, retrying in %.2g s (attempt %d of %d; giving up %g s after "
                            "the first attempt, see --request-timeout)", failure.error, self.host, delay, attempt + 1,
                            policy.max_attempts, timeouts.request)  # fmt: skip
            else:
                log.info("%s; retrying in %.2fs (attempt %d of %d)", failure.error, delay, attempt + 1,
                         policy.max_attempts)  # fmt: skip
            self._sleep(delay)

    def _attempt(
        self,
        op: Operation,
        url: str,
        display: str,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes | None,
        attempt: int,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Response | _Failure:
        with self._count_lock:
            self.request_count += 1
            self.requests_by_operation[op.name] += 1
        started = time.perf_counter()
        try:
            raw = self.session.request(
                op.method, url, params=params, headers=headers, data=body,
                timeout=self._attempt_timeouts(), allow_redirects=False, stream=True,
            )  # fmt: skip
            content = whole_body(raw)
        except requests.RequestException as exc:
            return self._transport_failure(op, exc)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.debug("%s attempt %d: %s -> %d (%d bytes, %.0f ms)", op.name, attempt, display, raw.status_code,
                  len(content), elapsed_ms)
        content_type = raw.headers.get("Content-Type", "")
        status = raw.status_code
        if 200 <= status < 300:
            return self._success(op, status, content_type, content, parse)
        return self._error(op, status, content_type, content, raw.headers.get("Retry-After"))

    def _success(self, op: Operation, status: int, content_type: str, content: bytes,
                 parse: Callable[[bytes], Any] | None = None) -> Response | _Failure:  # fmt: skip
        kind: ResponseKind = op.response
        if kind == "empty":
            return Response(status, content_type, content, None)
        if kind == "text":
            text = content.decode("utf-8", errors="replace")
            if text.startswith('"'):
                with contextlib.suppress(orjson.JSONDecodeError):
                    text = orjson.loads(content)
            return Response(status, content_type, content, text)
        if _looks_like_html(content_type, content):
            # A flaky proxy or WAF answers 200 with its own page now and then: retried like a 5xx (bounded), and
            # when it persists the message says what it probably is.
            problem = (f"{self.host} answered {status} with an HTML page where the spec says JSON (a proxy, firewall "
                       f"or login page in front of the API? check the base URL)")  # fmt: skip
            return _Failure(UnexpectedResponseError(f"{op.name}: {problem}", operation=op.name, status=status),
                            retryable=True)  # fmt: skip
        if parse is not None:
            parsed = parse(content)
            if parsed is not None:
                return Response(status, content_type, content, parsed)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            # JSON announced but unreadable: most likely a body cut short by a dropped connection.
            problem = (f"{status} response is not valid JSON ({_describe_body(content_type, content)}: {exc.msg} at "
                       f"byte {exc.pos})")  # fmt: skip
            return _Failure(UnexpectedResponseError(f"{op.name}: {problem}", operation=op.name, status=status),
                            retryable=True)  # fmt: skip
        return Response(status, content_type, content, data)

    def _error(
        self, op: Operation, status: int, content_type: str, content: bytes, retry_after_header: str | None
    ) -> _Failure:
        code, server_message = _server_error_fields(content)
        if code or server_message:
            detail = f"{code or 'error'}: {server_message or '(no message)'}"
        elif _looks_like_html(content_type, content):
            detail = "an HTML page instead of the JSON error the API sends (response not as the spec says)"
        else:
            detail = _describe_body(content_type, content)
        detail = redact(detail)
        fields: dict[str, Any] = dict(operation=op.name, status=status, error_code=code, server_message=server_message)
        retry_after = parse_retry_after(retry_after_header)
        if status in (401, 403):
            what = "the token was refused" if status == 401 else "the token lacks the permission"
            return _Failure(AuthenticationError(f"{op.name}: {what} ({status} {detail})", **fields), retryable=False)
        if status == 404:
            return _Failure(NotFoundError(f"{op.name}: not found (404 {detail})", **fields), retryable=False)
        if status == 429:
            return _Failure(
                RateLimitedError(f"{op.name}: rate limited (429 {detail})", **fields),
                retryable=True, unsent=True, retry_after=retry_after,
            )  # fmt: skip
        if 500 <= status < 600:
            if _looks_like_html(content_type, content) and not code:
                error: ApiError = ServerError(f"{op.name}: server error {status} with {detail}", **fields)
            else:
                error = ServerError(f"{op.name}: server error ({status} {detail})", **fields)
            return _Failure(error, retryable=status in self.settings.retry.statuses, retry_after=retry_after)
        if 400 <= status < 500:
            return _Failure(BadRequestError(f"{op.name}: bad request ({status} {detail})", **fields), retryable=False)
        return _Failure(
            UnexpectedResponseError(f"{op.name}: unexpected HTTP status {status} ({detail})", **fields),
            retryable=False,
        )

    def _transport_failure(self, op: Operation, exc: requests.RequestException) -> _Failure:
        connect_s, read_s = self._attempt_timeouts()
        unsent = no_answer = False
        if isinstance(exc, requests.ConnectTimeout):
            problem, unsent, no_answer = f"could not connect to {self.host} within {connect_s:g}s", True, True
        elif isinstance(exc, requests.ReadTimeout):
            problem, no_answer = f"no response from {self.host} within {read_s:g}s", True
        elif isinstance(exc, requests.ConnectionError) and _caused_by(exc, _NOT_CONNECTED):
            problem, unsent = f"could not connect to {self.transport.base_url}", True
        elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            problem = "the connection was dropped before a complete response arrived"
        else:
            problem = f"request failed ({type(exc).__name__})"
        error = TransportError(f"{op.name}: {problem}", operation=op.name)
        log.debug("%s: %s: %s", op.name, problem, redact(str(exc)))
        return _Failure(error, retryable=True, unsent=unsent, no_answer=no_answer)

    # ---- report files ---------------------------------------------------------------------------------

    def download(self, url: str, destination: Path, *, name: str = "download_report_file") -> int:
        """GET `url` (absolute, or relative to the base URL) into `destination`; returns the bytes written.

        Retried like a read.  Written to a temporary file first so a failed download leaves no partial file.
        """
        absolute = urljoin(self.transport.base_url + "/", url)
        op = Operation(name, name, "GET", url, "empty")
        partial = destination.with_name(destination.name + ".part")

        def attempt_once(attempt: int) -> int | _Failure:
            with self._count_lock:
                self.request_count += 1
                self.requests_by_operation[name] += 1
            try:
                with self.session.get(absolute, stream=True, timeout=self._attempt_timeouts(),
                                      headers={"Accept": "*/*"}) as raw:  # fmt: skip
                    if raw.status_code != 200:
                        return self._error(op, raw.status_code, raw.headers.get("Content-Type", ""), raw.content,
                                           raw.headers.get("Retry-After"))  # fmt: skip
                    written = 0
                    with partial.open("wb") as out:
                        for chunk in raw.iter_content(chunk_size=1 << 16):
                            out.write(chunk)
                            written += len(chunk)
                    partial.replace(destination)
                    return written
            except requests.RequestException as exc:
                return self._transport_failure(op, exc)
            finally:
                partial.unlink(missing_ok=True)

        return self._with_retries(op, attempt_once)


def whole_body(response: requests.Response) -> bytes:
    """The body of a response requested with ``stream=True``, read in one call.

    ``Response.content`` reads a body in 10 KiB chunks through a Python generator: for the API's pages (about
    700 KB) that loop cost as much CPU as receiving them.  Reading the bench world's 441 pages (312 MB) from
    the replay server took 0.62 CPU-s through ``content`` and 0.35 in one read; the sync against the simulator
    went from 7.46 to 7.03 s (medians of 5).  urllib3 hands the connection back to the pool once the body is
    read whole; a failed read closes it.  Errors become the exceptions ``Response.content`` raises for them.
    """
    if response.is_redirect:  # requests has read this one already, to find where it points
        return response.content
    try:
        try:
            return response.raw.read(decode_content=True)
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
    except BaseException:
        response.close()  # a body not read whole: its connection cannot carry another request
        raise


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
