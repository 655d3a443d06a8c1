#!/usr/bin/env python3
"""Build a synthetic corpus of N CAR-T trial reports with known true values.

For benchmarks and scale tests: every paper is invented (trial, numbers and prose are this
project's own; no sentence comes from a real article), drawn from a fixed seed, and written as a
two-column PDF (typeset by the layout code of tools/make_demo_papers.py), a plain-text file or a
Markdown file. The facts each paper prints are written to a gold file in the format of
tests/gold/*.yaml, so tools/evaluate_extraction.py scores the extractor on it like on the real
papers.

Variety, chosen per paper from its own random stream:
  - each endpoint in several forms: "14 of 20 patients (70.0%)", "14/20 (70.0%)",
    "70.0% (14/20)", "fourteen of twenty", "14 patients (70.0%)", "All 20 patients",
    "70.0% (95% CI, 45.7-88.1)" for survival, "61.2% ± 8.3%", "... respectively" lists,
    negated zeros ("no patient had grade 3 or higher CRS"), and per-patient tables whose rows
    are the only source of some counts;
  - layout: A4 or letter, ruled grid or three-rule tables, tables in a column or full width at
    the top of page 2, baseline tables, hard-wrapped plain text with tab-separated tables,
    Markdown with pipe tables;
  - study design: target (CD19, CD22, CD19/CD22), construct, population, age group, registry
    ids, publication year (sometimes none), background numbers in the introduction and
    discussion that are not the trial's.

Paper i depends only on (seed, i): a corpus of N + 1 papers is the corpus of N plus one paper,
and the same arguments give byte-identical files (PDFs in reportlab's invariant mode).

Usage: python tools/make_synthetic_corpus.py --n 200 --out /tmp/synthetic
       -> /tmp/synthetic/papers/syn_0000.pdf ... and /tmp/synthetic/gold.yaml
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import random
import re
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_demo_papers  # noqa: E402  (the demo corpus's typesetting, reused as it is)

DEFAULT_SEED = 20241107
FORMAT_WEIGHTS = {"pdf": 0.6, "txt": 0.2, "md": 0.2}
SURVIVAL_NAMES = {
    "os": ("overall survival", "OS"),
    "efs": ("event-free survival", "EFS"),
    "rfs": ("relapse-free survival", "RFS"),
    "lfs": ("leukemia-free survival", "LFS"),
    "relapse_cuminc": ("cumulative incidence of relapse", "CIR"),
}
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
MONTH_NAMES = ("January February March April May June July August September October November "
               "December").split()
SURNAMES = ("Abara Berglund Castellanos Dimitrov Eriksen Fontaine Gallagher Horvath Ishikawa "
            "Jankowski Kuznetsova Lindqvist Moreau Nakamura Okafor Petrenko Quintero Rasmussen "
            "Sandoval Takahashi Uribe Valdivia Wojcik Xu Yilmaz Zanetti").split()
JOURNALS = ("Synthetic Hematology Letters", "Journal of Invented Cell Therapy",
            "Benchmark Leukemia Reports", "Archives of Simulated Immunotherapy",
            "Placeholder Blood Research")


def spelled(number: int) -> str:
    """An integer below 100 in English words ("twenty-three")."""
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens - 2] + (f"-{_ONES[ones]}" if ones else "")


def percent(events: int, total: int) -> str:
    return f"{100 * events / total:.1f}"


def capital(text: str) -> str:
    return text[0].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# facts
@dataclass
class Patient:
    age: int
    sex: str
    responded: bool
    mrd_negative: bool
    crs_grade: int
    icans_grade: int
    relapsed: bool
    relapse_month: float
    died: bool


@dataclass
class Trial:
    """What one synthetic paper reports; `gold` is what a careful reader takes from it."""

    index: int
    stem: str
    fmt: str
    trial_ids: list[str]
    target: str
    construct: str
    population: str
    age_group: str
    year: int | None
    age_low: int
    age_high: int
    n_enrolled: int
    n_treated: int
    counts: dict[str, tuple[int, int]]  # endpoint -> (events, total), only those printed
    survival: list[dict]  # {endpoint, landmark_months, percent, ci | se | None}
    followup: tuple[float, str, float, float] | None  # median, unit, range low, high
    patients: list[Patient] | None  # per-patient table, when the paper has one
    with_icans: bool = True
    text_counts: set[str] = field(default_factory=set)  # counts also stated in the prose


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _patients(rng: random.Random, n: int, trial_population: str, ages: tuple[int, int]) -> list[Patient]:
    p_response = rng.uniform(0.6, 0.95)
    p_crs, p_icans = rng.uniform(0.3, 0.9), rng.uniform(0.05, 0.45)
    out = []
    for _ in range(n):
        responded = trial_population == "mrd_positive" or rng.random() < p_response
        mrd_negative = responded and rng.random() < 0.85
        crs = rng.choice([1, 1, 1, 2, 2, 3, 4]) if rng.random() < p_crs else 0
        icans = rng.choice([1, 1, 2, 3, 4]) if rng.random() < p_icans else 0
        relapsed = responded and rng.random() < 0.3
        out.append(Patient(
            age=rng.randint(*ages), sex=rng.choice("MF"), responded=responded, mrd_negative=mrd_negative,
            crs_grade=crs, icans_grade=icans, relapsed=relapsed,
            relapse_month=round(rng.uniform(2, 18), 1), died=(not relapsed) and rng.random() < 0.1,
        ))
    return out


def make_trial(index: int, seed: int = DEFAULT_SEED, fmt: str | None = None) -> Trial:
    """The facts of paper `index`; they depend on (seed, index) only."""
    rng = random.Random(f"{seed}:{index}")
    target = rng.choice(["CD19", "CD19", "CD22", "CD19/CD22", "CD19/CD22"])
    construct = "single" if target != "CD19/CD22" else rng.choice(["bispecific", "tandem", "sequential", "cocktail"])
    population = rng.choice(["relapsed_refractory"] * 3 + ["mrd_positive"])
    age_group = rng.choice(["pediatric", "adult", "mixed"])
    ages = {"pediatric": (rng.randint(1, 5), rng.randint(12, 17)),
            "adult": (rng.randint(18, 25), rng.randint(55, 75)),
            "mixed": (rng.randint(3, 15), rng.randint(25, 65))}[age_group]
    chosen_fmt = rng.choices(list(FORMAT_WEIGHTS), weights=list(FORMAT_WEIGHTS.values()))[0]
    fmt = fmt or chosen_fmt
    per_patient = rng.random() < 0.35
    n_treated = rng.randint(8, 24) if per_patient else rng.randint(10, 80)
    n_enrolled = n_treated + rng.choice([0, 0, 1, 2, 3, 5])
    ids_kind = rng.choice(["nct", "nct", "chictr", "both", "none"])
    trial_ids = []
    if ids_kind in ("nct", "both"):
        trial_ids.append(f"NCT0{rng.randint(1000000, 5999999)}")
    if ids_kind in ("chictr", "both"):
        trial_ids.append(f"ChiCTR{rng.randint(1700000000, 2299999999)}")
    year = rng.choice([None] + list(range(2016, 2026)))

    patients = _patients(rng, n_treated, population, ages)
    counts: dict[str, tuple[int, int]] = {}
    n = n_treated
    responders = sum(p.responded for p in patients)
    if population == "relapsed_refractory" and rng.random() < 0.95:
        counts["cr_cri"] = (responders, n)
    if per_patient or rng.random() < 0.85:
        counts["mrd_neg"] = (sum(p.mrd_negative for p in patients), n)
    if per_patient or rng.random() < 0.8:
        counts["relapse"] = (sum(p.relapsed for p in patients), n)
    if per_patient or rng.random() < 0.9:
        counts["crs_any"] = (sum(p.crs_grade >= 1 for p in patients), n)
        counts["crs_grade3plus"] = (sum(p.crs_grade >= 3 for p in patients), n)
    with_icans = per_patient or rng.random() < 0.8
    if with_icans:
        counts["icans_any"] = (sum(p.icans_grade >= 1 for p in patients), n)
        counts["icans_grade3plus"] = (sum(p.icans_grade >= 3 for p in patients), n)

    survival = []
    for endpoint, chance in (("os", 0.8), (rng.choice(["efs", "rfs", "lfs"]), 0.6), ("relapse_cuminc", 0.25)):
        if rng.random() >= chance:
            continue
        landmark = rng.choice([6, 12, 12, 24]) if endpoint != "relapse_cuminc" else 12
        value = round(rng.uniform(10, 45) if endpoint == "relapse_cuminc" else rng.uniform(35, 95), 1)
        entry = {"endpoint": endpoint, "landmark_months": landmark, "percent": value, "ci": None, "se": None}
        style = rng.choice(["ci", "se", "bare"])
        if style == "ci":
            half = rng.uniform(8, 22)
            entry["ci"] = (round(max(0.0, value - half), 1), round(min(100.0, value + half * 0.9), 1))
        elif style == "se":
            entry["se"] = round(rng.uniform(4, 14), 1)
        survival.append(entry)

    followup = None
    if rng.random() < 0.85:
        if rng.random() < 0.3:
            median = rng.randint(120, 700)
            followup = (median, "days", rng.randint(30, median - 20), rng.randint(median + 30, median + 600))
        else:
            median = round(rng.uniform(4, 36), 1)
            followup = (median, "months", round(rng.uniform(1, median * 0.6), 1), round(median * rng.uniform(1.3, 2.5), 1))

    text_counts = set(counts) if not per_patient else {e for e in counts if e == "cr_cri" or rng.random() < 0.4}
    # a grade >= 3 count is written next to its any-grade count
    for any_grade, severe in (("crs_any", "crs_grade3plus"), ("icans_any", "icans_grade3plus")):
        if any_grade in text_counts:
            text_counts.add(severe)
        else:
            text_counts.discard(severe)
    return Trial(
        index=index, stem=f"syn_{index:04d}", fmt=fmt, trial_ids=trial_ids, target=target,
        construct=construct, population=population, age_group=age_group, year=year,
        age_low=ages[0], age_high=ages[1], n_enrolled=n_enrolled, n_treated=n_treated,
        counts=counts, survival=survival, followup=followup,
        patients=patients if per_patient else None, with_icans=with_icans, text_counts=text_counts,
    )


def gold_entry(trial: Trial) -> dict:
    """The trial's facts in the format of tests/gold/*.yaml."""
    entry: dict = {"trial_ids": list(trial.trial_ids), "target": trial.target, "construct": trial.construct,
                   "population": trial.population, "age_group": trial.age_group}
    if trial.year is not None:
        entry["year"] = trial.year
    endpoints: list[dict] = [{"endpoint": "n_treated", "total": trial.n_treated}]
    for endpoint, (events, total) in trial.counts.items():
        endpoints.append({"endpoint": endpoint, "events": events, "total": total})
    for item in trial.survival:
        fact = {"endpoint": item["endpoint"], "landmark_months": item["landmark_months"],
                "estimate": round(item["percent"] / 100, 4)}
        if item["ci"]:
            fact["ci_low"], fact["ci_high"] = (round(v / 100, 4) for v in item["ci"])
        if item["se"] is not None:
            fact["se"] = round(item["se"] / 100, 4)
        endpoints.append(fact)
    if trial.followup:
        median, unit = trial.followup[:2]
        months = median / 30.4375 if unit == "days" else median
        endpoints.append({"endpoint": "followup_median_months", "estimate": round(months, 3)})
    entry["endpoints"] = endpoints
    return entry


