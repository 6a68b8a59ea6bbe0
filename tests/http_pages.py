"""Paging through a simulator list with a plain ``requests`` session, as a user of the raw API would."""

from __future__ import annotations

import requests

from reporter_etl.simulator import Simulator

PAGE_SIZE = 1000


def all_rows(http: requests.Session, sim: Simulator, entity: str, filters: list[dict], **params: object) -> list[dict]:
    """Every row of ``{entity}/filter`` under ``filters``; the pages must add up to the reported totalCount."""
    rows: list[dict] = []
    page = 0
    while True:
        response = http.post(f"{sim.api_url}/{entity}/filter", params={"page": page, "size": PAGE_SIZE, **params},
                             json={"filters": filters}, timeout=60)  # fmt: skip
        assert response.status_code == 200, response.text
        data = response.json()
        rows += data[entity]
        page += 1
        if page * PAGE_SIZE >= data["paging"]["totalCount"]:
            assert len(rows) == data["paging"]["totalCount"]
            return rows
