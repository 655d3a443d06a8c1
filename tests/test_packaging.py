"""environment.yml must stay equivalent to pyproject.toml, and the config schema must type every key."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_pins_the_same_versions_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip_section) == pins


def _leaves(schema, path=""):
    for key, spec in schema.get("properties", {}).items():
        here = f"{path}.{key}" if path else key
        yield here, spec
        if spec.get("type") == "object":
            yield from _leaves(spec, here)
        if spec.get("type") == "array" and spec["items"].get("type") == "object":
            yield from _leaves(spec["items"], here + "[]")


def test_every_config_key_is_typed_and_described():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    for key, spec in _leaves(schema):
        assert "type" in spec or "enum" in spec, key
        assert spec.get("description"), key


def test_shipped_config_mentions_every_top_level_key():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert set(config) == set(schema["properties"])
