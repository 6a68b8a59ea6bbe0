"""Keeping the API token out of every text the client produces or lets others produce.

The legacy API carries the token in the URL path, so anything that prints a URL would print the token:
``requests`` exceptions ("Max retries exceeded with url: /api/reporter/p/<token>/..."), urllib3's DEBUG
lines ('"GET /api/reporter/p/<token>/... HTTP/1.1" 200') and its retry warnings.  The client registers its
token here; ``redact`` replaces every registered token (raw and URL-encoded) with ``***``.

Logs are masked at the handler: a filter on a logger sees only the records created by that very logger, never
those of its children or of loggers nobody listed, while a filter on a handler sees every record it is about to
write.  The CLI puts ``RedactingFilter`` on the handlers it installs; a program embedding the library (a Dagster
code location, a notebook) calls ``mask_secrets_in_handlers()`` once its handlers exist.  The filters on the
HTTP stack's own loggers stay, for programs that install no handler at all (Python's last-resort handler).

A host whose handlers ignore filters, or copy a record's message before any filter runs, needs the record masked
earlier: ``mask_secrets_in_records()`` masks every record as it is created (Dagster's run log handler is such a
host), and ``mask_secrets_in_streams()`` masks what is written to ``sys.stdout`` and ``sys.stderr`` (print(), and
handlers that look the stream up at each write), which is what a captured-output log stores.
"""

from __future__ import annotations

import logging
import sys
import threading
from urllib.parse import quote

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# Loggers of the HTTP stack that may format a URL. A filter on a logger only sees records created by that
# very logger (not its children), so each one is named.
HTTP_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
    "reporter_etl",
)


class Secret:
    """A string that does not show itself in repr() or str()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def register_secret(value: str) -> None:
    """Remember `value` (and its URL-encoded spellings) so that ``redact`` and the log filter mask it."""
    if len(value) < 4:  # masking a one-letter "token" would shred every message; such tokens are rejected anyway
        return
    forms = {value, quote(value, safe=""), quote(value, safe=":"), quote(value)}
    with _lock:
        _secrets.update(f for f in forms if f)
    install_log_redaction()


def redact(text: str) -> str:
    if not _secrets:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: an encoded form contains the raw one
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack with every registered secret masked (the record is kept,
    never dropped).  Works on a logger and on a handler; on a handler it covers every logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix; show it unformatted but masked
            message = f"{record.msg} {record.args}"
        masked = redact(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatted here, masked, and cached where every Formatter looks first; the exception itself (whose
            # text may hold the token) is not formatted again.
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


_FILTER = RedactingFilter()
_installed = False


def mask_secrets_in_handlers(*handlers: logging.Handler) -> None:
    """Mask registered secrets in everything ``handlers`` write, whichever logger a record comes from.

    Without arguments: every handler of the root logger (call it after logging is configured).  Idempotent."""
    for handler in handlers or tuple(logging.getLogger().handlers):
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(_FILTER)


def install_log_redaction() -> None:
    """Attach the redacting filter to the HTTP stack's loggers (idempotent)."""
    global _installed
    if _installed:
        return
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    _installed = True


def mask_secrets_in_records() -> None:
    """Mask registered secrets in every log record as it is created, whichever logger makes it and whichever
    handler sees it later (even one that ignores filters).  Wraps the current record factory; idempotent.

    Records made by ``logging.makeLogRecord`` (rebuilt from a dict, e.g. received over a socket) get their fields
    after the factory ran; the handler filters cover those."""
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_secrets", False):
        return

    def masking_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _FILTER.filter(record)
        return record

    masking_factory.masks_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)


class MaskingStream:
    """A text stream that writes through to another with every registered secret masked.

    A secret split across two writes is not seen; print() and logging write a message in one call."""

    def __init__(self, stream: object) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(redact(text) if isinstance(text, str) else text)  # type: ignore[attr-defined]
        return len(text)

    def writelines(self, lines: object) -> None:
        for line in lines:  # type: ignore[attr-defined]
            self.write(line)

    def __getattr__(self, name: str) -> object:  # fileno, flush, encoding, isatty, buffer, ...
        return getattr(self.wrapped, name)


def mask_secrets_in_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in a ``MaskingStream`` unless they already are one.

    Output written to the file descriptors directly (a child process, ``sys.stdout.buffer``) is not masked."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, MaskingStream):
            setattr(sys, name, MaskingStream(stream))
