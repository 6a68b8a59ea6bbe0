"""Filter discovery: `GET filters` (FilterInfo), `filter-options` (FilterOption) and `interval-filter-options`.

FilterInfo describes exactly the key -> type mapping `filters.py` enforces.  Options are counted over the rows
matching the other filters sent (the key's own filter is left out and only marks `isSelected`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from . import vocab
from .errors import FilterError
from .filters import (
    CHECKBOX_COMPARISONS,
    COMPOSITE_COMPARISONS,
    KEY_SPECS,
    KEYS,
    TEXT_COMPARISONS,
    Checkbox,
    Condition,
    Radio,
    parse_filters,
)
from .model import WorldModel
from .query import Engine
from .texts import TEXTS

_TEXT_LABELS = {"NOT_IMPORTANT": "Not important", "CONTAINS": "Contains", "NOT_CONTAINS": "Does not contain",
                "EQUALS": "Equals"}  # fmt: skip
_CHECKBOX_LABELS = {"NOT_IMPORTANT": "Not important", "NOT_EXISTS": "None", "EXISTS": "Any",
                    "CONTAINS": "Any of the selected", "NOT_CONTAINS": "None of the selected"}  # fmt: skip
_COMPOSITE_LABELS = {"NOT_IMPORTANT": "Key exists", "CONTAINS": "Contains", "NOT_CONTAINS": "Does not contain",
                     "EQUALS": "Equals", "NOT_EQUALS": "Does not equal", "STARTS_WITH": "Starts with",
                     "ENDS_WITH": "Ends with"}  # fmt: skip
_RADIO_LABELS = {"YES": "Yes", "NO": "No", "NOT_IMPORTANT": "Not important", "ANY": "Any", "CLIENT": "Client",
                 "BOT": "Bot", "WITH_TRANSFER": "With transfer", "WITHOUT_TRANSFER": "Without transfer"}  # fmt: skip
_DATE_DEFAULTS = {"MESSAGE_TIME": (2, "WEEK"), "SESSION_START_TIME": (1, "DAY"), "SESSION_END_TIME": (1, "DAY")}
_SEARCHABLE = {"SESSION_ID", "CLIENT_ID_OR_NAME", "CALL_TASK_ID"}
_STATIC_CHECKBOX = {"CHANNEL_TYPE", "MESSAGE_TYPE"}
OPTION_LIMIT = 1000


def _settings(w: WorldModel, spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "key": spec.key,
        "type": spec.type,
        "filterDependent": spec.type in ("CHECKBOX", "TREE") and spec.key not in _STATIC_CHECKBOX,
        "withFilterInput": spec.type in ("TEXT", "COMPOSITE_FILTER", "CUSTOM_FIELDS_IN_RESPONSE")
        or spec.key in _SEARCHABLE,
    }
    checkbox_opts = [{"type": t, "label": _CHECKBOX_LABELS[t], "isDefault": t == "CONTAINS"}
                     for t in CHECKBOX_COMPARISONS]  # fmt: skip
    if spec.type == "TEXT":
        s["placeholder"] = "Enter text"
        s["comparisonOptions"] = [{"type": t, "label": _TEXT_LABELS[t], "isDefault": t == "CONTAINS"}
                                  for t in TEXT_COMPARISONS]  # fmt: skip
    elif spec.type == "DATE_TIME_RANGE":
        offset, unit = _DATE_DEFAULTS.get(spec.key, (1, "MONTH"))
        s["defaultValue"] = {"offset": offset, "unit": unit}
    elif spec.type == "CHECKBOX":
        s["placeholder"] = "Select values"
        s["comparisonOptions"] = checkbox_opts
        s["defaultPageSizeForOptions"] = 20
        s["staticOptions"] = _static_options(w, spec.key)
    elif spec.type == "RADIO":
        s["comparisonOptions"] = []
        s["staticOptions"] = [_option(o, _RADIO_LABELS[o]) for o in spec.radio_options]
    elif spec.type == "TREE":
        s["comparisonOptions"] = checkbox_opts
        s["placeholder"] = "Select states"
        s["altClickEnabled"] = True
    elif spec.type == "COMPOSITE_FILTER":
        s["placeholder"] = "Key"
        s["popularLabel"] = "Popular keys"
        s["description"] = "Conditions on the session's sessionData map; all must hold"
        s["comparisonOptions"] = [
            {"type": t, "label": _COMPOSITE_LABELS[t], "isDefault": t == "EQUALS",
             "withInputField": t != "NOT_IMPORTANT"}
            for t in COMPOSITE_COMPARISONS
        ]  # fmt: skip
    elif spec.type == "CUSTOM_FIELDS_IN_RESPONSE":
        s["placeholder"] = "JSON path, e.g. request.data.phone"
    return s


def _static_options(w: WorldModel, key: str) -> list[dict[str, Any]]:
    if key == "CHANNEL_TYPE":
        return [_option(c, c) for c in dict.fromkeys(b.channel_type for b in w.bots)]
    if key == "MESSAGE_TYPE":
        return [_option(t, t.capitalize()) for t in vocab.MESSAGE_TYPES]
    return []


def filter_infos(w: WorldModel, section: str) -> list[dict[str, Any]]:
    out = []
    for spec in KEY_SPECS:
        default = spec.is_default or (section == "CLIENTS" and spec.key == "CLIENT_LAST_ACTIVITY_TIME")
        out.append({"key": spec.key, "type": spec.type, "label": spec.label, "isDefault": default,
                    "isRequired": False, "settings": _settings(w, spec)})  # fmt: skip
    return out


def _option(value: str, label: str, selected: bool = False, frequency: int | None = None,
            parent: str | None = None, children: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    d: dict[str, Any] = {"value": value, "label": label, "isSelected": selected}
    if frequency is not None:
        d["frequency"] = frequency
    if parent is not None:
        d["parentValue"] = parent
    if children:
        d["childValues"] = children
    return d


def _split(key: str, filters: Any) -> tuple[list[Condition], set[str]]:
    conds = parse_filters(filters)
    selected: set[str] = set()
    for c in conds:
        if c.key == key:
            if isinstance(c, Checkbox):
                selected.update(c.options)
            elif isinstance(c, Radio):
                selected.add(c.option)
    return [c for c in conds if c.key != key], selected


def _counted(values: list[int], texts: Any, selected: set[str], labels: Any = None) -> list[dict[str, Any]]:
    counts = Counter(v for v in values if v >= 0)
    out = []
    for i, text in enumerate(texts):
        if counts.get(i):
            out.append(_option(text, labels[i] if labels else text, text in selected, counts[i]))
    return out


def _tree(values: list[int], texts: Any, selected: set[str]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for v in values:
        if v < 0:
            continue
        path = texts[v]
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            counts["/" + "/".join(parts[:depth])] += 1
    paths = sorted(counts)
    children: dict[str, list[str]] = {}
    for p in paths:
        parent = p.rsplit("/", 1)[0]
        if parent and parent in counts:
            children.setdefault(parent, []).append(p)
    out = []
    for p in paths:
        parent = p.rsplit("/", 1)[0]
        out.append(_option(p, p, p in selected, counts[p], parent if parent in counts else None, children.get(p)))
    return out


def filter_options(e: Engine, key: str, filters: Any) -> list[dict[str, Any]]:
    w = e.w
    conds, selected = _split(key, filters)
    spec = KEYS[key]
    if spec.type == "RADIO":
        return [_option(o, _RADIO_LABELS[o], o in selected) for o in spec.radio_options]
    if key in ("CHANNEL_TYPE", "BOT_ID", "SESSION_RESULT", "CALL_TASK_ID", "SESSION_LABELS", "SESSION_DATA"):
        srows = e.sessions(conds)
        if key == "CHANNEL_TYPE":
            channels = [w.bots[b].channel_type for b in w.tables.s_bot[srows].tolist()]
            counts = Counter(channels)
            return [_option(c, c, c in selected, counts[c]) for c in dict.fromkeys(b.channel_type for b in w.bots)
                    if counts[c]]  # fmt: skip
        if key == "BOT_ID":
            bot_ids, names = [b.bot_id for b in w.bots], [b.name for b in w.bots]
            return _counted(w.tables.s_bot[srows].tolist(), bot_ids, selected, names)
        if key == "SESSION_RESULT":
            return _counted(w.result_values(srows).tolist(), vocab.SESSION_RESULTS, selected)
        if key == "CALL_TASK_ID":
            counts = Counter(w.tables.s_call_task[srows].tolist())
            return [_option(str(t), str(t), str(t) in selected, counts[t]) for t in sorted(counts) if t >= 0]
        if key == "SESSION_LABELS":
            prow, plab = w.annotations().session_labels
            counts = Counter(plab[np.isin(prow, srows)].tolist())
            return [_option(str(d["id"]), d["name"], str(d["id"]) in selected or d["name"] in selected,
                            counts.get(d["id"], 0)) for d in w.catalog.session_label_list()]  # fmt: skip
        out = []
        for name in w.session_data_keys():
            values, _ = w.session_data_values(srows, name)
            n = int((values >= 0).sum())
            if n:
                out.append(_option(name, name, name in selected, n))
        return out
    if key in ("LOG_LABELS", "NLP_CLASS", "NLP_STATE", "STATE_ROUTES", "INTENT", "MESSAGE_TYPE"):
        rows = e.messages(conds)
        if key == "LOG_LABELS":
            prow, plab = w.annotations().message_labels
            counts = Counter(plab[np.isin(prow, rows)].tolist())
            return [_option(str(lab["id"]), lab["name"], str(lab["id"]) in selected or lab["name"] in selected,
                            counts.get(lab["id"], 0), lab["group"]["name"])
                    for lab in w.catalog.message_labels()]  # fmt: skip
        if key == "NLP_CLASS":
            return _tree(w.tables.m_class[rows].tolist(), TEXTS.classes, selected)
        if key in ("NLP_STATE", "STATE_ROUTES"):
            return _tree(w.tables.m_state[rows].tolist(), TEXTS.states, selected)
        if key == "INTENT":
            return _counted(w.intent_values(rows).tolist(), TEXTS.intent_names, selected)
        return _counted(w.tables.m_kind[rows].astype(np.int64).tolist(), vocab.MESSAGE_TYPES, selected)
    if key == "SESSION_ID":
        srows = e.sessions(conds)[::-1][:OPTION_LIMIT]
        return [_option(s, s, s in selected) for s in w.session_ids(srows)]
    if key == "CLIENT_ID_OR_NAME":
        crows = e.clients(conds)
        crows = crows[np.argsort(w.view().c_rank[crows], kind="stable")][:OPTION_LIMIT]
        out = []
        for info in w.client_identities(crows):
            name = " ".join(x for x in (info.get("firstName"), info.get("lastName")) if x) or info.get("username")
            out.append(_option(info["id"], name or info["id"], info["id"] in selected))
        return out
    return []  # TEXT, DATE_TIME_RANGE, NUMERIC_RANGE, CUSTOM_FIELDS_IN_RESPONSE: nothing to pick from


def interval_options(e: Engine, key: str, filters: Any) -> dict[str, float]:
    w = e.w
    conds, _ = _split(key, filters)
    v = w.view()
    if key == "MESSAGE_COUNT":
        values = v.s_count[e.sessions(conds)]
    elif key == "MESSAGE_TIME":
        values = w.tables.m_ts[e.messages(conds)]
    elif key == "SESSION_START_TIME":
        values = w.tables.s_start[e.sessions(conds)]
    elif key == "SESSION_END_TIME":
        values = v.s_end[e.sessions(conds)]
    elif key == "CLIENT_JOIN_TIME":
        values = v.c_join[e.clients(conds)]
    elif key == "CLIENT_LAST_ACTIVITY_TIME":
        values = v.c_last[e.clients(conds)]
    else:
        raise FilterError("reporter.filter.not_interval", f"Filter {key} has no interval options", {"key": key})
    if not len(values):
        return {"minValue": 0.0, "maxValue": 0.0}
    return {"minValue": float(values.min()), "maxValue": float(values.max())}
