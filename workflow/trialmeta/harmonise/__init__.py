"""Stage 2, rule `harmonise`: every extraction record (or the user's `endpoints_table`) ->
`tables/endpoints.csv`, `studies.csv`, `checks.csv`, `audit.csv`, `patients.csv`.

`curation` applies the user's decisions, `duplicates` finds one trial reported twice, `table`
builds the harmonised rows and their checks, `patients` and `patient_level` turn per-patient
tables into patient-level data. Imports `core` and `extract`, never a later stage.
"""
