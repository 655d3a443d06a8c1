"""Stage 4, rule `figures`: `pooled/results.json` -> `figures/*.png|svg`. Plots take frozen
results and an axis and never refit; imports `core` only (and nothing of `pool`'s fitting)."""
