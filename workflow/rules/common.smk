# Config validation and input functions shared by every stage.
import os

from snakemake.utils import min_version, validate

from trialmeta.corpus import find_papers

min_version("9.0")


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results_dir"]
PAPERS = find_papers(config["papers_dir"])
CURATION_DIR = config["curation_dir"]


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
    candidates = (os.path.join(CURATION_DIR, f"{paper}.yaml") for paper in PAPERS)
    return [path for path in candidates if os.path.exists(path)]


def forest_plots(extension):
    return [results("figures", f"forest_{endpoint}.{extension}") for endpoint in config["endpoints"]]


def final_outputs():
    return [
        results("tables", "endpoints.csv"),
        results("tables", "studies.csv"),
        results("tables", "pooled.csv"),
        *forest_plots("png"),
        *forest_plots("svg"),
        results("report.html"),
    ]