# ---------------------------------------------------------------------------------------------
# prose: a paper is a title block plus sections of paragraphs; "[[table:x]]" places a table.
# Paragraphs use the demo sources' inline markup (**bold**, 10^6^).
def _therapy(trial: Trial, rng: random.Random) -> str:
    if trial.target == "CD19":
        return rng.choice(["CD19-directed CAR T cells", "anti-CD19 CAR-T cells", "autologous CD19-targeted CAR T cells"])
    if trial.target == "CD22":
        return rng.choice(["CD22-directed CAR T cells", "anti-CD22 CAR-T cells", "autologous CD22-targeted CAR T cells"])
    return {
        "bispecific": "a bispecific CD19/CD22 CAR T-cell product",
        "tandem": "tandem CD19/CD22 CAR T cells",
        "sequential": "sequential infusions of CD19 and then CD22 CAR T cells",
        "cocktail": "a cocktail of CD19 and CD22 CAR T cells given by co-infusion",
    }[trial.construct]


def _population(trial: Trial, rng: random.Random) -> str:
    people = {"pediatric": rng.choice(["children", "pediatric patients"]),
              "adult": "adults", "mixed": "patients"}[trial.age_group]
    disease = (rng.choice(["MRD-positive", "persistent MRD in"]) if trial.population == "mrd_positive"
               else rng.choice(["relapsed/refractory", "relapsed or refractory"]))
    if disease == "persistent MRD in":
        return f"{people} with persistent MRD in B-cell acute lymphoblastic leukemia"
    return f"{people} with {disease} B-cell acute lymphoblastic leukemia"


