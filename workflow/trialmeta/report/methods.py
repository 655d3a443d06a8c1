"""The report's methods paragraphs, written from the settings and the results actually present,
with numbered references in citation order, as metafor's ``reporter()`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialmeta.figures.labels import model_label, primary_analysis
from trialmeta.report.preparation import entry_title, preparation_sentences

# Below this many studies the Methods caution that random-effects results are imprecise
# (Bender R, Friede T, Koch A, et al. (2018), Methods for evidence synthesis in the case of very
# few studies, Res Synth Methods 9:382-392, doi:10.1002/jrsm.1297).
FEW_STUDIES = 5

METHOD_NAMES = {
    "FE": "a common-effect (inverse-variance) model",
    "DL": "the DerSimonian-Laird estimator of τ²",
    "REML": "restricted maximum likelihood (REML) for τ²",
    "ML": "maximum likelihood for τ²",
    "PM": "the Paule-Mandel estimator of τ²",
    "HS": "the Hunter-Schmidt estimator of τ²",
    "SJ": "the Sidik-Jonkman estimator of τ²",
    "EB": "the empirical Bayes estimator of τ²",
    "HE": "the Hedges estimator of τ²",
    "GLMM": "a binomial-normal generalised linear mixed model (logit link, exact binomial likelihood, no continuity correction)",
}
MEASURE_NAMES = {
    "PLO": "the logit transformation",
    "PFT": "the Freeman-Tukey double arcsine transformation (back-transformed with the harmonic mean of the sample sizes)",
    "PAS": "the arcsine square-root transformation",
    "PR": "raw proportions",
}
CI_NAMES = {
    "z": "Wald-type confidence intervals from the normal distribution",
    "hk": "the Knapp-Hartung method (t distribution with k-1 degrees of freedom)",
    "hk_adhoc": "the Knapp-Hartung method with the ad hoc correction that never lets the interval be narrower than the normal one",
}
# Each method's references, cited in the order the methods paragraph first needs them.
REFERENCES = {
    "metafor": "Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3):1-48. doi:10.18637/jss.v036.i03",
    "GLMM": "Stijnen T, Hamza TH, Özdemir P (2010). Random effects meta-analysis of event outcome in the framework of the generalized linear mixed model with applications in sparse data. Stat Med 29:3046-3067. doi:10.1002/sim.4040",
    "DL": "DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188. doi:10.1016/0197-2456(86)90046-2",
    "REML": "Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects model. J Educ Behav Stat 30:261-293. doi:10.3102/10769986030003261",
    "PM": "Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur Stand 87:377-385. doi:10.6028/jres.087.022",
    "HS": "Hunter JE, Schmidt FL (2004). Methods of meta-analysis: correcting error and bias in research findings. 2nd ed. Sage.",
    "SJ": "Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis. J R Stat Soc C 54:367-384. doi:10.1111/j.1467-9876.2005.00489.x",
    "EB": "Morris CN (1983). Parametric empirical Bayes inference: theory and applications. J Am Stat Assoc 78:47-55. doi:10.1080/01621459.1983.10477920",
    "HE": "Hedges LV, Olkin I (1985). Statistical methods for meta-analysis. Academic Press.",
    "PFT": "Miller JJ (1978). The inverse of the Freeman-Tukey double arcsine transformation. Am Stat 32:138. doi:10.1080/00031305.1978.10479283",
    "hk": "Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single covariate. Stat Med 22:2693-2710. doi:10.1002/sim.1482",
    "i2": "Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539-1558. doi:10.1002/sim.1186",
    "pi": "Riley RD, Higgins JPT, Deeks JJ (2011). Interpretation of random effects meta-analyses. BMJ 342:d549. doi:10.1136/bmj.d549",
    "exact": "Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case of the binomial. Biometrika 26:404-413. doi:10.1093/biomet/26.4.404",
    "subgroups": "Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to meta-analysis. Wiley. doi:10.1002/9780470743386",
    "metareg": "Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and interpreted? Stat Med 21:1559-1573. doi:10.1002/sim.1187",
    "egger": "Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple, graphical test. BMJ 315:629-634. doi:10.1136/bmj.315.7109.629",
    "trimfill": "Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and adjusting for publication bias in meta-analysis. Biometrics 56:455-463. doi:10.1111/j.0006-341X.2000.00455.x",
    "prisma": "Page MJ, McKenzie JE, Bossuyt PM, et al. (2021). The PRISMA 2020 statement: an updated guideline for reporting systematic reviews. BMJ 372:n71. doi:10.1136/bmj.n71",
    "peto": "Peto R, Pike MC, Armitage P, et al. (1977). Design and analysis of randomized clinical trials requiring prolonged observation of each patient. II. Analysis and examples. Br J Cancer 35:1-39. doi:10.1038/bjc.1977.1",
    "km": "Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. J Am Stat Assoc 53:457-481. doi:10.1080/01621459.1958.10501452",
    "lifelines": "Davidson-Pilon C (2019). lifelines: survival analysis in Python. J Open Source Softw 4(40):1317. doi:10.21105/joss.01317",
}
REFERENCE_OF_METHOD = {"GLMM": "GLMM", "DL": "DL", "REML": "REML", "ML": "REML", "PM": "PM", "HS": "HS", "SJ": "SJ", "EB": "EB", "HE": "HE"}


@dataclass(frozen=True)
class Methods:
    """The methods paragraphs and the references they cite, numbered in citation order."""

    paragraphs: tuple[str, ...]
    references: tuple[str, ...]



def landmark_entries(details: dict) -> list[tuple[str, dict]]:
    # by endpoint, then landmark in time order (results.json sorts keys as text: 12m before 6m)
    return sorted((details.get("landmarks") or {}).items(), key=lambda item: (item[1]["label"], item[1].get("landmark_months") or 0))


def entries(details: dict) -> list[dict]:
    return [*details.get("endpoints", {}).values(), *(entry for _, entry in landmark_entries(details))]


def present(details: dict, key: str) -> list[dict]:
    return [e for e in entries(details) if e.get(key)]


def model_of(analysis: dict) -> str:
    """The model that produced a pooled result: the pool stage's `model` field, else built from the row."""
    return analysis.get("model") or model_label(analysis)


