"""The package mirrors the pipeline: one sub-package per stage, imports only down the stages.

Stage order is the rules' order (extract -> harmonise -> pool -> figures -> report), with `core`
below all of them; `review` (the review pages) reads extraction records beside harmonise and imports
only `core` and `extract`, and no stage imports it. Figures take frozen results and never refit, so they import no `pool` module;
the report reads results only, so it imports no `pool` module either.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workflow" / "trialmeta"
ORDER = ["core", "extract", "review", "harmonise", "pool", "figures", "report"]
# (importer, imported) pairs that are below in ORDER but still forbidden
FORBIDDEN = {("figures", "pool"), ("report", "pool")} | {(stage, "review") for stage in ORDER[3:]}


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def stage_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def imported_stages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "trialmeta" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_module_lives_in_a_stage():
    top = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert top == [], f"modules outside a stage sub-package: {top}"
    assert sorted({stage_of(p) for p in modules()}) == sorted(ORDER)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_stages(path):
    stage = stage_of(path)
    for other in imported_stages(path):
        assert other in ORDER, f"{path}: imports trialmeta.{other}, which is no stage"
        assert ORDER.index(other) <= ORDER.index(stage), f"{path}: {stage} imports the later stage {other}"
        assert (stage, other) not in FORBIDDEN, f"{path}: {stage} may not import {other} (no refitting)"


def test_snakemake_is_never_imported():
    for path in modules():
        assert "snakemake" not in {n.split(".")[0] for n in _all_imports(path)}, path


def _all_imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
