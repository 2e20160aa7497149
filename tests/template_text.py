"""Writing small cycle templates as TOML text in tests."""

from __future__ import annotations

import json
from typing import Any


def toml_value(value: Any) -> str:
    """A Python value as a TOML literal (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def event_table(values: dict[str, Any]) -> str:
    return "[[events]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())


def event(key: str, rule: dict[str, Any], **fields: Any) -> str:
    """One ``[[events]]`` table with titles, an owner and all council kinds filled in."""
    return event_table(
        {
            "key": key,
            "title_da": f"{key} (da)",
            "title_en": f"{key} (en)",
            "owner": "LBR",
            "applies_to": ["BER", "RBR", "LBR"],
            "rule": rule,
            **fields,
        }
    )
