"""Is this path a warehouse reporter-etl may use?  Checked before the writer lock is taken and before anything
is written, so that a wrong ``--db`` leaves the file (and its folder) exactly as it was.

- an empty path or a directory is a usage error;
- an existing file must be a DuckDB file (its header says ``DUCK``): a text file, random bytes or an empty file
  are refused without a byte written, and without a ``.lock`` beside them;
- a DuckDB file must be ours: a file with tables but without ``meta.schema_version`` belongs to another tool
  (which may have its own ``raw.messages``), and is refused before a schema is added to it.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from reporter_etl.errors import ForeignFileError, WarehousePathError
from reporter_etl.warehouse.lock import lock_path

# A DuckDB file starts with an 8-byte checksum, then the magic bytes.
DUCKDB_MAGIC = b"DUCK"
MAGIC_OFFSET = 8


def check_path(path: str | os.PathLike[str], *, must_exist: bool = False) -> Path:
    """The warehouse path, if it can be one: a usage error (WarehousePathError) or a file problem
    (ForeignFileError, WarehouseError) otherwise.  Reads at most 12 bytes; writes nothing."""
    text = os.fspath(path)
    if not text.strip():
        raise WarehousePathError("--db is empty: give the warehouse file's path, e.g. --db warehouse.duckdb")
    db = Path(text)
    if db.is_dir():
        raise WarehousePathError(
            f"--db {text} is a directory: give a file path, e.g. --db {db / 'warehouse.duckdb'}"
        )
    lock = lock_path(db)
    if lock.exists() and not lock.is_file():
        raise ForeignFileError(
            f"{lock} is a directory (or another non-file), where reporter-etl keeps the writer lock of {text}: "
            f"remove it and run again"
        )
    if not db.exists():
        if must_exist:
            raise ForeignFileError(f"no warehouse at {text}: run `reporter-etl sync --db {text}` first")
        return db
    if not db.is_file():
        raise ForeignFileError(f"{text} is not a regular file: give the warehouse file's path with --db")
    try:
        with db.open("rb") as handle:
            header = handle.read(MAGIC_OFFSET + len(DUCKDB_MAGIC))
    except OSError as exc:
        raise ForeignFileError(f"cannot read {text}: {exc.strerror or exc}") from None
    if header[MAGIC_OFFSET:] != DUCKDB_MAGIC:
        raise ForeignFileError(
            f"{text} is not a DuckDB file (an empty, text or other file); reporter-etl leaves it alone: give a new "
            f"path or the warehouse file with --db"
        )
    return db


def check_is_ours(con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str]) -> None:
    """Refuse a DuckDB file that holds tables but no ``meta.schema_version`` (another tool's); reads only."""
    tables = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY table_schema = 'raw' DESC, 1"
    ).fetchall()
    names = [name for (name,) in tables]
    if not names or "meta.schema_version" in names:
        return
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    raise ForeignFileError(
        f"{os.fspath(path)} is a DuckDB file but not a reporter-etl warehouse (it holds {shown} and no "
        f"meta.schema_version); reporter-etl does not write into another tool's file: give a new path with --db"
    )
