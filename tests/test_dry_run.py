"""What the DAG build does at every start (issue 22: a dry run over 1,000 papers within 10 s).

Its speed is measured by tools/benchmark.py; these tests check, by what a dry run loads and
prints, the behaviour the speed-ups rest on.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Snakemake's command line in this process; at exit, the heavy modules the process had loaded
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('LOADED', sorted(m for m in ('pdfplumber', 'trialmeta.extract.reading',"
    " 'matplotlib') if m in sys.modules)))\n"
    "from snakemake.cli import main\n"
    "sys.argv = ['snakemake', *sys.argv[1:]]\n"
    "main()\n"
)
PAPER = "A phase I study of CD19 CAR-T cells in {n} adults with relapsed B-ALL. {k} of the {n} patients reached an MRD-negative remission.\n"


def dry_run(tmp_path: Path, names: list[str]) -> subprocess.CompletedProcess:
    papers = tmp_path / "papers"
    papers.mkdir()
    for i, name in enumerate(names):
        (papers / name).write_text(PAPER.format(n=10 + i, k=5 + i))
    command = [
        sys.executable, "-c", PROBE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
        "--configfile", str(ROOT / "config.yaml"), "--cores", "1", "--dry-run",
        "--config", f"papers_dir={papers}", f"results_dir={tmp_path / 'results'}",
        f"lexicon={ROOT / 'resources/lexicon.yaml'}", "curation_dir=",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_a_dry_run_neither_loads_the_reader_nor_tries_the_index_as_a_paper(tmp_path):
    done = dry_run(tmp_path, ["trial_a.txt", "trial_b.txt", "trial_c.md"])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # the rules' files import only what checks the configuration: the reader (pdfplumber,
    # numpy) loads in the extract jobs, not at every start of Snakemake
    assert "LOADED []" in done.stdout, output[-2000:]
    # review/index.html was also matched by review_page, whose input function then failed
    assert "InputFunctionException" not in output
    jobs = Counter(dict((name, int(count)) for name, count in re.findall(r"^(\w+)\s+(\d+)$", output, re.M)))
    assert jobs["extract"] == 3 and jobs["review_page"] == 3 and jobs["review_index"] == 1, output[-3000:]


def test_a_paper_named_index_is_refused_naming_the_clash(tmp_path):
    done = dry_run(tmp_path, ["trial_a.txt", "Index.txt"])
    assert done.returncode != 0
    assert "a paper is named 'index', which would overwrite review/index.html" in done.stdout + done.stderr
