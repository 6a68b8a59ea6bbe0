"""A simulator of the Tovie Platform (JAICP) legacy Reporter API: a deterministic synthetic project (the World)
served over real HTTP with optional fault injection.

    from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig

    with Simulator(WorldConfig(seed=7, days=3, messages_per_day=100), token="t") as sim:
        sim.base_url      # http://127.0.0.1:<port>; the API is under /api/reporter/p/<token>/...
        sim.world         # the World (ground truth for tests)
        sim.faults = FaultConfig(seed=1, rate_limit=0.2)
        sim.advance(hours=6)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reporter_etl.simulator.faults import FaultConfig
    from reporter_etl.simulator.operations import OPERATIONS, Operation
    from reporter_etl.simulator.server import MAX_PAGE_SIZE, Simulator
    from reporter_etl.simulator.world import FilterError, NotFound, World, WorldConfig

# Loaded on first use, so that `reporter-etl` commands that never serve do not pay for numpy and the World.
_EXPORTS = {
    "FaultConfig": "faults",
    "OPERATIONS": "operations",
    "Operation": "operations",
    "MAX_PAGE_SIZE": "server",
    "Simulator": "server",
    "FilterError": "world",
    "NotFound": "world",
    "World": "world",
    "WorldConfig": "world",
}

__all__ = [
    "MAX_PAGE_SIZE",
    "OPERATIONS",
    "FaultConfig",
    "FilterError",
    "NotFound",
    "Operation",
    "Simulator",
    "World",
    "WorldConfig",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
