"""The world a seed generates is pinned: a sha256 over every generated column and the rendered catalogs.

The digests were computed before the World was split into modules and `generate_day` into named steps; a
refactoring of the generator or the World must leave them unchanged (same seed, same world, byte for byte).
A deliberate change to what is generated updates the digests in the same commit, saying why.

Columns are hashed by name, dtype, shape and raw bytes in a fixed order; rendered payloads as canonical JSON.
numpy's Generator streams are stable for a given numpy version; a numpy upgrade that changes a distribution
method would show here first.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import numpy as np

from reporter_etl.simulator.world import World, WorldConfig

UTC_WORLD = WorldConfig(seed=11, days=4, end_date=date(2024, 3, 10), messages_per_day=400, delayed_share=0.05)
# the last day is the spring DST switch in Berlin: minute weights follow a changing UTC offset
BERLIN_WORLD = WorldConfig(seed=5, days=3, end_date=date(2024, 3, 31), messages_per_day=300,
                           timezone="Europe/Berlin", delayed_share=0.02)  # fmt: skip
ADVANCE = timedelta(days=2, hours=5)

PINNED = {
    "utc": "28883bd193f7b89637bf19c7f88cc029e1cf8d73e5bda4ccdd82c8f6b4589ba0",
    "berlin": "58e6aad47fb11ff458b821f35b36bac34be8cd9ef7ac284abb76bfe9215ab780",
    "berlin_advanced": "1a3eec3c833da560700dee7ec9f21521149e6aba65d3460c0eb04895876fbdc2",
}


MESSAGE_COLUMNS = ("ts", "arrival", "kind", "q", "a", "event", "intent", "class", "state", "from", "rule", "conf",
                   "proc", "status", "live", "oper", "page", "prev_page", "exc", "sess", "mix")  # fmt: skip
SESSION_COLUMNS = ("bot", "client", "start", "rows", "result", "result_ms", "incoming", "call_task", "lang", "source",
                   "exp", "m0", "mix")  # fmt: skip
CLIENT_COLUMNS = ("bot", "num", "first", "last", "user_no", "blocked", "block_delay_ms", "block_reason", "blocked_by",
                  "id_num")  # fmt: skip


def _columns(w: World) -> dict[str, np.ndarray]:
    """Every generated table of the world, column by column, under stable names (how the World stores them may
    change; these names and their order may not)."""
    m = w.model
    tables, clients = m.tables, m.clients
    out = {f"message.{name}": getattr(tables, f"m_{name}") for name in MESSAGE_COLUMNS}
    out |= {f"session.{name}": getattr(tables, f"s_{name}") for name in SESSION_COLUMNS}
    out |= {f"client.{name}": getattr(clients, name) for name in CLIENT_COLUMNS}
    for table, store in (("message_label", m.message_label_store), ("session_label", m.session_label_store)):
        out |= {f"{table}.row": store.gen_rows, f"{table}.label": store.gen_labels, f"{table}.set_ms": store.gen_ms}
    c = m.comments
    out |= {"comment.row": c.gen_rows, "comment.text": c.gen_text, "comment.set_ms": c.gen_ms}
    return out


def world_digest(w: World) -> str:
    h = hashlib.sha256()
    for name, col in _columns(w).items():
        col = np.ascontiguousarray(col)
        h.update(f"{name}|{col.dtype.str}|{col.shape}\n".encode())
        h.update(col.tobytes())
    everything = (w.start, w.now)
    rendered = {
        "project": [w.project_short_name, w.account_id, [(b.bot_id, b.channel_type, b.name) for b in w.bots]],
        "messages": w.truth_messages(*everything),
        "sessions": w.truth_sessions(*everything),
        "clients": w.truth_clients(*everything),
        "message_labels": w.message_labels(),
        "label_groups": w.label_groups(),
        "session_labels": w.session_labels(),
        "experiments": w.experiments(),
        "held_back": w.held_back_count(),
    }
    h.update(json.dumps(rendered, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def test_generated_world_hash_is_pinned() -> None:
    utc = World(UTC_WORLD)
    berlin = World(BERLIN_WORLD)
    got = {"utc": world_digest(utc), "berlin": world_digest(berlin)}
    berlin.advance(ADVANCE)
    got["berlin_advanced"] = world_digest(berlin)
    assert got == PINNED
