"""Deterministic, atomic writing of the pipeline's tables and JSON.

Same inputs must give byte-identical files, and a run killed mid-write must not
leave a half-written output that a rerun would trust.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        # mkstemp creates the file private (0600); outputs get the usual mode the umask allows
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_safe(value: Any) -> Any:
    # NaN is not JSON; null is what readers in every language understand.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_safe(value.item())
    return value


def _json_text(data: Any) -> str:
    return json.dumps(_json_safe(data), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, _json_text(data))


def write_json_if_changed(path: str | Path, data: Any) -> bool:
    """write_json, but a file that already holds exactly this content is left alone (its mtime too).

    The pool stage's per-endpoint results are written so: Snakemake then redraws only the
    figures whose own result changed (rules/pool.smk). Returns whether the file was written.
    """
    text = _json_text(data)
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    # A fixed float format keeps tables byte-identical across platforms and
    # readable: 12 significant digits let pooled.csv itself be checked against
    # metafor at 1e-10 (tests/test_pooling_e2e.py), while the last bits of a
    # double, which depend on the BLAS and the platform, stay out of the bytes.
    # (pandas itself is not imported here: the review pages' jobs load this module and no pandas)
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.12g", lineterminator="\n"))


def load_yaml_checked(path: str | Path, schema: dict, error: type[Exception]) -> Any:
    """Safe-load a YAML file and validate it; `error` names the file, the key and the problem.

    safe_load never builds Python objects from tags, so nothing in a user's
    file is run as code.
    """
    import jsonschema  # here, not at the top: 0.1 s of import each review-page job without a curation file skips

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise error(f"{path}: cannot read: {err}") from err
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as err:
        key = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise error(f"{path}: {key}: {err.message}") from err
    return data
