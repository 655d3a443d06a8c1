"""The demo through Snakemake's SLURM executor on a real SLURM gives the bytes of a local run.

The SLURM tests need a cluster that answers `sinfo`; as root,
tools/slurm/setup_local_slurm.sh brings up a one-node cluster on this machine. Without one
they are skipped, with the reason in pytest's summary. `.ci/run` brings the cluster up and
sets TRIALMETA_REQUIRE_SLURM=1, which turns a missing cluster into a failure.

Both runs use a copy of the workflow taken once, so a file edited while the test runs
cannot make the two differ. The cluster has no accounting database: the run adds
profiles/slurm-localhost (squeue for job status, no account) to profiles/slurm.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# Two endpoints keep the run short while every stage and every kind of figure still runs
# through SLURM; tests/test_workflow.py covers the full endpoint list locally.
ENDPOINTS = "[mrd_neg,crs_any]"
# Each SLURM job starts Snakemake anew and the executor polls with growing pauses: the
# run takes minutes here. A hang (a status the executor never sees) must fail the test,
# and Snakemake does not always end on SIGTERM, hence SIGKILL.
SLURM_RUN_TIMEOUT_S = 1200
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)")


def slurm_missing() -> str | None:
    """Why no SLURM can run jobs here, or None when sinfo shows a usable node."""
    if shutil.which("sinfo") is None:
        return "no SLURM here (sinfo not found); as root, tools/slurm/setup_local_slurm.sh starts one"
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s (is slurmctld running?)"
    if done.returncode != 0:
        return f"sinfo failed: {done.stderr.strip()}"
    states = done.stdout.split()
    if not any(state.rstrip("*~#") in ("idle", "mixed", "allocated") for state in states):
        return f"no SLURM node can take jobs (node states: {states or 'none'})"
    return None


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    command = ["timeout", "-s", "KILL", str(timeout), *SNAKEMAKE, "--directory", str(workdir), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60)


def copy_workflow(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    destination.mkdir()
    for name in ("Snakefile", "config.yaml", "environment.yml"):
        shutil.copy2(ROOT / name, destination / name)
    for name in ("workflow", "resources", "profiles"):
        shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    return destination


def workflow_args(source: Path, results: Path) -> list[str]:
    return [
        "--snakefile", str(source / "Snakefile"), "--configfile", str(source / "config.yaml"),
        "--config", f"papers_dir={source / 'resources/papers'}", f"results_dir={results}",
        f"lexicon={source / 'resources/lexicon.yaml'}", f"curation_dir={source / 'resources/papers/curation'}",
        f"endpoints={ENDPOINTS}",
    ]


def slurm_profile_args(source: Path) -> list[str]:
    return ["--profile", str(source / "profiles/slurm-localhost"),
            "--workflow-profile", str(source / "profiles/slurm")]


def failed(done: subprocess.CompletedProcess, what: str) -> str:
    return f"{what} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The demo run locally and through SLURM from one copy of the workflow."""
    missing = slurm_missing()
    if missing:
        if os.environ.get("TRIALMETA_REQUIRE_SLURM") == "1":
            pytest.fail(f"TRIALMETA_REQUIRE_SLURM=1 but {missing}")
        pytest.skip(missing)
    base = tmp_path_factory.mktemp("slurm")
    source = copy_workflow(base / "workflow")
    local, cluster = base / "local", base / "slurm"
    local.mkdir()
    cluster.mkdir()
    done = snakemake(local, *workflow_args(source, local / "results"),
                     "--workflow-profile", str(source / "profiles/local"), "--cores", "2")
    assert done.returncode == 0, failed(done, "local run")
    done = snakemake(cluster, *workflow_args(source, cluster / "results"), *slurm_profile_args(source),
                     timeout=SLURM_RUN_TIMEOUT_S)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        slurm_logs = "".join(f"\n--- {log}\n{Path(log).read_text()[-3000:]}"
                             for _, log in SUBMITTED.findall(output) if Path(log).exists())
        raise AssertionError(failed(done, "SLURM run") + slurm_logs)
    return source, local, cluster, output


def outputs(results: Path) -> dict[Path, bytes]:
    """Every output of a run but the job logs (they hold times and process ids)."""
    return {path.relative_to(results): path.read_bytes() for path in sorted(results.rglob("*"))
            if path.is_file() and path.relative_to(results).parts[0] != "logs"}


