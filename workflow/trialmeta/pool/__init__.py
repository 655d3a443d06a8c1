"""Stage 3, rule `pool`: `tables/endpoints.csv` -> `tables/pooled.csv` and `pooled/results.json`.

Follows metafor's flow: `effects` (escalc), `models` (rma, rma.glmm), `sensitivity`
(leave-one-out, cumulative, influence, Egger, trim-and-fill, meta-regression), `survival`
(landmark pools), `guyot` (patient data from digitised curves), `pooling` (the stage's driver);
tolerances in `control`. Imports `core`, `extract` and `harmonise`, never figures or report.
"""
