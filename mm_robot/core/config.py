"""Configuration dataclasses that describe and validate themselves.

Each node's settings are a frozen dataclass whose fields are made with
:func:`setting`. The same description serves the ROS-free code (which takes the
dataclass), the ROS parameter declarations (descriptions and ranges), the README
tables and validation at startup and at ``set_parameters`` (R14).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence


class ConfigError(ValueError):
    """A setting has a bad value; the message names the field and the rule."""


@dataclass(frozen=True)
class SettingInfo:
    description: str
    low: Optional[float] = None
    high: Optional[float] = None
    choices: Optional[Sequence[str]] = None
    read_only: bool = False


def setting(default: Any, description: str, *, low: Optional[float] = None,
            high: Optional[float] = None, choices: Optional[Sequence[str]] = None,
            read_only: bool = False) -> Any:
    """A dataclass field with a description and an allowed range or set of choices.

    ``low``/``high`` are inclusive bounds for numbers; ``read_only`` settings can be
    given at startup but not changed at run time.
    """
    info = SettingInfo(description, low, high, tuple(choices) if choices else None, read_only)
    return dataclasses.field(default=default, metadata={"setting": info})


def settings_of(config_type: type) -> list[tuple[dataclasses.Field, SettingInfo]]:
    """The fields of a config dataclass with their :class:`SettingInfo`."""
    return [(f, f.metadata["setting"]) for f in dataclasses.fields(config_type)
            if "setting" in f.metadata]


def check_value(name: str, value: Any, default: Any, info: SettingInfo) -> Any:
    """Return ``value`` coerced to the default's type, or raise :class:`ConfigError`."""
    kind = type(default)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true/false, got {value!r}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{name}: must be finite, got {value!r}")
    elif kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
    if info.low is not None and value < info.low:
        raise ConfigError(f"{name}: {value!r} is below the minimum {info.low}")
    if info.high is not None and value > info.high:
        raise ConfigError(f"{name}: {value!r} is above the maximum {info.high}")
    if info.choices is not None and value not in info.choices:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(map(str, info.choices))}")
    return value


def validate(config: Any) -> Any:
    """Check every setting of a config instance; return it unchanged or raise."""
    for f, info in settings_of(type(config)):
        check_value(f.name, getattr(config, f.name), f.default, info)
    return config


def build(config_type: type, values: dict[str, Any]) -> Any:
    """Make a validated config from a dict; unknown keys are an error."""
    known = {f.name: (f, info) for f, info in settings_of(config_type)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{config_type.__name__}: unknown setting(s) {', '.join(unknown)}")
    checked = {name: check_value(name, value, known[name][0].default, known[name][1])
               for name, value in values.items()}
    return validate(config_type(**checked))


def describe(config_type: type) -> list[dict[str, Any]]:
    """Rows for documentation: name, type, default, range and description."""
    return [{"name": f.name, "type": type(f.default).__name__, "default": f.default,
             "range": describe_range(info), "description": info.description}
            for f, info in settings_of(config_type)]


def add_cli_arguments(parser: Any, config_type: type, required: Sequence[str] = ()) -> None:
    """One ``--flag-name`` per setting of ``config_type`` on an argparse ``parser``, with the
    setting's description, default and range as help. A boolean that defaults to true becomes
    ``--no-flag-name``; one that defaults to false, ``--flag-name``."""
    for f, info in settings_of(config_type):
        flag = "--" + f.name.replace("_", "-")
        allowed = describe_range(info)
        text = info.description + (f" {allowed}" if allowed else "")
        if isinstance(f.default, bool):
            if f.default:
                parser.add_argument("--no-" + flag[2:], dest=f.name, action="store_false", help=text)
            else:
                parser.add_argument(flag, dest=f.name, action="store_true", help=text)
            continue
        parser.add_argument(flag, dest=f.name, type=type(f.default), default=f.default,
                            choices=info.choices, required=f.name in required,
                            help=text + ("" if f.name in required else f" (default: {f.default!r})"))


def from_cli(config_type: type, namespace: Any) -> Any:
    """The validated config of the settings an argparse namespace holds (other attributes ignored)."""
    return build(config_type, {f.name: getattr(namespace, f.name) for f, _ in settings_of(config_type)})


def describe_range(info: SettingInfo) -> str:
    """"[low, high]" or "a | b | c" (empty when the setting has neither)."""
    if info.choices:
        return " | ".join(map(str, info.choices))
    if info.low is not None or info.high is not None:
        return f"[{'' if info.low is None else info.low}, {'' if info.high is None else info.high}]"
    return ""
