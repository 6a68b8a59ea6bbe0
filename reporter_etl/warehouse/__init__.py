"""The DuckDB warehouse: raw.* tables, meta.* sync state, atomic window loads, one writer at a time.

Usage by a sync (one writer; readers use ``open_readonly``)::

    from reporter_etl.warehouse import Warehouse

    with Warehouse.open("reporter.duckdb", lock_timeout=60) as wh:
        run_id = wh.begin_run(project, requested_start=first.start, requested_end=last.end)
        try:
            done = set(wh.done_windows(project))
            for window in windows:
                if (window.start, window.end) in done and window not in lookback:
                    continue
                with wh.window_load(project, ("messages", "sessions", "clients"),
                                    window.start, window.end, run_id) as transaction:
                    transaction.add("messages", messages_table)  # Table / RecordBatch / reader, any number of calls
                    transaction.add("sessions", sessions_table)
                    transaction.add("clients", clients_table)
                # here the rows and the window's sync_state rows are committed together (transaction.loaded)
            wh.replace_catalogs(project, run_id, message_labels=client.message_labels(), ...)
            wh.upsert_daily_stats(project, run_id, [{"metric": "messages", "day": d, "value": v}, ...])
            wh.finish_run(run_id, request_count=client.request_count)
        except Exception as exc:
            wh.finish_run(run_id, status="failed", error_message=str(exc))
            raise
"""

from reporter_etl.errors import (
    BatchSchemaError,
    LoadError,
    SchemaVersionError,
    WarehouseBusyError,
    WarehouseError,
    WarehouseLockedError,
)
from reporter_etl.warehouse.catalogs import CATALOGS, DAILY_STATS_SCHEMA, catalog_table
from reporter_etl.warehouse.db import open_readonly
from reporter_etl.warehouse.load import WINDOW_ENTITIES, WindowLoaded, WindowTransaction
from reporter_etl.warehouse.lock import LockHolder, WriterLock, current_writer
from reporter_etl.warehouse.schema import SCHEMA_VERSION, ensure_schema, schema_version
from reporter_etl.warehouse.state import (
    RUN_FAILED,
    RUN_INTERRUPTED,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    EntityProgress,
    ProjectStatus,
    RunRecord,
    WarehouseStatus,
    WindowState,
    new_run_id,
)
from reporter_etl.warehouse.writer import DEFAULT_LOCK_TIMEOUT_S, Warehouse, warehouse_status

__all__ = [
    "CATALOGS",
    "DAILY_STATS_SCHEMA",
    "DEFAULT_LOCK_TIMEOUT_S",
    "RUN_FAILED",
    "RUN_INTERRUPTED",
    "RUN_RUNNING",
    "RUN_SUCCEEDED",
    "SCHEMA_VERSION",
    "WINDOW_ENTITIES",
    "BatchSchemaError",
    "EntityProgress",
    "LoadError",
    "LockHolder",
    "ProjectStatus",
    "RunRecord",
    "SchemaVersionError",
    "Warehouse",
    "WarehouseBusyError",
    "WarehouseError",
    "WarehouseLockedError",
    "WarehouseStatus",
    "WindowLoaded",
    "WindowState",
    "WindowTransaction",
    "WriterLock",
    "catalog_table",
    "current_writer",
    "ensure_schema",
    "new_run_id",
    "open_readonly",
    "schema_version",
    "warehouse_status",
]
