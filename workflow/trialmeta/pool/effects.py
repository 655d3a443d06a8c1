"""Effect sizes for single-arm proportions, as metafor's `escalc`.

A proportion from a small single-arm trial (response, relapse, toxicity) is
pooled on a scale where its sampling distribution is close to normal:

- ``PLO``: logit, log(p / (1 - p)), variance 1/x + 1/(n - x).
- ``PFT``: Freeman-Tukey double arcsine (Freeman & Tukey 1950,
  doi:10.1214/aoms/1177729756), 1/2 [asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1))],
  variance 1/(4n + 2).
- ``PAS``: arcsine square root, asin sqrt(p), variance 1/(4n).
- ``PR``: the raw proportion, variance p (1 - p) / n.

The logit and the raw proportion are undefined (or have variance 0) for a
study at 0% or 100%, so, as in metafor's escalc, 1/2 is added to the events
and non-events of such studies by default ("only0"); the arcsine scales need
no correction and get none by default. As in metafor (addyi = addvi = TRUE)
the corrected counts give both yi and vi.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

MEASURES = ("PLO", "PFT", "PAS", "PR")
CORRECTION_TARGETS = ("only0", "all", "if0all", "none")

# metafor's escalc adds 1/2 by default, but not for the arcsine measures,
# which are defined at 0 and n events.
_DEFAULT_ADD = {"PLO": 0.5, "PR": 0.5, "PFT": 0.0, "PAS": 0.0}


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Per-study effect sizes on the scale of `measure`.

    `events` and `total` are the observed counts (before any continuity
    correction); `corrected` marks the studies that received `add` events and
    `add` non-events. The arrays are read-only.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    events: np.ndarray
    total: np.ndarray
    corrected: np.ndarray
    add: float
    to: str

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "events", "total", "corrected"):
            getattr(self, name).setflags(write=False)

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.size)

    def subset(self, index: npt.ArrayLike) -> EffectSizes:
        """The studies selected by `index` (integer positions or a boolean mask), in that order."""
        index = np.asarray(index)
        return EffectSizes(
            measure=self.measure,
            yi=self.yi[index],
            vi=self.vi[index],
            events=self.events[index],
            total=self.total[index],
            corrected=self.corrected[index],
            add=self.add,
            to=self.to,
        )


def _as_counts(values: npt.ArrayLike, name: str) -> np.ndarray:
    counts = np.atleast_1d(np.asarray(values, dtype=float))
    if counts.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional sequence of counts")
    if not np.all(np.isfinite(counts)):
        raise ValueError(f"{name} must be finite numbers, got {counts.tolist()}")
    return counts


def validate_counts(events: npt.ArrayLike, total: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Events and totals as float arrays, or ValueError saying what is wrong."""
    events = _as_counts(events, "events")
    total = _as_counts(total, "total")
    if events.size != total.size:
        raise ValueError(f"events ({events.size} studies) and total ({total.size}) differ in length")
    if events.size == 0:
        raise ValueError("no studies: events and total are empty")
    if np.any(events < 0) or np.any(total < 0):
        raise ValueError(
            f"counts must not be negative: studies {np.flatnonzero((events < 0) | (total < 0)).tolist()}"
        )
    if np.any(total == 0):
        raise ValueError(f"total must be > 0: studies {np.flatnonzero(total == 0).tolist()} have total 0")
    if np.any(events > total):
        bad = np.flatnonzero(events > total)
        raise ValueError(
            "events > total in studies "
            + ", ".join(f"{i} ({events[i]:g} > {total[i]:g})" for i in bad)
        )
    return events, total


def freeman_tukey(events: npt.ArrayLike, total: npt.ArrayLike) -> np.ndarray:
    """Freeman-Tukey double arcsine of `events` out of `total` (metafor's transf.pft with xi = p n)."""
    events = np.asarray(events, dtype=float)
    total = np.asarray(total, dtype=float)
    return 0.5 * (np.arcsin(np.sqrt(events / (total + 1))) + np.arcsin(np.sqrt((events + 1) / (total + 1))))


