"""Configuration errors a person can act on: what is wrong, where, and what is allowed.

tomllib and pydantic explain a bad file in English and in their own terms
(``Illegal character '\\n'``, ``Input should be a valid integer``). Here each becomes a
catalogue text in the reader's language, naming the file, the line and the key, what
the key accepts and, for a misspelt key, the nearest known one.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from bot.i18n import Phrase, t
from scheduler.errors import ConfigError


class Refusal(ValueError):
    """A validator's refusal with a catalogue key, so pydantic's wrapper can be undone."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(t("en", key, **params))
        self.key = key
        self.params = params


#: tomllib's messages, said in words; anything else is quoted as tomllib says it.
_TOML_REASONS = (
    ("Illegal character", "config.toml_why.illegal_character"),
    ("Invalid value", "config.toml_why.invalid_value"),
    ("Cannot overwrite a value", "config.toml_why.twice"),
    ("Cannot declare", "config.toml_why.twice"),
    ("Expected '=' after a key", "config.toml_why.no_equals"),
    ("Unterminated string", "config.toml_why.unterminated"),
    ("Unclosed", "config.toml_why.unterminated"),
    ("Expected newline or end of document", "config.toml_why.after_statement"),
)
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")

#: pydantic's error types, said in words (with the limits pydantic puts in ``ctx``).
_TYPES = {
    "int_parsing": "int",
    "int_type": "int",
    "int_from_float": "int",
    "float_parsing": "number",
    "float_type": "number",
    "bool_parsing": "bool",
    "bool_type": "bool",
    "string_type": "string",
    "list_type": "list",
    "tuple_type": "list",
    "dict_type": "table",
    "model_type": "table",
    "model_attributes_type": "table",
    "time_parsing": "time",
    "time_type": "time",
    "date_parsing": "date",
    "date_from_datetime_parsing": "date",
    "less_than_equal": "at_most",
    "less_than": "below",
    "greater_than_equal": "at_least",
    "greater_than": "above",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "string_pattern_mismatch": "pattern",
    "literal_error": "one_of",
    "enum": "one_of",
    "missing": "missing",
}


def toml_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """A file that is not TOML: the file, the line (quoted) and what is wrong there."""
    message = str(exc)
    found = _TOML_AT.search(message)
    raw = message[: found.start()] if found else message
    line = int(found.group(1)) if found and found.group(1) else None
    why: Phrase | str = raw
    for start, key in _TOML_REASONS:
        if raw.startswith(start):
            why = Phrase(key, detail=raw)
            break
    lines = text.splitlines()
    quoted = lines[line - 1].strip() if line and 0 < line <= len(lines) else ""
    if line is None:
        return ConfigError(
            f"{source}: not valid TOML: {raw}",
            key="config.bad_toml_end",
            source=source,
            why=why,
        )
    return ConfigError(
        f"{source}, line {line}: not valid TOML: {raw}",
        key="config.bad_toml",
        source=source,
        line=line,
        quoted=quoted or "-",
        why=why,
    )


def validation_error(
    source: str,
    origin: str | None,
    exc: ValidationError,
    data: dict[str, Any],
    text: str,
    model: type[BaseModel],
) -> ConfigError:
    """The first of pydantic's complaints, said in words: where (file, line, key, or the
    variable that set it), what is wrong and what is allowed; an unknown key gets the
    nearest known one."""
    from bot.config import _describe_loc  # the council-aware name of a key

    errors = exc.errors()
    err = errors[0]
    loc = tuple(err["loc"])
    setting = _describe_loc(loc, data) if loc else "[[councils]]"
    line = None if origin else _line_of(text, loc)
    from bot.config import BUILT_IN_SOURCE

    where: Phrase | str = Phrase("config.built_in") if source == BUILT_IN_SOURCE else source
    place = where
    if origin:
        place = Phrase("config.set_by", source=where, variable=origin)
    elif line:
        place = Phrase("config.at_line", where=source, line=line)
    detail = _detail(err, loc, model)
    got = err.get("input")
    shown = (
        ""
        if err["type"] in ("extra_forbidden", "missing", "value_error")
        or isinstance(got, dict | list)
        else Phrase("config.got", got=repr(got))
    )
    more = Phrase("config.more", count=len(errors) - 1) if len(errors) > 1 else ""
    params: dict[str, object] = {
        "place": place, "setting": setting, "detail": detail, "got": shown, "more": more,
    }  # fmt: skip
    return ConfigError(t("en", "config.invalid", **params), key="config.invalid", **params)


def _detail(err: Any, loc: tuple[Any, ...], model: type[BaseModel]) -> Phrase | str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _known_keys(model, loc)
        near = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6) if loc else []
        if near:
            return Phrase("config.why.unknown_near", near=near[0], known=", ".join(known))
        return Phrase("config.why.unknown", known=", ".join(known) or "-")
    if kind == "value_error":
        cause = ctx.get("error")
        if isinstance(cause, Refusal):
            return Phrase(cause.key, **cause.params)
        return str(err["msg"]).removeprefix("Value error, ")
    name = _TYPES.get(kind)
    if name is None:
        return str(err["msg"])
    limit = next(
        (ctx[k] for k in ("le", "lt", "ge", "gt", "max_length", "min_length") if k in ctx), ""
    )
    expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
    return Phrase(f"config.why.{name}", limit=limit, expected=expected)


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the table holding ``loc[-1]`` accepts."""
    node: type[BaseModel] | None = model
    for part in loc[:-1]:
        if node is None:
            return []
        if isinstance(part, int):
            continue  # an entry of a list of tables: the table model already
        field = node.model_fields.get(str(part))
        node = _model_in(field.annotation) if field else None
    return sorted(node.model_fields) if node else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, through ``X | None`` and ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, tuple, list):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the file where the key at ``loc`` is written, when it can be found.

    Follows the table headers (``[email]``, the n-th ``[[councils]]``) down to the key;
    a key that comes from the defaults or an environment variable has no line.
    """
    if not text or not loc:
        return None
    lines = text.splitlines()
    start, table = 0, ""
    parts = list(loc)
    key = str(parts.pop())
    if not parts:  # a top-level table ("[emial]") or key
        for number, ln in enumerate(lines):
            if ln.strip() in (f"[{key}]", f"[[{key}]]"):
                return number + 1
    while parts:
        part = parts.pop(0)
        if parts and isinstance(parts[0], int):
            index = parts.pop(0)
            headers = [i for i, ln in enumerate(lines) if ln.strip() == f"[[{part}]]"]
            if index >= len(headers):
                return None
            start = headers[index] + 1
        else:
            table = f"{table}.{part}" if table else str(part)
            header = next((i for i, ln in enumerate(lines) if ln.strip() == f"[{table}]"), None)
            if header is None:
                return None
            start = header + 1
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number in range(start, len(lines)):
        stripped = lines[number].strip()
        if number > start and stripped.startswith("[") and not pattern.match(stripped):
            return None
        if pattern.match(lines[number]):
            return number + 1
    return None
