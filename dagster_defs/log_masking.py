"""Keeping every project's API token out of what a Dagster process logs, stores and captures.

In a run, a record can reach disk three ways: the event log (``context.log``, and every logger listed under
``python_logs: managed_python_loggers`` in dagster.yaml), the captured stdout/stderr of the step (the console
logger, handlers on the root logger, Python's last-resort handler, print()), and handlers a user installs.
Dagster's run log handler ignores the filters added to it and stores its own copy of each message, so a filter on
a handler cannot mask the event log: the records are masked as they are created, whatever logger makes them, and
the standard streams are masked as they are written.  Handler filters stay on the root logger's handlers and the
last-resort handler for records rebuilt outside the record factory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

from dagster_defs.projects import LocationConfig
from reporter_etl.api.redaction import (
    mask_secrets_in_handlers,
    mask_secrets_in_records,
    mask_secrets_in_streams,
    register_secret,
)


def mask_tokens(token_envs: Iterable[str], tokens: Iterable[str] = (),
                environ: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """Mask ``tokens`` and the values of the variables ``token_envs`` in every log record and in stdout/stderr of
    this process from now on.  Idempotent; a variable that is not set is skipped."""
    env = os.environ if environ is None else environ
    for value in [*tokens, *(env.get(name, "") for name in token_envs)]:
        for form in {value, value.strip()}:
            if form:
                register_secret(form)
    mask_secrets_in_records()
    mask_secrets_in_handlers()  # the root logger's, e.g. a logging.basicConfig() in the user's own code
    if logging.lastResort is not None:
        mask_secrets_in_handlers(logging.lastResort)
    mask_secrets_in_streams()


def mask_location_tokens(location: LocationConfig, environ: Mapping[str, str] | None = None) -> None:
    """Mask the token of every project of the code location."""
    mask_tokens((project.token_env for project in location.projects), environ=environ)
