# Config validation and input functions shared by every stage.
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

# the library lives beside the rules; importable even when not pip-installed
sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
from trialmeta.core.config import ConfigError, check_config  # noqa: E402
from trialmeta.extract.corpus import find_papers  # noqa: E402
from trialmeta.harmonise.curation import curation_folder  # noqa: E402

min_version("9.0")


# command-line strings typed as the schema says ('0.9' -> 0.9, 'true' -> True), and a short
# message naming the key (with the closest valid keys) instead of Snakemake's schema dump
try:
    config.update(
        check_config(
            config,
            os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"),
        )
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None
validate(config, schema="../schemas/config.schema.yaml")  # fills in the defaults

RESULTS = config["results_dir"]
# Every rule runs in the project's one environment (same pins as pyproject.toml).
CONDA_ENV = os.path.join(workflow.basedir, "environment.yml")
CURATION_DIR = curation_folder(config)
# A user's own extraction sheet replaces extraction (papers_dir is then not
# read): checked now, so a bad row stops the run before any job, naming its
# row and column.
ENDPOINTS_TABLE = config.get("endpoints_table") or ""
if ENDPOINTS_TABLE:
    from trialmeta.harmonise.endpoints_table import load_endpoints_table  # noqa: E402

    TABLE_PAPERS = sorted(
        {row["paper"] for row in load_endpoints_table(ENDPOINTS_TABLE)}
    )
    PAPERS = {}
else:
    PAPERS = find_papers(config["papers_dir"])
# one reconstruction job per digitised curve file (the folder's README is no curve)
CURVES_DIR = config["curves_dir"] or ""
CURVE_FILES = (
    {path.stem: str(path) for path in sorted(Path(CURVES_DIR).glob("*.csv"))}
    if CURVES_DIR and Path(CURVES_DIR).is_dir()
    else {}
)


def run_summary(stopped):
    """Print what the run did (README "The run summary"); with `strict`, any problem fails the run."""
    from trialmeta.report import summary as run

    tables, details = run.read_tables(RESULTS)
    papers = set(TABLE_PAPERS if ENDPOINTS_TABLE else PAPERS)
    found = run.summarise(tables, details, config, papers=papers, stopped=stopped)
    print(
        "\n".join(run.lines(found, RESULTS, strict=config["strict"])), file=sys.stderr
    )
    if config["strict"] and found.problems and not stopped:
        sys.exit(1)


onsuccess:
    run_summary(stopped=False)


onerror:
    run_summary(stopped=True)


wildcard_constraints:
    paper="[^/]+",
    curve="[^/]+",
    endpoint="[a-z0-9_]+",


def results(*parts):
    return os.path.join(RESULTS, *parts)


def paper_file(wildcards):
    return PAPERS[wildcards.paper]


def extracted_files(wildcards=None):
    return [results("extracted", f"{paper}.json") for paper in PAPERS]


def curation_files(wildcards=None):
    """Curation files that exist for the papers being run: adding one reruns harmonise."""
    if not CURATION_DIR:
        return []
    papers = TABLE_PAPERS if ENDPOINTS_TABLE else PAPERS
    candidates = (os.path.join(CURATION_DIR, f"{paper}.yaml") for paper in papers)
    return [path for path in candidates if os.path.exists(path)]


def curve_file(wildcards):
    return CURVE_FILES[wildcards.curve]


def reconstructed_files(wildcards=None):
    return [results("reconstructed", f"{curve}.json") for curve in CURVE_FILES]


def harmonise_sources(wildcards=None):
    """The endpoints_table sheet if one is set (no extraction job runs), else every paper's extraction."""
    return [ENDPOINTS_TABLE] if ENDPOINTS_TABLE else extracted_files()


# Figures: every file name is fixed by the configuration.
# One subgroup forest per configured column and one bubble plot per moderator
# (results.json "subgroups" and "meta_regression" are keyed by the same names).
SUBGROUP_COLUMNS = config["pooling"]["subgroups"]
MODERATORS = config["pooling"]["moderators"]
# one forest per survival endpoint and landmark, named as its results.json "landmarks" entry
LANDMARK_KEYS = [
    f"{endpoint}_{int(months)}m"
    for endpoint in config["survival"]["endpoints"]
    for months in config["survival"]["landmark_months"]
]
KM_FIGURES = ["km_curves", "km_pooled"]
SURVIVAL_FIGURES = [f"forest_{key}" for key in LANDMARK_KEYS] + KM_FIGURES


def pooled_part(name):
    """Input function: one per-endpoint result file of the pool checkpoint (see rules/pool.smk)."""

    def part(wildcards):
        checkpoints.pool.get()
        return results("pooled", "parts", name.format(**wildcards) + ".json")

    return part


def _figure(name, extension):
    return results("figures", f"{name}.{extension}")


def endpoint_figure_names(endpoint):
    """Every figure of one endpoint, in the order scripts/figures.py draws them."""
    return [
        f"forest_{endpoint}",
        *(f"forest_{endpoint}_by_{column}" for column in SUBGROUP_COLUMNS),
        f"leave_one_out_{endpoint}",
        f"cumulative_{endpoint}",
        f"funnel_{endpoint}",
        *(f"bubble_{endpoint}_{moderator}" for moderator in MODERATORS),
    ]


def figure_files(extension, wildcards=None):
    """All figures of the run (input of the report and of `rule all`)."""
    names = [
        name
        for endpoint in config["endpoints"]
        for name in endpoint_figure_names(endpoint)
    ]
    return [_figure(name, extension) for name in names + SURVIVAL_FIGURES]


def final_outputs():
    return [
        results("tables", "endpoints.csv"),
        results("tables", "studies.csv"),
        results("tables", "audit.csv"),
        results("tables", "coverage.csv"),
        results("tables", "pooled.csv"),
        results("tables", "km_pooled.csv"),
        *figure_files("png"),
        *figure_files("svg"),
        results("report.html"),
        results("r", "reproduce.R"),
        *review_outputs(),
        *agreement_outputs(),
    ]


# Review pages (rules/review.smk) and the agreement of two reviewers.
REVIEWER_DIRS = config["review"]["reviewer_dirs"]
# checked now, so a mistyped folder stops the run before any job, naming it
for _folder in REVIEWER_DIRS:
    if not os.path.isdir(_folder):
        raise ValueError(f"review.reviewer_dirs: {_folder!r} is not a folder")


def paper_curation_file(wildcards):
    """The paper's curation file, when there is one: the page shows its decisions and an export keeps them."""
    if not CURATION_DIR:
        return []
    path = os.path.join(CURATION_DIR, f"{wildcards.paper}.yaml")
    return [path] if os.path.exists(path) else []


# a paper named "index" would write review/index.html, the review index's page
if any(paper.casefold() == "index" for paper in PAPERS):
    raise WorkflowError(
        "a paper is named 'index', which would overwrite review/index.html; rename its file"
    )


def review_outputs():
    pages = [results("review", f"{paper}.html") for paper in PAPERS]
    return [*pages, results("review", "index.html")] if pages else []


def reviewer_files(wildcards=None):
    """Every curation file of the two reviewers' folders (adding one reruns the comparison)."""
    return [
        os.path.join(folder, name)
        for folder in REVIEWER_DIRS
        for name in sorted(os.listdir(folder))
        if name.endswith(".yaml")
    ]


def agreement_outputs():
    if not REVIEWER_DIRS:
        return []
    return [
        results("tables", "agreement.csv"),
        results("tables", "agreement_summary.csv"),
    ]
