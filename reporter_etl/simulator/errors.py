"""Errors the World raises; the HTTP layer turns them into `{error, message, args}` bodies (400 and 404)."""

from __future__ import annotations


class _ApiError(Exception):
    """An error with a machine code, a human message and string arguments naming what was wrong.

    `args` holds the argument map (as the interface names it); the message alone is what `str()` shows.
    """

    def __init__(self, error: str, message: str, args: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.details: dict[str, str] = {str(k): str(v) for k, v in (args or {}).items()}

    # Exception.args is a tuple slot; the interface promises `args` as the map, so shadow it for readers.
    @property  # type: ignore[override]
    def args(self) -> dict[str, str]:  # type: ignore[override]
        return self.details

    @args.setter
    def args(self, value: object) -> None:  # BaseException.__init__ never calls it, but keep `e.args = x` safe
        pass

    def body(self) -> dict[str, object]:
        return {"error": self.error, "message": self.message, "args": dict(self.details)}

    def __reduce__(self):  # keep exceptions picklable (pytest-xdist ships them between processes)
        return (type(self), (self.error, self.message, dict(self.details)))


class FilterError(_ApiError, ValueError):
    """Bad input: a filter, a body field or a parameter the World cannot accept (HTTP 400)."""


class NotFound(_ApiError, LookupError):
    """An id the World does not know (HTTP 404)."""
