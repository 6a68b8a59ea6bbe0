"""Dagster wrapping of the reporter_etl core (assets, resources, schedules, checks); arrives with its own issue."""