def _count_sentence(rng: random.Random, endpoint: str, events: int, total: int) -> str:
    """One sentence stating events/total for an endpoint, in one of several forms."""
    p = percent(events, total)
    noun = {
        "cr_cri": ("complete remission or CR with incomplete count recovery (CR/CRi)",
                   "CR/CRi", "complete remission (CR or CRi) by day 28"),
        "mrd_neg": ("MRD-negative remission", "MRD-negative CR", "MRD-negative status"),
        "relapse": ("relapse", "relapse", "disease recurrence"),
        "crs_any": ("cytokine release syndrome (CRS) of any grade", "CRS of any grade", "CRS"),
        "icans_any": ("neurotoxicity (ICANS) of any grade", "ICANS of any grade", "neurotoxicity"),
    }[endpoint]
    verb = {"cr_cri": "achieved", "mrd_neg": "reached", "relapse": "had a", "crs_any": "developed",
            "icans_any": "developed"}[endpoint]
    if events == 0:
        return rng.choice([
            f"No patient developed {noun[2]}." if endpoint in ("crs_any", "icans_any") else
            f"None of the patients {verb} {noun[0]}.",
        ])
    if events == total:
        return rng.choice([f"All {total} patients {verb} {noun[0]}.",
                           f"All {total} treated patients {verb} {noun[0]} ({p}%)."])
    forms = [
        f"In total, {events} of {total} patients ({p}%) {verb} {noun[0]}.",
        f"{capital(noun[1])} was recorded in {events}/{total} patients ({p}%).",
        f"The rate of {noun[1]} was {p}% ({events}/{total}).",
        f"Overall, {events} patients ({p}%) {verb} {noun[0]}.",
        # a numeral may open a sentence, as in many papers
        f"{events} of {total} patients ({p}%) {verb} {noun[0]}.",
    ]
    if total < 100:
        forms.append(f"{capital(spelled(events))} of the {spelled(total)} patients {verb} {noun[0]}.")
    return rng.choice(forms)


