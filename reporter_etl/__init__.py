"""reporter-etl: Tovie Platform (JAICP) Reporter API → DuckDB warehouse."""

__version__ = "0.1.0"
