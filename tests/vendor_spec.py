"""The vendor's legacy OpenAPI file, which lives beside the checkout in the development workspace and in CI
(``../shared/reference``) but not in a user's clone: tests that need it skip, saying why."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

LEGACY_SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "reporter-api-legacy.openapi.yml"


@functools.cache
def _parsed(text: str) -> dict[str, Any]:
    # libyaml's loader where PyYAML has it: the same result, five times faster.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def legacy_spec() -> dict[str, Any]:
    """The parsed legacy spec (each caller gets its own copy), or a skip when the file is not beside this clone."""
    if not LEGACY_SPEC.exists():
        pytest.skip(f"the vendor's OpenAPI file is not beside this clone ({LEGACY_SPEC}); this test needs ../shared")
    return copy.deepcopy(_parsed(LEGACY_SPEC.read_text(encoding="utf-8")))
