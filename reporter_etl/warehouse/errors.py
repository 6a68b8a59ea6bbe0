"""Errors of the warehouse layer; each message says what to do, never holds a secret."""

from __future__ import annotations


class WarehouseError(RuntimeError):
    """Base class for every error raised by ``reporter_etl.warehouse``."""


class WarehouseLockedError(WarehouseError):
    """Another writer held the warehouse for longer than we were willing to wait."""


class WarehouseBusyError(WarehouseError):
    """DuckDB refused to open the file because another process has it open in a conflicting mode."""


class WarehousePathError(WarehouseError):
    """``--db`` cannot be a warehouse path at all (empty, a directory): a usage error."""


class ForeignFileError(WarehouseError):
    """The path holds a file that is not a reporter-etl warehouse (not DuckDB, or another tool's DuckDB file)."""


class WarehouseWriteError(WarehouseError):
    """The file could not be written: the disk is full, a file size limit was reached, or the file system refused.
    The transaction that hit it was rolled back; what was committed before stays."""


class SchemaVersionError(WarehouseError):
    """The file was written by a newer reporter-etl whose schema this version does not know."""


class BatchSchemaError(WarehouseError):
    """A batch handed to the loader does not follow the Arrow column contract."""


class LoadError(WarehouseError):
    """A load was asked for something inconsistent (unknown entity, wrong project, run not begun, ...)."""