def _models_used(details: dict) -> list[str]:
    """Which model gave each endpoint's primary result, and which endpoints have none (PRISMA 13d)."""
    used: dict[str, list[str]] = {}
    not_pooled = []
    for entry in entries(details):
        analysis = primary_analysis(entry)
        if analysis is None:
            if entry.get("studies"):
                not_pooled.append(f"{entry_title(entry)} ({entry.get('primary_note') or 'no fitted analysis'})")
            continue
        name = model_of(analysis)
        if entry.get("kind") != "landmark" and entry.get("primary_note"):
            name += ", in place of the GLMM, which could not be fitted"
        used.setdefault(name, []).append(entry_title(entry) + (" (a single study)" if analysis["k"] == 1 else ""))
    out = []
    if used:
        out.append("Primary results by model: " + "; ".join(f"{model}: {', '.join(titles)}" for model, titles in used.items()) + ".")
    if not_pooled:
        out.append("Not pooled: " + "; ".join(not_pooled) + ".")
    return out


def _few_studies(details: dict) -> str | None:
    """The caution for endpoints pooled from fewer than five studies."""
    fitted = [(e, a) for e in entries(details) if (a := primary_analysis(e)) is not None]
    few = [e for e, a in fitted if a["k"] < FEW_STUDIES]
    if not few:
        return None
    which = "every pooled endpoint rests" if len(few) == len(fitted) else f"{len(few)} of {len(fitted)} pooled endpoints rest"
    return (f"Caution: {which} on fewer than {FEW_STUDIES} studies. With so few studies τ² is estimated "
            "imprecisely (often as 0), random-effects intervals can be too narrow or uninformative, and results "
            "from one or two studies are descriptive, not a synthesis.")


