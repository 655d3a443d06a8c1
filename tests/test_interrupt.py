"""A run killed mid-way (Ctrl-C, or a pre-empted job killed outright) and run
again ends with exactly the outputs of a run never interrupted.

The runs stop at the pooled results (extract -> harmonise -> pool), which is
where the per-paper jobs and the atomic writes are; figures and report are
written by the same helpers and would only make the test slower.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGET = "results/pooled/results.json"
pytestmark = pytest.mark.slow


# Three demo papers: two extraction jobs run at once on two cores and a third
# waits, so the first finished paper comes well before the pooled results.
PAPERS = ("bispecific_cd19cd22_mrd_adults", "cd19_mrd_positive_b_all", "tandem_cd19cd22_rr_all")


@pytest.fixture(scope="module")
def papers(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("papers")
    for name in PAPERS:
        shutil.copyfile(ROOT / "resources/papers" / f"{name}.pdf", folder / f"{name}.pdf")
    return folder


def command(workdir: Path, papers: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", TARGET, "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), "--cores", "2", "--configfile", str(ROOT / "config.yaml"),
        *args, "--config", f"papers_dir={papers}", "results_dir=results",
        f"lexicon={ROOT / 'resources/lexicon.yaml'}", f"curation_dir={ROOT / 'resources/papers/curation'}",
    ]


def run(workdir: Path, papers: Path, *args: str) -> None:
    done = subprocess.run(command(workdir, papers, *args), capture_output=True, text=True, timeout=900, cwd=workdir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]


def outputs(results: Path) -> dict[str, bytes]:
    """Every output but the logs (they hold times) and hidden files (an atomic write's temporary)."""
    return {
        str(path.relative_to(results)): path.read_bytes()
        for path in sorted(results.rglob("*"))
        if path.is_file() and path.relative_to(results).parts[0] != "logs" and not path.name.startswith(".")
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, papers) -> dict[str, bytes]:
    workdir = tmp_path_factory.mktemp("uninterrupted")
    run(workdir, papers)
    return outputs(workdir / "results")


def processes_of(workdir: Path) -> list[psutil.Process]:
    """Processes still running for this run (their command line names its folder)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(str(workdir) in part for part in process.info["cmdline"] or ()):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_run_stopped_mid_way_resumes_to_the_same_outputs(uninterrupted, papers, tmp_path, stop):
    results = tmp_path / "results"
    # its own process group, as a terminal's foreground job or a batch job is, with Ctrl-C's
    # default action: a test run started in the background (`make test &`, nohup) inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt, so Snakemake would not stop
    process = subprocess.Popen(
        command(tmp_path, papers), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 600
    while not list((results / "extracted").glob("*.json")):
        assert process.poll() is None, "the run ended before any paper was extracted"
        assert time.monotonic() < deadline, "no paper extracted in time"
        time.sleep(0.05)
    os.killpg(process.pid, stop)
    process.wait(timeout=120)
    assert not (tmp_path / TARGET).exists()  # it really stopped mid-way
    deadline = time.monotonic() + 30
    while processes_of(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of(tmp_path) == []  # no reader left running on its own
    if stop == signal.SIGKILL:
        run(tmp_path, papers, "--unlock")  # a killed Snakemake cannot remove its lock
    # what Snakemake asks for after an interruption: a job may have written its
    # (complete, atomically written) output before Snakemake could record it
    run(tmp_path, papers, "--rerun-incomplete")
    resumed = outputs(results)
    assert sorted(resumed) == sorted(uninterrupted)
    assert [name for name in resumed if resumed[name] != uninterrupted[name]] == []
