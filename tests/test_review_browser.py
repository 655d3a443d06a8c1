"""Issue 19's acceptance: the demo's review page in a real browser (Chromium via Selenium).

Accept one value, correct one, reject one, add one, export, rerun Snakemake with the exported file,
and check endpoints.csv, audit.csv and the pooled estimate that the correction changed. Every
user action (a key, a click, a field typed) is counted: the README quotes the count. Screenshots
go to $TRIALMETA_SCREENSHOTS (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browser import chromium, require

from trialmeta.harmonise.curation import load_curation

ROOT = Path(__file__).resolve().parents[1]
PAPER = "tandem_cd19cd22_rr_all"
REVIEWER = "R. Viewer"
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *targets: str) -> None:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--cores", "2", "--configfile", str(ROOT / "config.yaml"), "--config",
               f"papers_dir={ROOT / 'resources/papers'}", f"lexicon={ROOT / 'resources/lexicon.yaml'}",
               f"curation_dir={workdir / 'curation'}", f"results_dir={workdir / 'results'}", "--",
               *(str(workdir / target) for target in targets)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"snakemake failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


TARGETS = ("results/tables/pooled.csv", "results/tables/audit.csv", f"results/review/{PAPER}.html", "results/review/index.html")


class User:
    """A reviewer at the keyboard; counts every action."""

    def __init__(self, driver):
        from selenium.webdriver.common.action_chains import ActionChains

        self.driver, self.actions, self._chain = driver, 0, ActionChains
        self.log = []

    def key(self, keys: str, why: str) -> None:
        self._chain(self.driver).send_keys(keys).perform()
        self.actions += 1
        self.log.append(f"key {keys!r}: {why}")

    def type(self, element, text: str, why: str) -> None:
        element.send_keys(text)
        self.actions += 1
        self.log.append(f"type {text!r}: {why}")

    def click(self, element, why: str) -> None:
        element.click()
        self.actions += 1
        self.log.append(f"click: {why}")


def card(driver, key: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'section.item[data-key="{key}"]')


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    require()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    work = tmp_path_factory.mktemp("review")
    shutil.copytree(ROOT / "resources/papers/curation", work / "curation")
    snakemake(work, *TARGETS)
    before = {name: pd.read_csv(work / "results/tables" / f"{name}.csv") for name in ("endpoints", "pooled")}
    shots = Path(os.environ.get("TRIALMETA_SCREENSHOTS") or work / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    downloads = work / "downloads"
    downloads.mkdir()
    with chromium(str(downloads)) as driver:
        driver.get((work / "results/review" / f"{PAPER}.html").as_uri())
        user = User(driver)
        driver.save_screenshot(str(shots / "review_opened.png"))
        user.type(driver.find_element(By.ID, "reviewer"), REVIEWER, "the reviewer's name, once per browser")
        # accept: the extractor's CR/CRi (22 of 22) as printed
        user.click(card(driver, "cr_cri"), "select the CR/CRi value")
        user.key("a", "accept it; the page moves on to the next value, MRD negativity")
        # reject: MRD negativity
        user.key("r", "reject it: the reason field opens")
        user.key("value of the evaluable subgroup, not the cohort" + Keys.ENTER, "reason, Enter rejects")
        assert driver.switch_to.active_element.get_attribute("data-key") == "relapse"  # moved on again
        # correct: CRS of any grade, 19 of 22 instead of the extracted value
        target = card(driver, "crs_any")
        user.click(target, "select the CRS value")
        user.key("c", "open the correction")
        form = target.find_element(By.CSS_SELECTOR, "form.correct")
        user.type(form.find_element(By.NAME, "events"), "19", "events")
        user.type(form.find_element(By.NAME, "total"), "22", "total")
        user.type(form.find_element(By.NAME, "reason"), "table 3 counts 19 of 22 with CRS" + Keys.ENTER, "reason, Enter saves")
        driver.save_screenshot(str(shots / "review_decided.png"))
        # add: ICANS of any grade, which the extractor missed
        user.key("n", "go to the add form")
        add = driver.find_element(By.CSS_SELECTOR, "form.add")
        Select(add.find_element(By.NAME, "endpoint")).select_by_value("icans_any")
        user.actions += 1
        user.log.append("select: endpoint icans_any")
        user.type(add.find_element(By.NAME, "events"), "3", "events")
        user.type(add.find_element(By.NAME, "total"), "22", "total")
        user.type(add.find_element(By.NAME, "page"), "1", "page")
        user.type(add.find_element(By.NAME, "quote"), "three patients had neurotoxicity", "quote")
        user.type(add.find_element(By.NAME, "reason"), "stated in the safety paragraph" + Keys.ENTER, "reason, Enter adds")
        progress = driver.find_element(By.ID, "progress").text
        # export
        user.key(Keys.ESCAPE, "leave the form")
        user.key("e", "export")
        exported = downloads / f"{PAPER}.yaml"
        for _ in range(50):
            if exported.exists():
                break
            time.sleep(0.1)
        shown = driver.find_element(By.ID, "yaml").text
        driver.execute_script("document.getElementById('exported').scrollIntoView()")
        driver.save_screenshot(str(shots / "review_exported.png"))
        # the index page downloads every paper's file in one zip
        driver.get((work / "results/review/index.html").as_uri())
        driver.find_element(By.ID, "zip").click()
        zipped = downloads / "curation.zip"
        for _ in range(50):
            if zipped.exists():
                break
            time.sleep(0.1)
        zip_result = driver.find_element(By.ID, "zip-result").text
        driver.save_screenshot(str(shots / "review_index_zip.png"))
    assert exported.exists(), "the export downloaded no file"
    # the exported file replaces the paper's curation file; the rerun applies it
    shutil.copy(exported, work / "curation" / f"{PAPER}.yaml")
    snakemake(work, *TARGETS)
    after = {name: pd.read_csv(work / "results/tables" / f"{name}.csv", keep_default_na=name != "audit")
             for name in ("endpoints", "pooled", "audit")}
    return {"before": before, "after": after, "user": user, "exported": exported, "shown": shown,
            "zipped": downloads / "curation.zip", "zip_result": zip_result,
            "progress": progress, "work": work}


def rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["paper"] == PAPER].set_index("endpoint")


def test_the_exported_file_is_a_valid_curation_file_holding_the_four_decisions(reviewed):
    curation = load_curation(reviewed["exported"])
    decisions = {d.endpoint: d for d in curation.decisions}
    assert {k: d.decision for k, d in decisions.items()} == {
        "cr_cri": "accept", "crs_any": "override", "mrd_neg": "reject", "icans_any": "add",
        "crs_grade3plus": "override",  # the demo's own decision, kept by the export
    }
    assert decisions["crs_any"].values == {"events": 19, "total": 22}
    assert decisions["icans_any"].values == {"events": 3, "total": 22, "page": 1}
    assert all(f"(reviewer: {REVIEWER})" in d.reason for k, d in decisions.items() if k != "crs_grade3plus")
    assert "three patients had neurotoxicity" in decisions["icans_any"].reason
    data = yaml.safe_load(reviewed["exported"].read_text())
    assert len(data["paper_sha256"]) == 64 and data["study"] == "Tandem CD19/CD22, r/r ALL"
    assert reviewed["shown"].strip() == reviewed["exported"].read_text().strip()
    assert reviewed["progress"].startswith("4 of ") and "1 added" in reviewed["progress"]


def test_rerun_applies_the_decisions_to_endpoints_and_audit(reviewed):
    before, after = rows(reviewed["before"]["endpoints"]), rows(reviewed["after"]["endpoints"])
    assert before.loc["cr_cri", "source"] == "extracted" and after.loc["cr_cri", "source"] == "verified"
    assert after.loc["cr_cri", ["events", "total"]].tolist() == before.loc["cr_cri", ["events", "total"]].tolist()
    assert after.loc["crs_any", ["events", "total", "source"]].tolist() == [19, 22, "curated"]
    assert "mrd_neg" in before.index and "mrd_neg" not in after.index
    assert "icans_any" not in before.index
    assert after.loc["icans_any", ["events", "total", "page", "source"]].tolist() == [3, 22, 1, "curated"]
    audit = reviewed["after"]["audit"]
    mine = audit[(audit["paper"] == PAPER) & audit["reason"].str.contains(f"(reviewer: {REVIEWER})", regex=False)]
    assert set(zip(mine["endpoint"], mine["decision"])) == {
        ("cr_cri", "accept"), ("crs_any", "override"), ("mrd_neg", "reject"), ("icans_any", "add")}
    assert set(mine["file"]) == {f"{PAPER}.yaml"}


def test_the_pooled_estimate_of_the_corrected_endpoint_changed(reviewed):
    def primary(table, endpoint):
        row = table[(table["endpoint"] == endpoint) & (table["subgroup"] == "all")].iloc[0]
        return row["estimate"], row["k"]

    crs_before, crs_after = primary(reviewed["before"]["pooled"], "crs_any"), primary(reviewed["after"]["pooled"], "crs_any")
    assert crs_after[1] == crs_before[1] and crs_after[0] < crs_before[0]  # 20/22 -> 19/22, same studies
    mrd_before, mrd_after = primary(reviewed["before"]["pooled"], "mrd_neg"), primary(reviewed["after"]["pooled"], "mrd_neg")
    assert mrd_after[1] == mrd_before[1] - 1  # the rejected value leaves the pool
    icans_before, icans_after = primary(reviewed["before"]["pooled"], "icans_any"), primary(reviewed["after"]["pooled"], "icans_any")
    assert icans_after[1] == icans_before[1] + 1  # the added value joins it


def test_the_review_needs_few_actions(reviewed):
    user = reviewed["user"]
    print(f"{user.actions} actions:\n" + "\n".join(user.log))
    assert user.actions == 19, user.log


def test_choosing_another_candidate_and_metadata_export_what_harmonise_applies(reviewed, tmp_path):
    """The two actions the acceptance run leaves out, in a fresh browser on the same page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from trialmeta.core.io import read_json
    from trialmeta.harmonise.table import harmonise

    work = reviewed["work"]
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(str(downloads)) as driver:
        driver.get((work / "results/review" / f"{PAPER}.html").as_uri())
        driver.find_element(By.ID, "reviewer").send_keys("Second Reader")
        relapse = card(driver, "relapse")
        relapse.click()
        driver.find_element(By.CSS_SELECTOR, 'section.item[data-key="relapse"] input.reason').send_keys("the cohort count")
        ActionChains = __import__("selenium.webdriver.common.action_chains", fromlist=["ActionChains"]).ActionChains
        ActionChains(driver).send_keys(Keys.ESCAPE).send_keys("o").perform()  # opens the candidates, focuses the first
        choose = driver.switch_to.active_element
        chosen_index = int(choose.get_attribute("data-candidate"))
        choose.click()
        form = driver.find_element(By.CSS_SELECTOR, "form.metadata")
        form.find_element(By.NAME, "year").send_keys("2019")
        form.find_element(By.NAME, "trial_ids").send_keys("NCT01234567")
        form.find_element(By.NAME, "reason").send_keys("year and registry id on the title page" + Keys.ENTER)
        ActionChains(driver).send_keys(Keys.ESCAPE).send_keys("e").perform()
        exported = downloads / f"{PAPER}.yaml"
        for _ in range(50):
            if exported.exists():
                break
            time.sleep(0.1)
    assert exported.exists()
    curation = tmp_path / "curation"
    curation.mkdir()
    shutil.copy(exported, curation / exported.name)
    record = read_json(work / "results/extracted" / f"{PAPER}.json")
    tables = harmonise([record], str(curation))
    assert tables["failures"].empty, tables["failures"].to_dict("records")
    row = tables["endpoints"].set_index("endpoint").loc["relapse"]
    picked = record["candidates"][chosen_index]
    assert (row["events"], row["source"]) == (picked["events"], "curated")
    assert "the cohort count (reviewer: Second Reader)" in set(tables["audit"]["reason"])
    study = tables["studies"].iloc[0]
    assert (study["year"], study["trial_ids"]) == (2019, "NCT01234567")


def test_the_index_downloads_every_reviewed_papers_file_in_one_zip(reviewed):
    import zipfile

    assert reviewed["zipped"].exists(), f"the index downloaded no zip ({reviewed['zip_result']})"
    with zipfile.ZipFile(reviewed["zipped"]) as archive:
        assert archive.testzip() is None  # every member's CRC-32 checks out
        assert archive.namelist() == [f"{PAPER}.yaml"]  # only the paper with decisions in this browser
        assert archive.read(f"{PAPER}.yaml").decode("utf-8") == reviewed["exported"].read_text(encoding="utf-8")
    assert "Exported curation.zip with 1 file(s)" in reviewed["zip_result"]