def methods(config: dict, details: dict | None = None) -> Methods:
    """Methods paragraphs from the settings and the results actually used (as metafor's reporter())."""
    details = details or {}
    pooling = config["pooling"]
    primary = pooling["analyses"][0]
    survival_settings = config.get("survival") or {}
    cited: list[str] = []

    def cite(*keys: str) -> str:
        for key in keys:
            if key not in cited:
                cited.append(key)
        return "[" + ", ".join(str(cited.index(k) + 1) for k in keys) + "]"

    first = [f"Proportions were pooled {cite('metafor')} with " + _model_sentence(primary, pooling["level"], cite) + "."]
    t_below = pooling.get("glmm_t_below_k", 0)
    if primary["method"] == "GLMM" and primary.get("ci_method", "z") == "z" and t_below:
        first.append(f"With fewer than {t_below} studies (pooling.glmm_t_below_k) the GLMM's intervals used the t "
                     "distribution with k - 1 degrees of freedom instead (metafor rma.glmm(test = \"t\")): the normal "
                     "interval is too narrow with few studies.")
    fallback = pooling.get("glmm_fallback")
    # only where the fallback's row is the primary result: an all-0%/100% pool or a single study is
    # reported exactly instead, which the 'Primary results by model' sentence names
    used_fallback = sorted(e["label"] for e in details.get("endpoints", {}).values()
                           if e.get("primary_note") and fallback and any(
                               a.get("primary") and a.get("method") == fallback["method"] for a in e.get("analyses", [])))
    if fallback and used_fallback:
        first.append(f"Where the primary model could not be fitted ({', '.join(used_fallback)}), "
                     + _model_sentence(fallback, pooling["level"], cite) + " took its place.")
    correction = pooling["continuity_correction"]
    if primary["method"] != "GLMM" and primary["measure"] in ("PLO", "PR") and correction["to"] != "none":
        first.append(
            f"A continuity correction of {correction['add']:g} was added to the event and non-event counts "
            + ("of studies with zero or all events" if correction["to"] == "only0" else f"(rule '{correction['to']}')")
            + "."
        )
    first.append(
        f"Heterogeneity is reported as τ² and I² (computed from τ² as metafor does) {cite('i2')} with the test of "
        "τ² = 0: Cochran's Q for the inverse-variance models, the likelihood-ratio test for the GLMM; "
        f"a prediction interval gives the proportion expected in a new study {cite('pi')} (t distribution with "
        "k - 1 degrees of freedom, as meta 8 computes it; shown from 3 studies)."
    )
    first.extend(_models_used(details))
    fitted = [a for a in map(primary_analysis, entries(details)) if a is not None]
    if fitted:
        ks = [a["k"] for a in fitted]
        first.append(f"The primary analyses combined {min(ks)} to {max(ks)} studies per endpoint.")
    caution = _few_studies(details)
    if caution:
        first.append(caution)
    paragraphs = [" ".join(first)]
    preparation = preparation_sentences(entries(details), survival_settings.get("without_precision", "exclude"), cite)
    if preparation:
        paragraphs.append(f"Data preparation {cite('prisma')}: " + " ".join(preparation))
    others = pooling["analyses"][1:]
    sensitivity = []
    if others:
        sensitivity.append(
            "Sensitivity analyses repeated each pooling with: "
            + "; ".join(f"{a['measure']} / {a['method']} / {a.get('ci_method', 'z')}" for a in others) + "."
        )
    itt = [e for e in entries(details) if e.get("intention_to_treat")]
    if itt:
        sensitivity.append(
            f"The primary analysis of {', '.join(e['label'] for e in itt)} was repeated over the enrolled patients "
            "(intention to treat: a patient enrolled but not infused counts as a non-responder; where a paper gives "
            "no enrolled count, the largest cohort it sizes)."
        )
    columns = sorted({c for e in present(details, "subgroups") for c in e["subgroups"]})
    models = sorted({e["sensitivity_model"] for e in entries(details) if e.get("sensitivity_model")})
    if models and primary["method"] == "GLMM":
        sensitivity.append(
            f"The analyses below need inverse-variance weights, which the GLMM has not; they used {', '.join(models)} "
            "(measure-method-CI)."
        )
    if columns:
        subgroup_models = sorted({s.get("model") or "the sensitivity model" for e in present(details, "subgroups")
                                  for s in e["subgroups"].values()})
        sensitivity.append(
            f"Subgroups by {', '.join(columns)} were pooled separately with {', '.join(subgroup_models)} "
            f"(not the primary model when that is the GLMM) and compared with the Q test for subgroup differences "
            f"{cite('subgroups')}; these comparisons are exploratory."
        )
    moderators = sorted({m for e in present(details, "meta_regression") for m in e["meta_regression"]
                         if not m.endswith("_note")})
    if moderators:
        sensitivity.append(
            f"Mixed-effects meta-regression on {', '.join(moderators)} {cite('metareg')} tested each moderator's slope."
        )
    if present(details, "leave_one_out") or present(details, "cumulative"):
        sensitivity.append("Leave-one-out and cumulative (by publication year) analyses show each study's influence.")
    if present(details, "egger"):
        sensitivity.append(
            f"Small-study effects were examined with funnel plots and Egger's regression test {cite('egger')} "
            f"(standard error as predictor, as metafor's regtest), and with trim-and-fill {cite('trimfill')}; "
            "with fewer than 10 studies these tests have little power."
        )
    if sensitivity:
        paragraphs.append(" ".join(sensitivity))
    survival = []
    if details.get("landmarks"):
        months = sorted({e["landmark_months"] for e in details["landmarks"].values() if e.get("landmark_months")})
        # the model the landmark pools used: the GLMM needs counts, so a GLMM primary is replaced there
        used = sorted({model_of(a) for a in map(primary_analysis, details["landmarks"].values()) if a is not None})
        imputing = survival_settings.get("without_precision", "exclude") == "binomial"
        survival.append(
            "Survival at landmarks" + (f" ({', '.join(f'{m} months' for m in months)})" if months else "")
            + " was pooled on the complementary log-log scale, log(-log S)"
            + (f", with {'; '.join(used)}" if used else "")
            + (" (the GLMM needs events and totals, which landmark estimates do not give)"
               if used and primary["method"] == "GLMM" else "")
            + f". Each study's standard error came from its printed CI or SE, else from the number at risk at the "
            f"landmark (Peto's formula {cite('peto')}); "
            + ("a value with neither was given the binomial SE √(S(1 − S)/n), which ignores censoring, and each pool "
               "was repeated without those studies." if imputing else
               "a value with none of these is listed as excluded with the reason.")
        )
    if details.get("km"):
        survival.append(
            f"Kaplan-Meier curves {cite('km')} were fitted with lifelines {cite('lifelines')} to the patient-level "
            "data a paper gives; assumptions made where a time was missing are stated with each curve."
        )
    if survival:
        paragraphs.append(" ".join(survival))
    return Methods(tuple(paragraphs), tuple(REFERENCES[key] for key in cited))


def _model_sentence(analysis: dict, level: float, cite) -> str:
    ci_method = analysis.get("ci_method", "z")
    method = analysis["method"]
    if method == "GLMM":
        text = f"{METHOD_NAMES['GLMM']} {cite('GLMM')}"
    else:
        text = (f"{MEASURE_NAMES[analysis['measure']]}" + (f" {cite('PFT')}" if analysis["measure"] == "PFT" else "")
                + f" using {METHOD_NAMES[method]}" + ("" if method == "FE" else f" {cite(REFERENCE_OF_METHOD[method])}, in a random-effects model"))
    return (text + f"; {int(round(level * 100))}% confidence intervals of the pooled estimates used {CI_NAMES[ci_method]}"
            + (f" {cite('hk')}" if ci_method.startswith("hk") else ""))


def methods_text(config: dict, details: dict | None = None) -> str:
    return " ".join(methods(config, details).paragraphs)