def test_slurm_run_gives_the_bytes_of_the_local_run(runs):
    _, local, cluster, _ = runs
    expected, got = outputs(local / "results"), outputs(cluster / "results")
    assert sorted(got) == sorted(expected)
    assert {path.suffix for path in expected} >= {".csv", ".json", ".svg", ".png", ".html"}
    different = [str(path) for path in expected if got[path] != expected[path]]
    assert not different, f"differ between the local and the SLURM run: {different}"


def slurm_jobs(ids: list[str]) -> dict[str, dict[str, str]]:
    """State, CPUs, memory, time limit and comment (rule) of jobs, from squeue's history.

    The test cluster keeps finished jobs for MinJobAge = 600 s; sacct would need slurmdbd.
    """
    fields = {"id": "%i", "state": "%T", "cpus": "%C", "memory": "%m", "time_limit": "%l", "comment": "%k"}
    done = subprocess.run(
        ["squeue", "--states=all", "-h", "-j", ",".join(ids), "-o", "|".join(fields.values())],
        capture_output=True, text=True, timeout=30, check=True,
    )
    jobs = [dict(zip(fields, line.split("|"))) for line in done.stdout.splitlines()]
    return {job["id"]: job for job in jobs}


def test_every_job_ran_as_a_slurm_job_with_its_profile_resources(runs):
    _, _, _, output = runs
    ids = [job_id for job_id, _ in SUBMITTED.findall(output)]
    jobs = slurm_jobs(ids)
    assert sorted(jobs) == sorted(ids), "a submitted job is missing from squeue's history"
    assert {job["state"] for job in jobs.values()} == {"COMPLETED"}
    comments = " ".join(job["comment"] for job in jobs.values())
    for rule in ("extract", "harmonise", "pool", "endpoint_figures", "survival_figures", "report_html"):
        assert rule in comments, f"no SLURM job ran rule {rule}: {comments}"
    # the profile's set-resources reach sbatch: pool asks for 2000 MB and 30 minutes
    pool = next(job for job in jobs.values() if job["comment"] == "rule_pool")
    assert (pool["memory"], pool["time_limit"], pool["cpus"]) == ("2000M", "30:00", "1")


def test_papers_are_extracted_in_one_grouped_slurm_job(runs):
    _, _, _, output = runs
    logs = [log for _, log in SUBMITTED.findall(output)]
    assert not [log for log in logs if "/rule_extract/" in log], "an extract job was submitted alone"
    grouped = [job_id for job_id, log in SUBMITTED.findall(output) if "/group_extract_papers" in log]
    assert len(grouped) == 1, logs
    # four papers, two at a time (the profile's cores bound): 2 CPUs and 2 x 1000 MB
    job = slurm_jobs(grouped)[grouped[0]]
    assert (job["cpus"], job["memory"]) == ("2", "2000M")


def test_a_second_slurm_run_has_nothing_to_do(runs):
    source, _, cluster, _ = runs
    done = snakemake(cluster, *workflow_args(source, cluster / "results"), *slurm_profile_args(source), "-n")
    assert done.returncode == 0, failed(done, "dry run")
    assert "Nothing to be done" in done.stdout + done.stderr


def test_slurm_profile_sets_resources_for_exactly_the_workflow_rules(tmp_path):
    done = snakemake(tmp_path, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config.yaml"),
                     "--config", f"papers_dir={ROOT / 'resources/papers'}", "--list-rules", timeout=300)
    assert done.returncode == 0, failed(done, "--list-rules")
    # one rule name a line; a rule's docstring, if any, follows indented
    rules = {line.strip() for line in done.stdout.splitlines() if line[:1].isalnum()} - {"all"}
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert set(profile["set-resources"]) == rules
    for rule, resources in profile["set-resources"].items():
        assert {"mem_mb", "runtime", "cpus_per_task"} <= set(resources), rule
    assert set(profile["groups"]) <= rules
    assert set(profile["group-components"]) == set(profile["groups"].values())


def test_local_profile_is_the_default_profile():
    def settings(name):
        return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())

    assert settings("local") == settings("default")
