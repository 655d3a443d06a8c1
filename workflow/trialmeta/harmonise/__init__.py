"""Stage 2, rule `harmonise`: every extraction record (or the user's `endpoints_table`) ->
`tables/endpoints.csv`, `studies.csv`, `checks.csv`, `audit.csv`, `patients.csv`.

`curation` reads the user's curation files, `decisions` applies their decisions to a paper's rows,
`rows` holds the tables' columns and the `Row` being built, `checks` derives values and checks
them, `duplicates` finds one trial reported twice, `table` builds the tables paper by paper,
`patients` and `patient_level` turn per-patient tables into patient-level data. Imports `core` and `extract`, never a later stage.
"""
