"""reporter-etl: Tovie Platform (JAICP) Reporter API → DuckDB warehouse.

The public Python API is what this package exports (see ``__all__`` and the README's "Python API"); everything
else is private.  The sync calls are imported on first use, so that ``import reporter_etl.warehouse`` (or
``reporter_etl.entities``) does not pull in the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reporter_etl.errors import (
    ApiError,
    AuthenticationError,
    BatchSchemaError,
    ClientError,
    ConfigurationError,
    ContractError,
    DriftError,
    RecordContractError,
    ReporterEtlError,
    SchemaVersionError,
    SyncError,
    TransportError,
    WarehouseBusyError,
    WarehouseError,
    WarehouseLockedError,
)

__version__ = "0.1.0"

# name -> module it lives in, imported on first access
_LAZY = {
    "Settings": "reporter_etl.etl",
    "SyncSession": "reporter_etl.etl",
    "open_sync": "reporter_etl.etl",
    "sync_days": "reporter_etl.etl",
    "reconcile": "reporter_etl.etl",
    "refresh_catalogs": "reporter_etl.etl",
    "SyncResult": "reporter_etl.sync",
    "SyncEvent": "reporter_etl.sync",
    "WindowReport": "reporter_etl.sync",
    "Window": "reporter_etl.windows",
    "WriterLock": "reporter_etl.warehouse.lock",
    "current_writer": "reporter_etl.warehouse.lock",
    "ENTITIES": "reporter_etl.entities",
}

__all__ = [
    "ENTITIES", "ApiError", "AuthenticationError", "BatchSchemaError", "ClientError", "ConfigurationError",
    "ContractError", "DriftError", "RecordContractError", "ReporterEtlError", "SchemaVersionError", "Settings",
    "SyncError", "SyncEvent", "SyncResult", "SyncSession", "TransportError", "WarehouseBusyError", "WarehouseError",
    "WarehouseLockedError", "Window", "WindowReport", "WriterLock", "__version__", "current_writer", "open_sync",
    "reconcile", "refresh_catalogs", "sync_days",
]  # fmt: skip

if TYPE_CHECKING:
    from reporter_etl.entities import ENTITIES
    from reporter_etl.etl import Settings, SyncSession, open_sync, reconcile, refresh_catalogs, sync_days
    from reporter_etl.sync import SyncEvent, SyncResult, WindowReport
    from reporter_etl.warehouse.lock import WriterLock, current_writer
    from reporter_etl.windows import Window


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reporter_etl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