def _severe_sentence(rng: random.Random, endpoint: str, events: int, total: int, any_events: int) -> str:
    name = {"crs_grade3plus": "CRS", "icans_grade3plus": "neurotoxicity"}[endpoint]
    if any_events == 0:
        return ""
    if events == 0:
        return rng.choice([f"No patient had grade 3 or higher {name}.",
                           f"{name} never exceeded grade 2." if name == "CRS" else
                           f"No patient had severe {name}."])
    p = percent(events, total)
    return rng.choice([
        f"Grade 3 or higher {name} occurred in {events} of {total} patients ({p}%).",
        f"Severe (grade ≥3) {name} was seen in {events}/{total} patients ({p}%).",
    ])


def _survival_sentence(rng: random.Random, item: dict) -> str:
    long_name, short = SURVIVAL_NAMES[item["endpoint"]]
    months = item["landmark_months"]
    when = rng.choice([f"at {months} months", f"{months}-month"] + (
        [f"{months // 12}-year", f"at {spelled(months // 12)} year{'s' if months > 12 else ''}"] if months % 12 == 0 else []))
    value = f"{item['percent']}%"
    if item["ci"]:
        value += f" (95% CI, {item['ci'][0]}–{item['ci'][1]})"
    elif item["se"] is not None:
        value += f" ± {item['se']}%"
    if when.startswith("at "):
        return rng.choice([f"The {long_name} ({short}) {when} was {value}.",
                           f"{capital(long_name)} {when} was estimated at {value}."])
    return rng.choice([f"The {when} {long_name} ({short}) was {value}.",
                       f"{capital(when)} {long_name} was estimated at {value}."])


