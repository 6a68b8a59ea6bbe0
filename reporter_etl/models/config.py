"""What the models need to know about a project that the API does not say: the ``[models]`` section of a TOML file.

    [models]
    timezone = "Europe/Moscow"            # local days are cut at this zone's midnight (default UTC)
    fallback_classes = ["/NoMatch", "/CatchAll"]
    success_result = "Order placed"       # the sessionResult that counts as success in experiments
    outcome_label = "Resolved"            # the session label (by name) that counts as the labelled outcome
    alpha = 0.05

    [models.experiments.operator-offer]
    control = "never"                     # default: the experiment's first branch
    split = { never = 0.4, early = 0.3, late = 0.3 }   # intended traffic shares; default: equal
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reporter_etl.errors import ConfigurationError
from reporter_etl.windows import zone

DEFAULT_FALLBACK_CLASSES = ("/NoMatch", "/CatchAll")
CONFIG_FILE_NAME = "reporter-etl.toml"


class ConfigError(ConfigurationError, ValueError):
    """The models configuration cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ExperimentConfig:
    control: str | None = None
    split: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ModelsConfig:
    timezone: str = "UTC"
    fallback_classes: tuple[str, ...] = DEFAULT_FALLBACK_CLASSES
    success_result: str | None = None
    outcome_label: str | None = None
    alpha: float = 0.05
    experiments: Mapping[str, ExperimentConfig] = field(default_factory=lambda: MappingProxyType({}))

    def control_branches(self) -> dict[str, str]:
        return {key: exp.control for key, exp in self.experiments.items() if exp.control}

    def intended_weights(self) -> dict[str, dict[str, float]]:
        return {key: dict(exp.split) for key, exp in self.experiments.items() if exp.split}

    def sql_variables(self) -> dict[str, Any]:
        """The DuckDB variables the SQL models read with ``getvariable``."""
        return {
            "timezone": self.timezone,
            "fallback_classes": list(self.fallback_classes),
            "success_result": self.success_result,
            "outcome_label": self.outcome_label,
        }


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where} must be a {names}, not {value!r}")
    return value


def config_from_mapping(section: Mapping[str, Any], where: str = "[models]") -> ModelsConfig:
    known = {"timezone", "fallback_classes", "success_result", "outcome_label", "alpha", "experiments"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    timezone = _expect(section.get("timezone", "UTC"), str, f"{where} timezone")
    try:
        zone(timezone)
    except ValueError as exc:
        raise ConfigError(f"{where} timezone: {exc}") from None
    classes = _expect(
        section.get("fallback_classes", list(DEFAULT_FALLBACK_CLASSES)), list, f"{where} fallback_classes"
    )
    for item in classes:
        _expect(item, str, f"{where} fallback_classes item")
    success = section.get("success_result")
    label = section.get("outcome_label")
    if success is not None:
        _expect(success, str, f"{where} success_result")
    if label is not None:
        _expect(label, str, f"{where} outcome_label")
    alpha = float(_expect(section.get("alpha", 0.05), (int, float), f"{where} alpha"))
    if not 0 < alpha < 1:
        raise ConfigError(f"{where} alpha must be between 0 and 1, not {alpha}")
    experiments: dict[str, ExperimentConfig] = {}
    for key, body in _expect(section.get("experiments", {}), dict, f"{where} experiments").items():
        here = f"{where} experiments.{key}"
        _expect(body, dict, here)
        extra = sorted(set(body) - {"control", "split"})
        if extra:
            raise ConfigError(f"{here}: unknown key(s) {', '.join(extra)}; known: control, split")
        control = body.get("control")
        if control is not None:
            _expect(control, str, f"{here} control")
        split = _expect(body.get("split", {}), dict, f"{here} split")
        for branch, share in split.items():
            if not isinstance(share, int | float) or isinstance(share, bool) or share <= 0:
                raise ConfigError(f"{here} split.{branch} must be a positive number, not {share!r}")
        experiments[key] = ExperimentConfig(control, MappingProxyType({b: float(s) for b, s in split.items()}))
    return ModelsConfig(
        timezone=timezone,
        fallback_classes=tuple(classes),
        success_result=success,
        outcome_label=label,
        alpha=alpha,
        experiments=MappingProxyType(experiments),
    )


def load_config(path: str | Path | None = None, *, timezone: str | None = None) -> ModelsConfig:
    """The ``[models]`` section of ``path`` (defaults when ``path`` is None); ``timezone`` overrides the file's."""
    section: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML: {exc}") from None
        section = dict(_expect(data.get("models", {}), dict, f"{file} [models]"))
    if timezone is not None:
        section["timezone"] = timezone
    where = f"{path} [models]" if path is not None else "[models]"
    return config_from_mapping(section, where)
