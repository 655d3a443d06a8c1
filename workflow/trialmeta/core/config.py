"""The run's configuration checked against its schema, forgiving where the command line is not.

Snakemake reads `--config strict=true` as the string 'true' and the values of
`--config 'pooling={level: 0.9}'` as strings ('0.9'); each is turned into the
type the schema gives that key (YAML's reading of the text) before the schema
is checked, so any key can be set on the command line. A problem is reported in
a few lines naming the key, with the closest valid keys for a misspelt one,
instead of the whole schema.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import jsonschema
import yaml

SCALARS = {"number": (int, float), "integer": (int,), "boolean": (bool,), "null": (type(None),)}


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key and what to do."""


def _types(schema: dict) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _fits(value, types: list[str]) -> bool:
    if isinstance(value, bool) and "boolean" not in types:
        return False
    return any(isinstance(value, SCALARS[t]) for t in types if t in SCALARS)


def coerce(value, schema: dict):
    """`value` with strings turned into the number, boolean or null the schema asks for (recursively)."""
    types = _types(schema)
    if isinstance(value, str) and "string" not in types and any(t in SCALARS for t in types):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return parsed if _fits(parsed, types) else value
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {k: coerce(v, properties[k]) if k in properties else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce(v, schema["items"]) for v in value]
    return value


def _schema_at(schema: dict, path: list) -> dict:
    for part in path:
        if isinstance(part, int):
            schema = schema.get("items", {})
        else:
            schema = schema.get("properties", {}).get(part, {})
    return schema


def _explain(error: jsonschema.ValidationError, schema: dict) -> str:
    path = list(error.absolute_path)
    where = ".".join(str(p) for p in path)
    if error.validator == "additionalProperties":
        known = sorted(_schema_at(schema, path).get("properties", {}))
        unexpected = sorted(set(error.instance) - set(known))
        lines = []
        for key in unexpected:
            full = f"{where}.{key}" if where else key
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else f"valid keys: {', '.join(known)}"
            lines.append(f"unknown config key {full!r} ({hint})")
        return "\n".join(lines)
    described = _schema_at(schema, path).get("description", "")
    described = f" ({described.strip().split('. ')[0].rstrip('.')})" if described else ""
    return f"config key {where or '(top level)'}: {error.message}{described}"


def check_config(config: dict, schema_path: str | Path) -> dict:
    """The config with command-line strings typed as the schema says; ConfigError lists every problem briefly."""
    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    typed = coerce(config, schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(typed), key=lambda e: list(map(str, e.path)))
    if errors:
        problems = "\n".join(_explain(e, schema) for e in errors[:5])
        raise ConfigError(f"{problems}\nKeys, types and defaults: config.yaml and {Path(schema_path).name}; "
                          "nested keys also go in a file given with --configfile")
    return typed