def _followup_sentence(rng: random.Random, followup) -> str:
    median, unit, low, high = followup
    return rng.choice([
        f"The median follow-up was {median} {unit} (range, {low}–{high}).",
        f"Patients were followed for a median of {median} {unit} (range {low}–{high} {unit}).",
        f"At the data cutoff, median follow-up was {median} {unit} (range, {low}–{high} {unit}).",
    ])


def _results_prose(trial: Trial, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """Response, survival and safety paragraphs of the results."""
    said = trial.text_counts
    response = []
    for endpoint in ("cr_cri", "mrd_neg", "relapse"):
        if endpoint in said:
            response.append(_count_sentence(rng, endpoint, *trial.counts[endpoint]))
    if trial.patients is not None:
        response.append("Responses, toxicity and outcome of every patient are listed in the per-patient table.")
    survival = [_survival_sentence(rng, item) for item in trial.survival]
    if trial.followup:
        survival.insert(0, _followup_sentence(rng, trial.followup))
    safety = []
    for any_grade, severe in (("crs_any", "crs_grade3plus"), ("icans_any", "icans_grade3plus")):
        if any_grade not in said:
            continue
        events, total = trial.counts[any_grade]
        safety.append(_count_sentence(rng, any_grade, events, total))
        sentence = _severe_sentence(rng, severe, trial.counts[severe][0], total, events)
        if sentence:
            safety.append(sentence)
    if safety:
        safety.append("Fever, cytopenias and transient liver enzyme elevations were the other common adverse events.")
    return response, survival, safety


def _patient_table(trial: Trial, rng: random.Random, number: int) -> dict:
    first = rng.choice(["Patient", "Pt", "No."])
    header = [first, "Age, years", "Sex", rng.choice(["MRD at day 28", "MRD status, day 28"]), "CRS grade"]
    if trial.with_icans:
        header.append(rng.choice(["ICANS grade", "Neurotoxicity grade"]))
    header.append("Outcome")
    rows = []
    for patient_number, patient in enumerate(trial.patients, start=1):
        mrd = "Negative" if patient.mrd_negative else ("Positive" if patient.responded else "NR")
        if patient.relapsed:
            outcome = f"Relapse, month {patient.relapse_month}"
        elif patient.died:
            outcome = "Died in remission"
        elif patient.responded:
            outcome = "Continuing CR"
        else:
            outcome = "No response"
        row = [str(patient_number), str(patient.age), patient.sex, mrd, str(patient.crs_grade)]
        if trial.with_icans:
            row.append(str(patient.icans_grade))
        row.append(outcome)
        rows.append(row)
    widths = [0.09, 0.1, 0.07, 0.18, 0.1] + ([0.14] if trial.with_icans else []) + [0.28]
    spec = {
        "caption": f"Table {number}. Characteristics and outcome of the {trial.n_treated} infused patients",
        "style": rng.choice(["grid", "rules"]), "col_widths": widths, "header": header, "rows": rows,
        "note": "CRS, cytokine release syndrome; ICANS, immune effector cell-associated neurotoxicity syndrome; "
                "grades 0 = none. NR, no response. M, male; F, female.",
    }
    if rng.random() < 0.4:
        spec["float_page"] = 2
    return spec


def _baseline_table(trial: Trial, rng: random.Random) -> dict:
    n = trial.n_treated
    males = rng.randint(n // 4, 3 * n // 4)
    prior_transplant = rng.randint(0, n // 2)
    lines = rng.randint(2, 5)
    median_age = (trial.age_low + trial.age_high) // 2
    return {
        "caption": "Table 1. Baseline characteristics",
        "style": rng.choice(["grid", "rules"]), "col_widths": [0.62, 0.38],
        "header": ["Characteristic", f"Value (n = {n})"],
        "rows": [
            ["Age, median (range), years", f"{median_age} ({trial.age_low}–{trial.age_high})"],
            ["Male sex, n (%)", f"{males} ({percent(males, n)})"],
            ["Prior allogeneic transplant, n (%)", f"{prior_transplant} ({percent(prior_transplant, n)})"],
            ["Prior lines of therapy, median", str(lines)],
        ],
    }


@dataclass
class Paper:
    meta: dict
    sections: list[tuple[str, list[str]]]
    tables: dict[str, dict]


def compose(trial: Trial, seed: int = DEFAULT_SEED) -> Paper:
    rng = random.Random(f"{seed}:{trial.index}:prose")
    therapy, population = _therapy(trial, rng), _population(trial, rng)
    registry = ""
    if trial.trial_ids:
        registry = f" The study is registered at {' and '.join(trial.trial_ids)}."
    response, survival, safety = _results_prose(trial, rng)
    headline = (response + survival)[:2] or safety[:1]
    tables: dict[str, dict] = {}
    if rng.random() < 0.5:
        tables["baseline"] = _baseline_table(trial, rng)
    if trial.patients is not None:
        tables["patients"] = _patient_table(trial, rng, number=len(tables) + 1)
    start_year = (trial.year or 2020) - rng.randint(2, 4)
    summary_heading = rng.choice(["Abstract", "Summary"])
    abstract = (
        f"**Background.** Outcomes of {population} remain poor with chemotherapy alone. "
        f"**Methods.** We treated {trial.n_treated} patients with {therapy} in a single-arm phase "
        f"{rng.choice(['1', 'I', '1/2', 'II'])} study.{registry} **Results.** {' '.join(headline)} "
        f"**Conclusion.** {capital(therapy)} were active and had manageable toxicity."
    )
    enrolled = (f"Of {trial.n_enrolled} patients enrolled, {trial.n_treated} received an infusion; the others "
                "progressed or had a failed manufacture." if trial.n_enrolled > trial.n_treated else
                f"All {trial.n_treated} enrolled patients received an infusion.")
    methods = [
        f"**Patients.** Between {rng.choice(MONTH_NAMES)} {start_year} and {rng.choice(MONTH_NAMES)} "
        f"{start_year + rng.randint(1, 2)}, {population} were enrolled. Ages ranged from {trial.age_low} to "
        f"{trial.age_high} years. {enrolled}{registry}",
        f"**Treatment.** After lymphodepletion with fludarabine and cyclophosphamide, patients received "
        f"{therapy} at a target dose of {rng.choice(['1', '2', '3', '5'])} × 10^6^ cells/kg.",
        "**Assessments.** Marrow response was assessed on day 28 by morphology and flow cytometry"
        + rng.choice(["; MRD negativity meant fewer than 0.01% leukemic cells. ", " (sensitivity 10^-4^). ",
                      ". "])
        + "CRS and ICANS were graded by consensus criteria. Survival was estimated by the Kaplan–Meier "
        "method from the day of infusion.",
    ]
    if "baseline" in tables:
        methods.append("[[table:baseline]]")
    results = []
    for run_in, sentences in (("Response", response), ("Survival", survival), ("Safety", safety)):
        if sentences:
            results.append(f"**{run_in}.** " + " ".join(sentences))
    if not results:
        results.append("**Response.** Responses are listed in the per-patient table.")
    if "patients" in tables:
        results.insert(1, "[[table:patients]]")
    introduction = [
        rng.choice([
            "Earlier CAR T-cell products gave complete remission rates between 68% and 93% in this setting [1, 2].",
            "In previous trials of CAR T cells, 70% to 90% of patients reached remission, yet many relapsed "
            "within a year [1].",
        ]) + " Antigen loss and limited persistence of the infused cells are the main causes of failure.",
        f"Here we report a single-centre experience with {therapy} in {population}.",
    ]
    discussion = [
        f"In this study, {therapy} induced deep responses with toxicity that was mostly reversible. Other "
        "groups have reported relapse in about 40% of responders [3]; longer follow-up of this cohort is "
        "needed, and the single-arm design limits comparisons.",
    ]
    references = [
        "1. Example A, et al. Remission after CAR T cells in leukemia: a review. J Invented Hematol. 2019;3:10–19.",
        "2. Sample B, et al. Outcome of CAR T-cell therapy in B-ALL. Synthetic Blood. 2020;5:44–52.",
        "3. Writer C, et al. Relapse after CAR T cells. Placeholder Cell Ther. 2021;8:100–108.",
    ]
    sections = [(summary_heading, [abstract]), ("Introduction", introduction),
                (rng.choice(["Methods", "Patients and methods"]), methods), ("Results", results),
                ("Discussion", discussion), ("References", ["\n".join(references)])]
    authors = ", ".join(f"{chr(rng.randint(65, 90))}. {rng.choice(SURNAMES)}" for _ in range(rng.randint(3, 7)))
    journal = rng.choice(JOURNALS)
    published = (f"Received: 2 {rng.choice(MONTH_NAMES)} {trial.year - 1} / Published online: "
                 f"{rng.randint(1, 28)} {rng.choice(MONTH_NAMES)} {trial.year}") if trial.year else ""
    short_therapy = therapy.replace("autologous ", "")
    meta = {
        "stem": trial.stem, "page_size": rng.choice(["A4", "letter"]), "journal": journal,
        "banner": rng.choice(["ORIGINAL ARTICLE", "CLINICAL TRIAL REPORT", "BRIEF REPORT"]),
        "volume_line": f"{journal} (synthetic corpus)" + (f" · {trial.year}" if trial.year else ""),
        "running_head": f"Synthetic trial {trial.index:04d}",
        "title": f"{capital(short_therapy)} for {population}: a phase 1 study",
        "authors": authors,
        "affiliation": "Invented institution for the trialmeta synthetic corpus",
        "summary_heading": summary_heading, "keywords": "B-ALL · CAR T cells · synthetic benchmark",
        "tables": tables,
    }
    if published:
        meta["dates"] = published
    return Paper(meta, sections, tables)


# ---------------------------------------------------------------------------------------------
# writers
def _demo_source(paper: Paper) -> str:
    """The paper in the demo sources' format (YAML front matter + Markdown body)."""
    floating = {f"[[table:{name}]]" for name, spec in paper.tables.items() if spec.get("float_page")}
    body = []
    for heading, blocks in paper.sections:
        body.append(f"## {heading}\n")
        body.extend(f"{block}\n" for block in blocks if block not in floating)
    front = yaml.safe_dump(paper.meta, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{front}---\n\n" + "\n".join(body)


def _unmarked(text: str, keep_bold: bool) -> str:
    text = re.sub(r"\^([^\^\s]+)\^", r"^\1", text)
    return text if keep_bold else text.replace("**", "")


def _markdown(paper: Paper) -> str:
    meta = paper.meta
    lines = [f"# {meta['title']}", "", meta["authors"], "", f"*{meta['affiliation']}*", ""]
    if meta.get("dates"):
        lines += [meta["dates"], ""]
    for heading, blocks in paper.sections:
        lines += [f"## {heading}", ""]
        for block in blocks:
            table = re.fullmatch(r"\[\[table:(\w+)\]\]", block)
            if not table:
                lines += [_unmarked(block, keep_bold=True), ""]
                continue
            spec = paper.tables[table.group(1)]
            lines += [f"**{spec['caption']}**", "", "| " + " | ".join(spec["header"]) + " |",
                      "|" + "---|" * len(spec["header"])]
            lines += ["| " + " | ".join(row) + " |" for row in spec["rows"]]
            lines += [""] + ([spec["note"], ""] if spec.get("note") else [])
    return "\n".join(lines)


def _plain_text(paper: Paper) -> str:
    meta = paper.meta
    lines = [meta["title"], "", meta["authors"], meta["affiliation"]]
    if meta.get("dates"):
        lines.append(meta["dates"])
    lines.append("")
    for heading, blocks in paper.sections:
        lines += [heading, ""]
        for block in blocks:
            table = re.fullmatch(r"\[\[table:(\w+)\]\]", block)
            if not table:
                # hard-wrapped like a text export
                lines += [textwrap.fill(line, 90) for line in _unmarked(block, keep_bold=False).splitlines()] + [""]
                continue
            spec = paper.tables[table.group(1)]
            lines += [spec["caption"], "\t".join(spec["header"])]
            lines += ["\t".join(row) for row in spec["rows"]]
            lines += [""] + ([spec["note"], ""] if spec.get("note") else [])
    return "\n".join(lines)


def write_paper(trial: Trial, papers_dir: pathlib.Path, seed: int = DEFAULT_SEED) -> pathlib.Path:
    """Write one paper into papers_dir in the trial's format; returns its path."""
    paper = compose(trial, seed)
    papers_dir.mkdir(parents=True, exist_ok=True)
    if trial.fmt == "md":
        out = papers_dir / f"{trial.stem}.md"
        out.write_text(_markdown(paper), encoding="utf-8")
        return out
    if trial.fmt == "txt":
        out = papers_dir / f"{trial.stem}.txt"
        out.write_text(_plain_text(paper), encoding="utf-8")
        return out
    with tempfile.TemporaryDirectory() as scratch:
        source = pathlib.Path(scratch) / f"{trial.stem}.md"
        source.write_text(_demo_source(paper), encoding="utf-8")
        try:
            return make_demo_papers.build_pdf(source, papers_dir)
        except SystemExit:
            # too short for a full-width table at the top of page 2: set it in the column
            for spec in paper.tables.values():
                spec.pop("float_page", None)
            source.write_text(_demo_source(paper), encoding="utf-8")
            return make_demo_papers.build_pdf(source, papers_dir)


def _write_one(job: tuple[int, int, str, str | None]) -> tuple[str, dict]:
    index, seed, papers_dir, fmt = job
    trial = make_trial(index, seed, fmt)
    write_paper(trial, pathlib.Path(papers_dir), seed)
    return trial.stem, gold_entry(trial)


def write_gold(gold: dict, path: pathlib.Path, seed: int) -> None:
    header = (
        "# Gold standard of a synthetic corpus written by tools/make_synthetic_corpus.py "
        f"(seed {seed}).\n# Same format and matching rules as tests/gold/demo.yaml; every value is the one "
        "printed in the paper\n# (percentages / 100; follow-up in months, days / 30.4375).\n"
    )
    text = yaml.safe_dump({"papers": gold}, sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text, encoding="utf-8")


def write_corpus(out: pathlib.Path, n: int, seed: int = DEFAULT_SEED, start: int = 0,
                 fmt: str | None = None, workers: int = 1) -> dict:
    """Papers start..start+n-1 into out/papers and their gold into out/gold.yaml; returns the gold."""
    jobs = [(index, seed, str(out / "papers"), fmt) for index in range(start, start + n)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            done = list(pool.map(_write_one, jobs, chunksize=8))
    else:
        done = [_write_one(job) for job in jobs]
    gold = dict(done)
    write_gold(gold, out / "gold.yaml", seed)
    return gold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of papers (default 200)")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="writes OUT/papers/ and OUT/gold.yaml")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--start", type=int, default=0, help="index of the first paper (default 0)")
    parser.add_argument("--format", choices=sorted(FORMAT_WEIGHTS), help="one format for all papers "
                        "(default: a mix, about 60%% PDF, 20%% text, 20%% Markdown)")
    parser.add_argument("--workers", type=int, default=1, help="processes (output does not depend on it)")
    parser.add_argument("--digest", action="store_true", help="print one SHA-256 over all files written")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    gold = write_corpus(args.out, args.n, args.seed, args.start, args.format, args.workers)
    seconds = time.perf_counter() - started
    print(f"{len(gold)} papers in {args.out / 'papers'}, gold in {args.out / 'gold.yaml'} ({seconds:.1f} s)")
    if args.digest:
        digest = hashlib.sha256()
        for path in sorted((args.out / "papers").iterdir()) + [args.out / "gold.yaml"]:
            digest.update(path.name.encode() + path.read_bytes())
        print(f"sha256:{digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
