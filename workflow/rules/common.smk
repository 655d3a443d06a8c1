# Config validation and input functions shared by every stage.
import os
import sys

from snakemake.utils import min_version, validate

# the library lives beside the rules; importable even when not pip-installed
sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
from trialmeta.corpus import find_papers  # noqa: E402

min_version("9.0")


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results_dir"]
# Every rule runs in the project's one environment (same pins as pyproject.toml).
CONDA_ENV = os.path.join(workflow.basedir, "environment.yml")
PAPERS = find_papers(config["papers_dir"])
CURATION_DIR = config["curation_dir"]
# A user's own extraction sheet replaces extraction: checked now, so a bad row
# stops the run before any job, naming its row and column.
ENDPOINTS_TABLE = config.get("endpoints_table", "")
if ENDPOINTS_TABLE:
    from trialmeta.endpoints_table import load_endpoints_table  # noqa: E402

    TABLE_PAPERS = sorted({row["paper"] for row in load_endpoints_table(ENDPOINTS_TABLE)})


wildcard_constraints:
    paper="[^/]+",
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


def harmonise_sources(wildcards=None):
    """The endpoints_table sheet if one is set (no extraction job runs), else every paper's extraction."""
    return [ENDPOINTS_TABLE] if ENDPOINTS_TABLE else extracted_files()


def forest_plots(extension):
    return [results("figures", f"forest_{endpoint}.{extension}") for endpoint in config["endpoints"]]


def final_outputs():
    return [
        results("tables", "endpoints.csv"),
        results("tables", "studies.csv"),
        results("tables", "audit.csv"),
        results("tables", "pooled.csv"),
        *forest_plots("png"),
        *forest_plots("svg"),
        results("report.html"),
    ]
