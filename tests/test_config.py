"""Config that forgives (issue 18, newcomer review F5 and F7): command-line values typed as the schema says,
a misspelt key answered in a few lines with the closest valid keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trialmeta.core.config import ConfigError, check_config, coerce

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def base_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_nested_values_from_the_command_line_get_the_schemas_types():
    # Snakemake reads --config 'pooling={level: 0.9}' with YAML's BaseLoader: every value a string
    config = base_config()
    config["pooling"]["level"] = "0.9"
    config["strict"] = "true"
    config["survival"]["landmark_months"] = ["6", "12"]
    typed = check_config(config, SCHEMA)
    assert typed["pooling"]["level"] == 0.9 and typed["strict"] is True
    assert typed["survival"]["landmark_months"] == [6, 12]
    assert typed["papers_dir"] == "resources/papers"  # strings stay strings


def test_a_string_key_keeps_a_value_that_looks_like_a_number():
    schema = {"type": "object", "properties": {"papers_dir": {"type": "string"}, "n": {"type": ["integer", "null"]}}}
    assert coerce({"papers_dir": "2024", "n": "3"}, schema) == {"papers_dir": "2024", "n": 3}
    assert coerce({"n": "three"}, schema) == {"n": "three"}  # left for the schema to refuse


def test_misspelt_key_names_the_closest_valid_keys_in_a_few_lines():
    config = base_config()
    config["paper_dir"] = "my/papers"
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA)
    message = str(err.value)
    assert message.startswith("unknown config key 'paper_dir' (did you mean 'papers_dir'")
    assert len(message.splitlines()) <= 3


def test_misspelt_nested_key_is_named_with_its_path():
    config = base_config()
    config["pooling"]["levle"] = 0.9
    with pytest.raises(ConfigError, match=r"unknown config key 'pooling.levle' \(did you mean 'level'\?\)"):
        check_config(config, SCHEMA)


def test_a_wrong_value_names_the_key_and_what_it_is_for():
    config = base_config()
    config["pooling"]["level"] = "ninety"
    with pytest.raises(ConfigError, match=r"config key pooling.level: 'ninety' is not of type 'number' "
                                          r"\(Confidence level of every interval\)"):
        check_config(config, SCHEMA)


@pytest.mark.slow
@pytest.mark.parametrize("args, expected", [
    (["paper_dir=my/papers"], "unknown config key 'paper_dir' (did you mean 'papers_dir'"),
    (["pooling={level: 0.9}", "strict=true"], None),
])
def test_the_newcomers_commands(tmp_path, args, expected):
    command = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(ROOT),
               "--configfile", str(ROOT / "config.yaml"), "--config", f"results_dir={tmp_path}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    if expected is None:
        assert done.returncode == 0, output[-2000:]
    else:
        assert done.returncode != 0 and expected in output
        assert len(output.splitlines()) < 12, output  # was 506 lines


@pytest.mark.parametrize("key, value", [
    ("ocr", "auto"), ("ocr", "off"), ("ocr", "sometimes"), ("ocr", "OFF"),
    ("ocr_language", "eng"), ("ocr_language", "eng+fra"), ("ocr_language", "chi_sim+eng"),
    ("ocr_language", "English"), ("ocr_language", ""), ("ocr_language", "eng+"), ("ocr_language", "en"),
])
def test_the_schema_accepts_the_reading_values_the_reader_accepts(key, value):
    # rules/extract.smk leaves these two keys to the schema (importing the reader there would load
    # pdfplumber at every start), so the schema must refuse exactly what ReadSettings refuses
    from trialmeta.extract.reading import ReadSettings

    config = base_config()
    config[key] = value
    try:
        check_config(config, SCHEMA)
        schema_accepts = True
    except ConfigError:
        schema_accepts = False
    try:
        ReadSettings(**{key: value})
        reader_accepts = True
    except ValueError:
        reader_accepts = False
    assert schema_accepts == reader_accepts