def proportion_effects(
    events: npt.ArrayLike,
    total: npt.ArrayLike,
    measure: str,
    add: float | None = None,
    to: str = "only0",
) -> EffectSizes:
    """Effect sizes yi and sampling variances vi of proportions events/total.

    Equivalent to metafor ``escalc(measure, xi=events, ni=total, add=add, to=to)``.

    `add` is the continuity correction added to the events and the non-events
    of the studies chosen by `to`: "only0" those with 0 or all events, "all"
    every study, "if0all" every study if any has 0 or all events, "none" no
    study. ``add=None`` is metafor's default: 1/2 for PLO and PR, 0 for PFT and
    PAS (which are finite at 0% and 100%). With ``to="none"`` a study at 0% or
    100% has yi = vi = nan under PLO (escalc recodes the infinite logit to NA)
    and vi = 0 under PR; `trialmeta.pool.models.fit_meta` refuses both.

    Raises ValueError for events > total, negative counts, total 0, or an
    unknown measure or correction target.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; expected one of {MEASURES}")
    if to not in CORRECTION_TARGETS:
        raise ValueError(f"unknown continuity correction target {to!r}; expected one of {CORRECTION_TARGETS}")
    add = _DEFAULT_ADD[measure] if add is None else float(add)
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"continuity correction add must be a finite number >= 0, got {add}")
    events, total = validate_counts(events, total)

    at_bound = (events == 0) | (events == total)
    corrected = {
        "all": np.ones_like(at_bound),
        "only0": at_bound,
        "if0all": np.full_like(at_bound, at_bound.any()),
        "none": np.zeros_like(at_bound),
    }[to] & (add > 0)
    x = events + add * corrected
    n = total + 2 * add * corrected
    p = x / n

    with np.errstate(divide="ignore"):
        if measure == "PLO":
            yi = np.log(p / (1 - p))
            vi = 1 / x + 1 / (n - x)
        elif measure == "PR":
            yi = p
            vi = p * (1 - p) / n
        elif measure == "PAS":
            yi = np.arcsin(np.sqrt(p))
            vi = 1 / (4 * n)
        else:
            yi = freeman_tukey(x, n)
            vi = 1 / (4 * n + 2)
    # escalc recodes the infinite logits of uncorrected 0% / 100% studies to NA
    not_estimable = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi[not_estimable] = np.nan
    vi[not_estimable] = np.nan
    return EffectSizes(
        measure=measure, yi=yi, vi=vi, events=events, total=total, corrected=corrected, add=add, to=to
    )


def back_transform(
    values: npt.ArrayLike, measure: str, total: npt.ArrayLike | None = None
) -> np.ndarray | float:
    """Values on the scale of `measure` mapped back to proportions.

    - PLO: inverse logit (metafor transf.ilogit).
    - PAS: sin(x)^2, 0 below x = 0 and 1 above x = pi/2 (metafor transf.iarcsin).
    - PR: unchanged; like metafor, a pooled raw proportion or its interval can
      fall outside [0, 1] and is not clipped.
    - PFT: the inverse of Miller (1978, doi:10.1080/00031305.1978.10479283),
      p = 1/2 [1 - sgn(cos 2x) sqrt(1 - (sin 2x + (sin 2x - 1/sin 2x)/n)^2)],
      with n the harmonic mean of the study sizes `total` (required), and
      values beyond the transforms of 0 and 1 events-per-n set to 0 and 1
      (metafor transf.ipft.hm).

    Returns a float for a scalar input, an array otherwise.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; expected one of {MEASURES}")
    x = np.asarray(values, dtype=float)
    if measure == "PLO":
        p = expit(x)
    elif measure == "PR":
        p = x.copy()
    elif measure == "PAS":
        p = np.where(x < 0, 0.0, np.where(x > np.pi / 2, 1.0, np.sin(x) ** 2))
    else:
        if total is None:
            raise ValueError("the PFT back-transformation needs the study sizes (total)")
        total = _as_counts(total, "total")
        if np.any(total <= 0):
            raise ValueError("the study sizes (total) must be > 0")
        n = 1 / np.mean(1 / total)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.sin(2 * x)
            p = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(1 - (s + (s - 1 / s) / n) ** 2))
        p = np.where(x > freeman_tukey(n, n), 1.0, np.where(x < freeman_tukey(0.0, n), 0.0, p))
    return float(p) if p.ndim == 0 else p
