"""The vendor's legacy OpenAPI file, which lives beside the checkout in the development workspace and in CI
(``../shared/reference``) but not in a user's clone: tests that need it skip, saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

LEGACY_SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "reporter-api-legacy.openapi.yml"


def legacy_spec() -> dict[str, Any]:
    """The parsed legacy spec, or a skip when the file is not beside this clone."""
    if not LEGACY_SPEC.exists():
        pytest.skip(f"the vendor's OpenAPI file is not beside this clone ({LEGACY_SPEC}); this test needs ../shared")
    return yaml.safe_load(LEGACY_SPEC.read_text(encoding="utf-8"))
