"""Account-level catalogs: message labels and their groups, session labels, scenario experiments.

Plain Python objects (a few dozen entries); the World bumps its version around every write.  Dicts are
rendered in the spec's field order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import vocab
from .errors import FilterError, NotFound

EXPERIMENT_STATUSES = ("CREATED", "RUNNING", "STOPPED")


def _bad(code: str, message: str, **args: Any) -> FilterError:
    return FilterError(f"reporter.{code}", message, {k: str(v) for k, v in args.items()})


def _require(body: Any, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(body, dict):
        raise _bad("body.malformed", f"{what}: the body must be a JSON object")
    value = body.get(name)
    if value is None:
        raise _bad("body.missing_field", f"{what}: the field '{name}' is required", field=name)
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _bad("body.malformed", f"{what}: the field '{name}' has the wrong type", field=name)
    return value


def _optional(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _bad("body.malformed", f"{what}: the field '{name}' has the wrong type", field=name)
    return value


def _int_id(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise _bad("body.malformed", f"{what}: id must be an integer", value=value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad("body.malformed", f"{what}: id must be an integer", value=value) from None


@dataclass
class Group:
    id: int
    name: str
    priority: int

    def dto(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "priority": self.priority}


@dataclass
class MessageLabel:
    id: int
    name: str
    priority: int
    group_id: int


@dataclass
class SessionLabel:
    id: int
    name: str
    priority: int

    def dto(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "priority": self.priority}


class LabelCatalog:
    def __init__(self) -> None:
        self.groups: dict[int, Group] = {}
        self.labels: dict[int, MessageLabel] = {}
        self.session_labels: dict[int, SessionLabel] = {}
        for gid, gname, gprio, labels in vocab.MESSAGE_LABEL_GROUPS:
            self.groups[gid] = Group(gid, gname, gprio)
            for lid, lname, lprio in labels:
                self.labels[lid] = MessageLabel(lid, lname, lprio, gid)
        for lid, lname, lprio in vocab.SESSION_LABELS:
            self.session_labels[lid] = SessionLabel(lid, lname, lprio)
        self._dto_cache: dict[int, dict[str, Any]] | None = None

    # --- reads -----------------------------------------------------------------------------------------

    def label_dto(self, label_id: int) -> dict[str, Any]:
        if self._dto_cache is None:
            self._dto_cache = {}
            for lab in self.labels.values():
                g = self.groups[lab.group_id]
                self._dto_cache[lab.id] = {"id": lab.id, "name": lab.name, "priority": lab.priority, "group": g.dto()}
        return self._dto_cache[label_id]

    def message_label_ids(self) -> np.ndarray:
        return np.array(sorted(self.labels), dtype=np.int64)

    def session_label_ids(self) -> np.ndarray:
        return np.array(sorted(self.session_labels), dtype=np.int64)

    def sorted_labels(self) -> list[MessageLabel]:
        def key(lab: MessageLabel) -> tuple[int, int, int, int]:
            g = self.groups[lab.group_id]
            return (g.priority, g.id, lab.priority, lab.id)

        return sorted(self.labels.values(), key=key)

    def message_labels(self) -> list[dict[str, Any]]:
        return [dict(self.label_dto(lab.id)) for lab in self.sorted_labels()]

    def message_label(self, label_id: int) -> dict[str, Any]:
        return dict(self.label_dto(self._label(label_id).id))

    def label_groups(self) -> list[dict[str, Any]]:
        return [g.dto() for g in sorted(self.groups.values(), key=lambda g: (g.priority, g.id))]

    def label_group(self, group_id: int) -> dict[str, Any]:
        return self._group(group_id).dto()

    def session_label_list(self) -> list[dict[str, Any]]:
        return [s.dto() for s in sorted(self.session_labels.values(), key=lambda s: (s.priority, s.id))]

    def session_label(self, label_id: int) -> dict[str, Any]:
        return self._session_label(label_id).dto()

    def resolve_message_labels(self, values: tuple[str, ...]) -> np.ndarray:
        return _resolve(values, {lab.id: lab.name for lab in self.labels.values()})

    def resolve_session_labels(self, values: tuple[str, ...]) -> np.ndarray:
        return _resolve(values, {lab.id: lab.name for lab in self.session_labels.values()})

    def _label(self, label_id: Any) -> MessageLabel:
        lab = self.labels.get(_int_id(label_id, "message label"))
        if lab is None:
            raise NotFound("reporter.label.not_found", f"No message label with id {label_id}", {"id": str(label_id)})
        return lab

    def _group(self, group_id: Any) -> Group:
        g = self.groups.get(_int_id(group_id, "label group"))
        if g is None:
            raise NotFound("reporter.label_group.not_found", f"No label group with id {group_id}",
                           {"id": str(group_id)})  # fmt: skip
        return g

    def _session_label(self, label_id: Any) -> SessionLabel:
        lab = self.session_labels.get(_int_id(label_id, "session label"))
        if lab is None:
            raise NotFound("reporter.session_label.not_found", f"No session label with id {label_id}",
                           {"id": str(label_id)})  # fmt: skip
        return lab

    def check_message_label(self, label_id: Any) -> int:
        return self._label(label_id).id

    def check_session_label(self, label_id: Any) -> int:
        return self._session_label(label_id).id

    # --- writes ----------------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._dto_cache = None

    @staticmethod
    def _next_id(used: Any, floor: int) -> int:
        return max([floor, *used]) + 1

    def create_message_label(self, body: Any) -> dict[str, Any]:
        what = "MessageLabelCreate"
        name = _require(body, "name", str, what)
        priority = _require(body, "priority", int, what)
        group_body = _require(body, "group", dict, what)
        gname = _require(group_body, "name", str, "MessageLabelGroupDto")
        gid = _optional(group_body, "id", int, "MessageLabelGroupDto")
        group = self.groups.get(gid) if gid is not None else None
        if group is None:
            group = next((g for g in self.groups.values() if g.name == gname), None)
        if group is None:
            gprio = _optional(group_body, "priority", int, "MessageLabelGroupDto")
            new_gid = gid if gid is not None and gid not in self.groups else self._next_id(self.groups, 100)
            group = Group(new_gid, gname, gprio if gprio is not None else max([0, *[g.priority for g in
                                                                                    self.groups.values()]]) + 1)
            self.groups[group.id] = group
        if any(lab.name == name and lab.group_id == group.id for lab in self.labels.values()):
            raise _bad("label.duplicate", f"Label '{name}' already exists in group '{group.name}'", name=name,
                       group=group.name)  # fmt: skip
        wanted = _optional(body, "id", int, what)
        lid = wanted if wanted is not None and wanted not in self.labels else self._next_id(self.labels, 1000)
        self.labels[lid] = MessageLabel(lid, name, priority, group.id)
        self._changed()
        return self.message_label(lid)

    def update_message_label(self, label_id: Any, body: Any) -> None:
        what = "MessageLabelUpdate"
        lab = self._label(label_id)
        name = _require(body, "name", str, what)
        group = self._group(_require(body, "groupId", int, what))
        priority = _require(body, "priority", int, what)
        lab.name, lab.group_id, lab.priority = name, group.id, priority
        self._changed()

    def delete_message_label(self, label_id: Any) -> None:
        del self.labels[self._label(label_id).id]
        self._changed()

    def change_message_label_priorities(self, items: Any) -> None:
        for lab, prio in self._priority_items(items, self._label):
            lab.priority = prio
        self._changed()

    def create_message_labels(self, items: Any) -> None:
        for item in _items(items, "MessageLabelCreate[]"):
            self.create_message_label(item)

    def update_message_labels(self, items: Any) -> None:
        what = "UpdateMessageLabelDto"
        for item in _items(items, what + "[]"):
            lab = self._label(_require(item, "id", int, what))
            name = _optional(item, "name", str, what)
            priority = _optional(item, "priority", int, what)
            gid = _optional(item, "groupId", int, what)
            if gid is not None:
                lab.group_id = self._group(gid).id
            group = self.groups[lab.group_id]
            gname = _optional(item, "groupName", str, what)
            gprio = _optional(item, "groupPriority", int, what)
            if name is not None:
                lab.name = name
            if priority is not None:
                lab.priority = priority
            if gname is not None:
                group.name = gname
            if gprio is not None:
                group.priority = gprio
        self._changed()

    def update_label_groups(self, items: Any) -> None:
        what = "UpdateMessageLabelGroupDto"
        for item in _items(items, what + "[]"):
            g = self._group(_require(item, "id", int, what))
            name = _optional(item, "name", str, what)
            priority = _optional(item, "priority", int, what)
            if name is not None:
                g.name = name
            if priority is not None:
                g.priority = priority
        self._changed()

    def update_label_group(self, group_id: Any, body: Any) -> None:
        what = "LogLabelGroupCreate"
        g = self._group(group_id)
        g.name = _require(body, "name", str, what)
        g.priority = _require(body, "priority", int, what)
        self._changed()

    def delete_label_group(self, group_id: Any) -> None:
        g = self._group(group_id)
        for lid in [lab.id for lab in self.labels.values() if lab.group_id == g.id]:
            del self.labels[lid]  # a group's labels go with it
        del self.groups[g.id]
        self._changed()

    def change_label_group_priorities(self, items: Any) -> None:
        for g, prio in self._priority_items(items, self._group):
            g.priority = prio
        self._changed()

    def create_session_label(self, body: Any) -> dict[str, Any]:
        what = "SessionLabelCreate"
        name = _require(body, "name", str, what)
        priority = _require(body, "priority", int, what)
        if any(s.name == name for s in self.session_labels.values()):
            raise _bad("session_label.duplicate", f"Session label '{name}' already exists", name=name)
        lid = self._next_id(self.session_labels, 2000)
        self.session_labels[lid] = SessionLabel(lid, name, priority)
        return self.session_labels[lid].dto()

    def update_session_label(self, label_id: Any, body: Any) -> None:
        what = "SessionLabelCreate"
        lab = self._session_label(label_id)
        lab.name = _require(body, "name", str, what)
        lab.priority = _require(body, "priority", int, what)

    def delete_session_label(self, label_id: Any) -> None:
        del self.session_labels[self._session_label(label_id).id]

    def change_session_label_priorities(self, items: Any) -> None:
        for lab, prio in self._priority_items(items, self._session_label):
            lab.priority = prio

    def update_session_labels(self, items: Any) -> None:
        what = "UpdateSessionLabelDto"
        for item in _items(items, what + "[]"):
            lab = self._session_label(_require(item, "id", int, what))
            name = _optional(item, "name", str, what)
            priority = _optional(item, "priority", int, what)
            if name is not None:
                lab.name = name
            if priority is not None:
                lab.priority = priority

    @staticmethod
    def _priority_items(items: Any, find: Any) -> list[tuple[Any, int]]:
        what = "LabelPriorityChangeDto"
        out = []
        for item in _items(items, what + "[]"):  # validate all before changing any
            out.append((find(_require(item, "id", int, what)), _require(item, "newPriority", int, what)))
        return out


def _items(items: Any, what: str) -> list[Any]:
    if not isinstance(items, list):
        raise _bad("body.malformed", f"{what}: the body must be a JSON array")
    return items


def _resolve(values: tuple[str, ...], names: dict[int, str]) -> np.ndarray:
    """Label ids for filter options given as ids ("1002") or names ("Wrong intent", any case)."""
    by_name: dict[str, list[int]] = {}
    for lid, name in names.items():
        by_name.setdefault(name.casefold(), []).append(lid)
    out: set[int] = set()
    for v in values:
        text = v.strip()
        if text.lstrip("-").isdigit() and int(text) in names:
            out.add(int(text))
        else:
            out.update(by_name.get(text.casefold(), ()))
    return np.array(sorted(out), dtype=np.int64)


# --- experiments ------------------------------------------------------------------------------------------


@dataclass
class Experiment:
    key: str
    description: str | None
    branches: list[tuple[str, str | None]]
    shares: list[float]
    column: int | None  # index into the generated per-session branch columns, None for created ones
    start_ms: int | None = None
    stop_ms: int | None = None  # planned stop (generated experiments)
    status_override: str | None = None
    joined: dict[int, int] = field(default_factory=dict)  # session row -> branch index, from `join`
    ended_ms: int | None = None  # stopped or deleted through the API: later sessions join no branch

    def status(self, now_ms: int) -> str:
        if self.status_override is not None:
            return self.status_override
        if self.start_ms is None or self.start_ms > now_ms:
            return "CREATED"
        if self.stop_ms is not None and self.stop_ms <= now_ms:
            return "STOPPED"
        return "RUNNING"

    def dto(self, now_ms: int) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key}
        if self.description is not None:
            out["description"] = self.description
        out["branches"] = [{"key": k, "description": d} if d is not None else {"key": k} for k, d in self.branches]
        out["status"] = self.status(now_ms)
        return out


def planned_experiments(end_ms: int, day_ms: int) -> list[Experiment]:
    out = []
    for j, e in enumerate(vocab.EXPERIMENTS):
        stop = None if e.stop_days_before_end is None else end_ms - e.stop_days_before_end * day_ms
        out.append(
            Experiment(e.key, e.description, [(k, d) for k, d, _ in e.branches], [s for _, _, s in e.branches], j,
                       start_ms=end_ms - e.start_days_before_end * day_ms, stop_ms=stop)
        )  # fmt: skip
    return out


def experiment_from_body(body: Any) -> Experiment:
    what = "ScenarioExperimentDto"
    key = _require(body, "key", str, what)
    if not key.strip():
        raise _bad("body.malformed", f"{what}: 'key' must not be empty", field="key")
    description = _optional(body, "description", str, what)
    raw = _require(body, "branches", list, what)
    if not raw:
        raise _bad("body.malformed", f"{what}: 'branches' must not be empty", field="branches")
    branches = []
    for i, b in enumerate(raw):
        bkey = _require(b, "key", str, f"{what}.branches[{i}]")
        if bkey in (k for k, _ in branches):
            raise _bad("experiment.duplicate_branch", f"Branch '{bkey}' appears twice", branch=bkey)
        branches.append((bkey, _optional(b, "description", str, f"{what}.branches[{i}]")))
    status = _optional(body, "status", str, what)
    if status is not None and status not in EXPERIMENT_STATUSES:
        raise _bad("body.bad_option", f"{what}: status must be one of {', '.join(EXPERIMENT_STATUSES)}",
                   field="status", value=status)  # fmt: skip
    exp = Experiment(key, description, branches, [1.0 / len(branches)] * len(branches), None)
    exp.status_override = status or "CREATED"
    return exp
