"""Finding the quantities papers report, in the forms papers write them.

Pure functions over one sentence: they know nothing of endpoints. Each
`Quantity` records its span in the sentence so the extractor can attribute it
to the nearest endpoint phrase and quote it.

Forms covered (each a named `form`, recorded as the extraction rule):
``93.9% (14/15)``, ``(26.7%, 4/15)``, ``21/22 (95.5%)``, ``18 of 20 patients (90%)``,
``All 20 patients (100%)``, ``77% (95% CI, 55-99)``, ``61.2% ± 14.0%``,
``91% (n = 22)``, ``12 of 15 patients (80%; 95% CI, 52 to 96)``, ``12 patients ... (85.7%)``, ``14 of 15``, ``fourteen of fifteen``,
``14/15``, bare ``85.7%``, counts of patients, and durations with ranges
(``15.5 months (range, 2.5-33)``, ``9 (3.5-20) months``, ``647 days``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER_WORDS = {
    "no": 0, "none": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_BELOW_HUNDRED = [f"{t}[- ]{u}" for t in _TENS for u in _UNITS] + sorted(
    (w for w in NUMBER_WORDS if w not in ("no", "none", "hundred", "zero")), key=len, reverse=True
)
# "One hundred forty-nine", then "twenty-three" etc., before the single words so the longer form wins.
_WORD_ALTERNATIVES = [
    rf"(?:a|{'|'.join(_UNITS)})[- ]hundred(?:[- ](?:and[- ])?(?:{'|'.join(_BELOW_HUNDRED)}))?",
    *_BELOW_HUNDRED,
    "zero",
]
INT_WORD = r"(?:\d+|" + "|".join(_WORD_ALTERNATIVES) + r")"
NUM = r"\d+(?:\.\d+)?"
DASH = r"\s*(?:[-–—‒]|to)\s*"
PATIENT_NOUN = (
    r"(?:patients?|children|child|adults?|subjects?|participants?|cases?|individuals?|"
    r"recipients?|pts|boys?|girls?|men|women|infants?|adolescents?|persons?)"
)
# Verbs that make a count the subject of an event: "3 had a relapse", "five patients developed CRS".
# "15 were infused": a passive verb after "were/was" makes the count its subject too.
EVENT_VERB = (
    r"(?:(?:had|has|have|developed|experienced|relapsed|died|achieved|attained|reached|remained|"
    r"suffered|showed|presented|converted|became|received|underwent|completed)\b|(?:were|was)\s+(?=[a-z]+ed\b)|"
    # a state after the copula: "22 were MRD-negative", "12 were alive" ("14 were in CR and one in CRi"
    # stays a part of the remissions the sentence sums)
    r"(?:were|was|remained)\s+(?=(?:MRD|negative|alive)))"
)
# A comparison or hedge before a number makes it a bound, not a reported value
# ("higher than 80%", "approximately 50%").
_BOUND_BEFORE = re.compile(
    r"(?:(?:higher|greater|more|less|lower|fewer)\s+than|approximately|about|around|nearly|almost|roughly|"
    r"up\s+to|over|under|at\s+least|at\s+most|exceed(?:ing|s)?|[<>≥≤~])\s*$",
    re.I,
)
MONTHS_PER_UNIT = {"day": 1 / 30.4375, "week": 7 / 30.4375, "month": 1.0, "year": 12.0}


def inside_brackets(text: str, position: int) -> bool:
    """Whether `position` lies inside a "(...)" opened before it and not yet closed."""
    return text.count("(", 0, position) > text.count(")", 0, position)


def parse_int(token: str) -> int:
    """An integer written in digits or English words ("14", "fourteen", "twenty-three")."""
    token = token.strip().lower()
    if token.isdigit():
        return int(token)
    parts = [part for part in re.split(r"[- ]+", token) if part != "and"]
    if parts and all(part in NUMBER_WORDS or part == "a" for part in parts):
        if "hundred" in parts:
            at = parts.index("hundred")
            hundreds = 1 if parts[:at] in ([], ["a"]) else sum(NUMBER_WORDS[p] for p in parts[:at])
            return hundreds * 100 + sum(NUMBER_WORDS[p] for p in parts[at + 1 :])
        if "a" not in parts:
            return sum(NUMBER_WORDS[part] for part in parts)
    raise ValueError(f"not a whole number: {token!r}")


@dataclass(frozen=True)
class Quantity:
    """One reported quantity; fields the form does not give are None."""

    form: str
    start: int
    end: int
    raw: str
    events: int | None = None
    total: int | None = None
    percent: float | None = None
    ci_low: float | None = None  # percent scale, as printed
    ci_high: float | None = None
    se: float | None = None  # percent scale, as printed after "±"
    value: float | None = None  # durations, in the unit printed
    unit: str | None = None
    range_low: float | None = None
    range_high: float | None = None
    bound: bool = False  # "more than 80%": a bound or an approximation, not the value itself

    @property
    def months(self) -> float | None:
        if self.value is None or self.unit is None:
            return None
        return self.value * MONTHS_PER_UNIT[self.unit]


def _q(form: str, match: re.Match, **fields) -> Quantity:
    return Quantity(form=form, start=match.start(), end=match.end(), raw=match.group(0), **fields)


_CI = (
    rf"[\(\[]\s*95\s*%\s*(?:CI|confidence interval(?:\s*\[CI\])?)\s*[,:;]?\s*(?P<lo>-?{NUM})\s*%?"
    rf"(?:{DASH}|\s*,\s*)(?P<hi>{NUM})\s*%?\s*[\)\]]"
)

# Order matters: the richer forms claim their text first, so "93.9% (14/15)"
# is one quantity, not a percent and a fraction.
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("percent_ci", re.compile(rf"(?P<pct>{NUM})\s*%\s*{_CI}", re.I)),
    # "43% (25, 62%)", "43% (25-62)": an interval without its label, accepted only around the value
    ("percent_ci", re.compile(rf"(?P<pct>{NUM})\s*%\s*\(\s*(?P<lo>{NUM})\s*%?\s*(?:,|{DASH})\s*(?P<hi>{NUM})\s*%?\s*\)", re.I)),
    (
        # "34 (79%; 95% CI: 66, 92%)", "38 (88%; 78, 98%)"
        "count_percent_ci",
        re.compile(
            rf"(?<![/\d.])(?<!of\s)\b(?P<a>{INT_WORD})\s+(?:(?:(?!of\b)[A-Za-z-]+\s+){{0,3}}?{PATIENT_NOUN}\s*)?\(\s*(?P<pct>{NUM})\s*%\s*[;,]\s*"
            rf"(?:95\s*%\s*(?:CI|confidence interval)(?:\s*\[CI\])?\s*[,:]?\s*)?(?P<lo>{NUM})\s*%?\s*(?:,|{DASH})\s*(?P<hi>{NUM})\s*%?\s*\)",
            re.I,
        ),
    ),
    ("percent_pm", re.compile(rf"(?P<pct>{NUM})\s*%?\s*±\s*(?P<se>{NUM})\s*%", re.I)),
    (
        # "93.3% (56/60; 95% CI, 83.8-98.2)": the count and the interval in one bracket
        "fraction_percent_ci",
        re.compile(
            rf"(?P<pct>{NUM})\s*%\s*\(\s*(?P<a>\d+)\s*(?:/|of)\s*(?P<b>\d+)(?:\s+{PATIENT_NOUN})?\s*[;,]\s*"
            rf"95\s*%\s*(?:CI|confidence interval)\s*[,:]?\s*(?P<lo>{NUM})\s*%?(?:{DASH}|\s*,\s*)(?P<hi>{NUM})\s*%?\s*\)",
            re.I,
        ),
    ),
    (
        "percent_fraction",
        # "93.9% (14/15)", "95% (19/20 patients)", "33% (42 of 128)"
        re.compile(
            rf"(?P<pct>{NUM})\s*%\s*\(\s*(?P<a>\d+)\s*(?:/|of)\s*(?P<b>\d+)(?:\s+{PATIENT_NOUN})?\s*\)", re.I
        ),
    ),
    (
        "percent_fraction",
        re.compile(rf"\(\s*(?P<pct>{NUM})\s*%\s*[,;]\s*(?P<a>\d+)\s*/\s*(?P<b>\d+)\s*\)", re.I),
    ),
    (
        # "12 of 15 patients (80%; 95% CI, 52 to 96)", "12/15 (80%, 95% CI 52-96)"
        "fraction_percent_ci",
        re.compile(
            rf"\b(?P<a>{INT_WORD})\s*(?:(?:out\s+)?of|/)\s*(?:the\s+|these\s+|all\s+)?(?P<b>{INT_WORD})(?:\s+[\w-]+){{0,4}}?"
            rf"\s*\(\s*(?P<pct>{NUM})\s*%\s*[;,]\s*95\s*%\s*(?:CI|confidence interval)\s*[,:]?\s*(?P<lo>{NUM})\s*%?"
            rf"(?:{DASH}|\s*,\s*)(?P<hi>{NUM})\s*%?\s*\)",
            re.I,
        ),
    ),
    (
        "fraction_percent",
        re.compile(
            rf"(?<![\d./])(?P<a>\d+)\s*/\s*(?P<b>\d+)(?![\d/])(?:\s+[A-Za-z-]+){{0,3}}?\s*\(\s*(?P<pct>{NUM})\s*%\s*\)",
            re.I,
        ),
    ),
    (
        "fraction_percent",
        re.compile(
            rf"\b(?P<a>{INT_WORD})\s+(?:out\s+)?of\s+(?:the\s+|these\s+|all\s+)?(?P<b>{INT_WORD})"
            rf"(?:\s+[\w-]+){{0,4}}?\s*\(\s*(?P<pct>{NUM})\s*%\s*\)",
            re.I,
        ),
    ),
    (
        "all_n",
        re.compile(
            rf"\ball\s+(?:the\s+|of\s+the\s+)?(?P<n>{INT_WORD})\s+(?:[\w-]+\s+){{0,3}}?{PATIENT_NOUN}"
            rf"(?:\s*\(\s*(?P<pct>{NUM})\s*%\s*\))?",
            re.I,
        ),
    ),
    # "all 12 (100%) reached CR": every one of a group of 12
    ("all_n", re.compile(rf"\ball\s+(?:the\s+)?(?P<n>{INT_WORD})\s*\(\s*(?P<pct>100(?:\.0+)?)\s*%\s*\)", re.I)),
    (
        "percent_n",
        re.compile(
            rf"(?P<pct>{NUM})\s*%\s*(?:of\s+(?:the\s+)?(?:[\w-]+\s+){{0,3}}?)?\(\s*n\s*=\s*(?P<b>\d+)\s*\)", re.I
        ),
    ),
    (
        "count_percent",
        re.compile(
            rf"(?<![/\d.])\b(?P<a>{INT_WORD})\s+(?:[\w-]+\s+){{0,3}}?{PATIENT_NOUN}\s*\(\s*(?P<pct>{NUM})\s*%\s*\)",
            re.I,
        ),
    ),
    (
        "count_percent",
        re.compile(rf"\b(?P<a>{INT_WORD})\s*\(\s*(?P<pct>{NUM})\s*%\s*\)\s*(?:[\w-]+\s+){{0,3}}?{PATIENT_NOUN}", re.I),
    ),
    # "CD19/22" is a name, not a fraction: no letter may touch the numerator
    # "grade 3/4" is a grade range, not a fraction
    (
        "fraction",
        re.compile(r"(?<![\w./×^])(?<!grade )(?<!grades )(?P<a>\d+)\s*/\s*(?P<b>\d+)(?![\d/])(?!\s*(?:kg|m2|mg|d\b))", re.I),
    ),
    (
        "fraction",
        re.compile(
            rf"\b(?P<a>{INT_WORD})\s+(?:out\s+)?of\s+(?:the\s+|these\s+|all\s+)?(?P<b>{INT_WORD})\b(?!\s*%)",
            re.I,
        ),
    ),
    (
        "duration",
        re.compile(
            rf"(?P<v>{NUM})\s*(?:\(\s*(?:range[,:]?\s*)?(?P<lo>{NUM}){DASH}(?P<hi>{NUM})\s*\)\s*)?"
            rf"(?P<unit>days?|weeks?|months?|years?)\b"
            rf"(?:\s*\(\s*(?:range[,:]?\s*)?(?P<lo2>{NUM}){DASH}(?P<hi2>{NUM})\s*(?:days?|weeks?|months?|years?)?\s*\))?",
            re.I,
        ),
    ),
    # "(N = 157; 25.1-month median follow-up)": a hyphenated time, only before the follow-up it
    # measures ("the 2-year OS" is a landmark, never a duration)
    (
        "duration",
        re.compile(rf"(?P<v>{NUM})-(?P<unit>days?|weeks?|months?|years?)(?=\s+(?:median\s+)?follow)", re.I),
    ),
    # "with 41 (84%) achieving MRD negativity": a count and its percentage without a noun; not a
    # grade ("grade 3 (5%)"), a day or a dose
    (
        "count_percent",
        re.compile(
            rf"(?<![-–/.\d])(?<!grade\s)(?<!grades\s)(?<!day\s)(?<!cycle\s)\b(?P<a>{INT_WORD})\s*\(\s*(?P<pct>{NUM})\s*%\s*\)",
            re.I,
        ),
    ),
    ("percent", re.compile(rf"(?<![\d.])(?P<pct>{NUM})\s*%(?!\s*(?:CI|confidence))", re.I)),
    (
        "count_subject",
        re.compile(
            rf"(?<![-–/.\d])\b(?P<a>{INT_WORD})\s+(?:(?:[A-Za-z-]+\s+){{0,2}}?{PATIENT_NOUN}\s+|of them\s+)?"
            rf"(?:\([^()]{{0,40}}\)\s+)?(?:(?:subsequently|later|eventually|ultimately|also|then)\s+)?{EVENT_VERB}",
            re.I,
        ),
    ),
    # the end of a range ("grade 1-2 in 13 patients") is no count; no number among the words between
    ("count", re.compile(rf"(?<![-–/.\d])\b(?P<a>{INT_WORD})\s+(?:[A-Za-z-]+\s+){{0,3}}?{PATIENT_NOUN}\b", re.I)),
]


def _fields(form: str, m: re.Match) -> dict | None:
    groups = m.groupdict()
    pct = float(groups["pct"]) if groups.get("pct") else None
    try:
        if form in ("percent_fraction", "fraction_percent", "fraction", "fraction_percent_ci"):
            events, total = parse_int(groups["a"]), parse_int(groups["b"])
            if total == 0:
                return None
            ci = {"ci_low": float(groups["lo"]), "ci_high": float(groups["hi"])} if form == "fraction_percent_ci" else {}
            return {"events": events, "total": total, "percent": pct, **ci}
        if form == "all_n":
            n = parse_int(groups["n"])
            return {"events": n, "total": n, "percent": pct}
        if form == "percent_n":
            return {"total": int(groups["b"]), "percent": pct}
        if form == "count_percent":
            return {"events": parse_int(groups["a"]), "percent": pct}
        if form in ("count", "count_subject"):
            return {"events": parse_int(groups["a"])}
    except ValueError:
        return None
    if form in ("percent_ci", "count_percent_ci"):
        low, high = float(groups["lo"]), float(groups["hi"])
        if not low <= pct <= high:
            return None  # "(25, 62%)" around 43% is its interval; around 70% it is something else
        events = {"events": parse_int(groups["a"])} if form == "count_percent_ci" else {}
        return {"percent": pct, "ci_low": low, "ci_high": high, **events}
    if form == "percent_pm":
        return {"percent": pct, "se": float(groups["se"])}
    if form == "percent":
        return {"percent": pct}
    if form == "duration":
        low, high = groups.get("lo") or groups.get("lo2"), groups.get("hi") or groups.get("hi2")
        return {
            "value": float(groups["v"]),
            "unit": groups["unit"].lower().rstrip("s"),
            "range_low": float(low) if low else None,
            "range_high": float(high) if high else None,
        }
    raise AssertionError(f"unhandled form {form}")


def find_quantities(sentence: str) -> list[Quantity]:
    """Every quantity in `sentence`, richer forms first, none overlapping, in text order."""
    claimed = [False] * len(sentence)
    found: list[Quantity] = []
    for form, pattern in _PATTERNS:
        for m in pattern.finditer(sentence):
            if any(claimed[m.start() : m.end()]):
                continue
            fields = _fields(form, m)
            if fields is None:
                continue
            bound = bool(_BOUND_BEFORE.search(sentence[max(0, m.start() - 20) : m.start()]))
            found.append(_q(form, m, bound=bound, **fields))
            claimed[m.start() : m.end()] = [True] * (m.end() - m.start())
    return sorted(found, key=lambda q: q.start)


_LANDMARK = re.compile(
    rf"(?P<n>{INT_WORD}|\d+\.\d+)[\s-]*(?P<unit>months?|mo|years?|yrs?)\b",
    re.I,
)


@dataclass(frozen=True)
class Landmark:
    start: int
    end: int
    months: float
    group: int  # landmarks written together ("at 12 and 18 months") share a group


# "12 and 18 months": the first number takes the unit of the second.
# "6- and 12-month": the same, with the hyphen left hanging
_LANDMARK_LIST_HEAD = re.compile(rf"(?<![\d.])(?P<n>{INT_WORD})-?\s*(?:,|and|or|&)\s*$", re.I)


def find_landmarks(sentence: str) -> list[Landmark]:
    """Time points such as "1-year", "12-month", "at 24 months", "Six-month", "2 years".

    1 year = 12 months; values are kept as stated, never extrapolated.
    """
    landmarks = []
    for group, m in enumerate(_LANDMARK.finditer(sentence)):
        token = m.group("n")
        try:
            count = float(token) if "." in token else parse_int(token)
        except ValueError:
            continue
        per_unit = 12 if m.group("unit").lower().startswith("y") else 1
        head = _LANDMARK_LIST_HEAD.search(sentence[max(0, m.start() - 20) : m.start()])
        if head:
            start = m.start() - (len(sentence[max(0, m.start() - 20) : m.start()]) - head.start())
            landmarks.append(Landmark(start, start + len(head.group("n")), parse_int(head.group("n")) * per_unit, group))
        landmarks.append(Landmark(m.start(), m.end(), count * per_unit, group))
    return landmarks


_ABBREVIATIONS = r"(?:Fig|Figs|No|Nos|vs|al|e\.g|i\.e|approx|Ref|Refs|Dr|Tab|Suppl|cf|ca|resp|St)"

def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; abbreviations such as "Fig." and "vs." do not end one.

    A sentence may open with a numeral ("... were infused. 12 patients reached CR."): papers
    write counts that way, so a full stop and a space before a digit end a sentence too.
    """
    bounds, start = [], 0
    # a citation mark after the full stop stays with its sentence ("... 64 days.^2 The next ...")
    for m in re.finditer(r"(?<=[.!?])(\^?\d{1,3}(?:[,–-]\d{1,3})*)?\s+(?=[A-Z0-9(\[\"“])", text):
        before = text[max(0, m.start() - 8) : m.start()]
        if re.search(rf"\b{_ABBREVIATIONS}\.$", before, re.I) or re.search(r"\b[A-Z]\.$", before):
            continue
        if m.group(1) and m.group(1)[0].isdigit() and re.search(r"\d\.$", before):
            continue  # "27.0 (range, 24-29)": the digits after the point are a decimal, not a citation mark
        bounds.append((start, m.end(1) if m.group(1) else m.start()))
        start = m.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return [(s, e) for s, e in bounds if text[s:e].strip()]
