"""Reading a mart into pandas for notebooks: read-only, so it never gets in a sync's way for longer than a query."""

from __future__ import annotations

import os
from datetime import date
from typing import TYPE_CHECKING

from reporter_etl.warehouse import open_readonly

if TYPE_CHECKING:  # DuckDB's .df() imports pandas when a mart is read: every CLI command need not pay for it
    import pandas as pd


def read_mart(
    db_path: str | os.PathLike[str],
    name: str,
    start: date | str | None = None,
    end: date | str | None = None,
) -> pd.DataFrame:
    """The table ``name`` (``daily_conversations`` or ``marts.daily_conversations``; staging views too) as a
    DataFrame; ``start``/``end`` keep the days in that range, both included (for tables with a ``day`` column)."""
    schema, _, table = name.rpartition(".")
    schema = schema or "marts"
    con = open_readonly(db_path)
    try:
        columns = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [schema, table]
            ).fetchall()
        ]
        if not columns:
            known = [
                f"{s}.{t}"
                for s, t in con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'staging') "
                    "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE schema_name = 'staging' "
                    "ORDER BY 1, 2"
                ).fetchall()
            ]
            raise KeyError(f"no table {schema}.{table} in {os.fspath(db_path)}; there are: {', '.join(known)}")
        where, params = [], []
        if start is not None or end is not None:
            if "day" not in columns:
                raise ValueError(f"{schema}.{table} has no day column; read it without start/end")
            if start is not None:
                where.append("day >= ?::DATE")
                params.append(str(start))
            if end is not None:
                where.append("day <= ?::DATE")
                params.append(str(end))
        sql = f'SELECT * FROM "{schema}"."{table}"'
        if where:
            sql += " WHERE " + " AND ".join(where)
        order = [c for c in ("day", "project_short_name", "bot_id", "channel_type") if c in columns]
        if order:
            sql += " ORDER BY " + ", ".join(order)
        return con.execute(sql, params).df()
    finally:
        con.close()
